package bolt

// A merge of segments (searchsegments.go) never holds the store's writers
// long: the segments it merges are immutable, so it reads them and builds
// the merged postings in a read transaction, writes the merged segment a
// chunk of keys a transaction into search_merging, where no search looks,
// and publishes it in one short transaction that moves it into
// search_words and deletes the segments it merged. The committer's folds
// go on meanwhile: a fold adds a segment, a merge only ever deletes those
// it read. One merge runs at a time. A merged segment left half written
// (a crash, a failed transaction, a Close) is never read and is dropped at
// the next open or merge.
//
//	search_merging  the segment a merge is writing, named as it will be

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
)

var bucketSearchMerging = []byte("search_merging")

// Bounds of one write transaction of a merge (variables for the tests).
var (
	mergeChunkKeys  = 2048
	mergeChunkBytes = 1 << 20
)

// errMergeStopped ends a merge the store's Close interrupted.
var errMergeStopped = errors.New("search merge stopped: the store is closing")

// searchMerges is the state of the store's merges.
type searchMerges struct {
	mu      sync.Mutex     // held by the one merge running
	running atomic.Bool    // a background merge was started and is not done
	wg      sync.WaitGroup // the background merge, for Close
	// The longest a write transaction of a fold, and of a merge (a chunk
	// or the publication), held the writers, in nanoseconds.
	longestFold, longestMerge atomic.Int64
}

// LongestIndexWriteHold is the longest any write transaction of search
// index work held the store's writers since it opened: of a fold of the
// log, and of a merge (a chunk of its keys or its publication).
func (s *Store) LongestIndexWriteHold() (fold, merge time.Duration) {
	return time.Duration(s.merges.longestFold.Load()), time.Duration(s.merges.longestMerge.Load())
}

// indexUpdate runs fn in a write transaction of index work and notes in
// longest how long it held the writers (from the lock to the end of the
// commit), if longer.
func (s *Store) indexUpdate(longest *atomic.Int64, fn func(tx *bbolt.Tx) error) error {
	tx, err := s.db.Begin(true)
	if err != nil {
		return err
	}
	start := time.Now()
	defer func() {
		held := int64(time.Since(start))
		for cur := longest.Load(); held > cur && !longest.CompareAndSwap(cur, held); {
			cur = longest.Load()
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// startMerge merges the due segments in the background unless a merge is
// running already (the committer calls it after a fold; a failed merge is
// tried again after the next one).
func (s *Store) startMerge() {
	if !s.merges.running.CompareAndSwap(false, true) {
		return
	}
	s.merges.wg.Add(1)
	go func() {
		defer s.merges.wg.Done()
		defer s.merges.running.Store(false)
		_ = s.mergeSearchSegments(s.closing)
	}()
}

// waitMerges waits for the background merge (Close, after the committer).
func (s *Store) waitMerges() { s.merges.wg.Wait() }

// mergeSearchSegments merges segments while a level has mergeFanout of
// them; a closed stop ends it between two transactions.
func (s *Store) mergeSearchSegments(stop <-chan struct{}) error {
	s.merges.mu.Lock()
	defer s.merges.mu.Unlock()
	for {
		merged, err := s.mergeOnce(stop)
		if err != nil || !merged {
			return err
		}
	}
}

// dropUnpublishedSegments deletes what a merge cut short left written.
func dropUnpublishedSegments(tx *bbolt.Tx) error {
	merging := tx.Bucket(bucketSearchMerging)
	var names [][]byte
	_ = merging.ForEachBucket(func(k []byte) error {
		names = append(names, bytes.Clone(k))
		return nil
	})
	for _, name := range names {
		if err := merging.DeleteBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// mergedWord is one word of a merged segment and its postings.
type mergedWord struct{ word, postings []byte }

// mergeOnce merges the oldest due segments, if any: read and merged in a
// read transaction, written in chunks, then published.
func (s *Store) mergeOnce(stop <-chan struct{}) (bool, error) {
	var names [][]byte
	var words []mergedWord
	err := s.db.View(func(tx *bbolt.Tx) error {
		if names = mergeDue(tx); names != nil {
			words = mergedPostings(tx, names)
		}
		return nil
	})
	if err != nil || names == nil {
		return false, err
	}
	var name []byte // the merged segment's, once created
	for next := 0; name == nil || next < len(words); {
		select {
		case <-stop:
			return false, errMergeStopped
		default:
		}
		err := s.indexUpdate(&s.merges.longestMerge, func(tx *bbolt.Tx) error {
			seg, created, err := mergingSegment(tx, name, names[0][0]+1)
			if err != nil {
				return err
			}
			n, size := next, 0
			for ; n < len(words) && n-next < mergeChunkKeys && size < mergeChunkBytes; n++ {
				if err := seg.Put(words[n].word, words[n].postings); err != nil {
					return err
				}
				size += len(words[n].word) + len(words[n].postings)
			}
			if err := searchFault("merge chunk"); err != nil {
				return err
			}
			name, next = created, n
			return nil
		})
		if err != nil {
			return false, err
		}
	}
	return true, s.indexUpdate(&s.merges.longestMerge, func(tx *bbolt.Tx) error {
		parent := tx.Bucket(bucketSearchWords)
		for _, source := range names {
			if err := parent.DeleteBucket(source); err != nil {
				return err
			}
		}
		if err := tx.MoveBucket(name, tx.Bucket(bucketSearchMerging), parent); err != nil {
			return err
		}
		return searchFault("merge")
	})
}

// mergingSegment is the segment being merged into under search_merging:
// the one named name, or, at the first chunk, a new one of level (in place
// of any a merge cut short left).
func mergingSegment(tx *bbolt.Tx, name []byte, level byte) (*bbolt.Bucket, []byte, error) {
	merging := tx.Bucket(bucketSearchMerging)
	if name != nil {
		seg := merging.Bucket(name)
		seg.FillPercent = 1
		return seg, name, nil
	}
	if err := dropUnpublishedSegments(tx); err != nil { // of a merge cut short
		return nil, nil, err
	}
	return newSegment(tx, merging, level)
}

// mergedPostings merges the segments names: each word's cases once,
// without the deleted ones, in word order (outside tx's memory).
func mergedPostings(tx *bbolt.Tx, names [][]byte) []mergedWord {
	parent := tx.Bucket(bucketSearchWords)
	deleted := deletedCases(tx)
	curs := make([]*bbolt.Cursor, len(names))
	keys, vals := make([][]byte, len(names)), make([][]byte, len(names))
	for i, name := range names {
		curs[i] = parent.Bucket(name).Cursor()
		keys[i], vals[i] = curs[i].First()
	}
	var out []mergedWord
	var ids []int64
	for {
		var word []byte
		for _, k := range keys {
			if k != nil && (word == nil || bytes.Compare(k, word) < 0) {
				word = k
			}
		}
		if word == nil {
			return out
		}
		word = bytes.Clone(word)
		ids = ids[:0]
		for i, k := range keys {
			if bytes.Equal(k, word) {
				readPostings(vals[i], func(id int64) { ids = append(ids, id) })
				keys[i], vals[i] = curs[i].Next()
			}
		}
		if ids = liveCases(ids, deleted); len(ids) > 0 {
			out = append(out, mergedWord{word: word, postings: appendPostings(nil, ids)})
		}
	}
}
