package bolt

// The words of messages live in segments, as in a log-structured merge
// tree: each fold of the search log (searchlog.go) writes one new segment
// of its words, every key of it in order into a bucket of its own, so a
// fold costs what it writes however large the index has grown; once
// mergeFanout segments of one level are there, they are merged into one of
// the next level (a few times in the life of a posting), so a search reads
// a few dozen segments at most. A fold and a merge are each one
// transaction: a crash leaves the segments before or after it, never half.
//
//	search_words    one nested bucket a segment, named level, seq:
//	                word → the cases whose messages have it (ascending, delta varints)
//	search_deleted  case id → ∅ (deleted cases: no search finds them, merges drop them)

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"

	bbolt "go.etcd.io/bbolt"
)

var bucketSearchDeleted = []byte("search_deleted")

// mergeFanout is the number of segments of one level merged into one of
// the next (a variable for the tests).
var mergeFanout = 8

// segmentWords gathers the postings of a new segment: word → cases.
type segmentWords map[string][]int64

func (g segmentWords) add(caseID int64, words [][]byte) {
	for _, w := range words {
		g[string(w)] = append(g[string(w)], caseID)
	}
}

// write stores g as a new segment of level, leaving out deleted cases.
func (g segmentWords) write(tx *bbolt.Tx, level byte) error {
	if len(g) == 0 {
		return nil
	}
	deleted := deletedCases(tx)
	seg, err := newSegment(tx, level)
	if err != nil {
		return err
	}
	for _, w := range slices.Sorted(maps.Keys(g)) {
		ids := liveCases(g[w], deleted)
		if len(ids) == 0 {
			continue
		}
		if err := seg.Put([]byte(w), appendPostings(nil, ids)); err != nil {
			return err
		}
	}
	return nil
}

// newSegment creates an empty segment of level, after every other.
func newSegment(tx *bbolt.Tx, level byte) (*bbolt.Bucket, error) {
	parent := tx.Bucket(bucketSearchWords)
	seq, err := parent.NextSequence()
	if err != nil {
		return nil, err
	}
	seg, err := parent.CreateBucket(append([]byte{level}, u64(seq)...))
	if err != nil {
		return nil, err
	}
	seg.FillPercent = 1 // written in key order, never again
	return seg, nil
}

// liveCases sorts ids and drops repeats and deleted cases.
func liveCases(ids []int64, deleted idSet) []int64 {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(deleted) == 0 {
		return ids
	}
	return slices.DeleteFunc(ids, func(id int64) bool { return has(deleted, id) })
}

// appendPostings appends ascending case ids as varint deltas.
func appendPostings(dst []byte, ids []int64) []byte {
	var prev int64
	for _, id := range ids {
		dst = binary.AppendUvarint(dst, uint64(id-prev))
		prev = id
	}
	return dst
}

// readPostings calls fn with each case id of a posting list, ascending.
func readPostings(v []byte, fn func(id int64)) {
	var id int64
	for len(v) > 0 {
		d, n := binary.Uvarint(v)
		if n <= 0 {
			return
		}
		v = v[n:]
		id += int64(d)
		fn(id)
	}
}

// deletedCases is the set of deleted cases.
func deletedCases(tx *bbolt.Tx) idSet {
	out := idSet{}
	_ = tx.Bucket(bucketSearchDeleted).ForEach(func(k, _ []byte) error {
		out[int64(getU64(k))] = struct{}{}
		return nil
	})
	return out
}

// segments are the names of the segments, by level then age.
func segments(tx *bbolt.Tx) [][]byte {
	var out [][]byte
	_ = tx.Bucket(bucketSearchWords).ForEachBucket(func(k []byte) error {
		out = append(out, bytes.Clone(k))
		return nil
	})
	return out
}

// mergeDue returns the oldest mergeFanout segments of the lowest level
// that has as many, or nil.
func mergeDue(tx *bbolt.Tx) [][]byte {
	var run [][]byte
	for _, name := range segments(tx) {
		if len(run) > 0 && run[0][0] != name[0] {
			run = run[:0]
		}
		if run = append(run, name); len(run) == mergeFanout {
			return run
		}
	}
	return nil
}

// mergeSegments merges the segments names into one of the next level:
// each word's cases once, without the deleted ones, then drops them.
func mergeSegments(tx *bbolt.Tx, names [][]byte) error {
	parent := tx.Bucket(bucketSearchWords)
	deleted := deletedCases(tx)
	out, err := newSegment(tx, names[0][0]+1)
	if err != nil {
		return err
	}
	curs := make([]*bbolt.Cursor, len(names))
	keys, vals := make([][]byte, len(names)), make([][]byte, len(names))
	for i, name := range names {
		curs[i] = parent.Bucket(name).Cursor()
		keys[i], vals[i] = curs[i].First()
	}
	var ids []int64
	var buf []byte
	for {
		var word []byte
		for _, k := range keys {
			if k != nil && (word == nil || bytes.Compare(k, word) < 0) {
				word = k
			}
		}
		if word == nil {
			break
		}
		word = bytes.Clone(word)
		ids = ids[:0]
		for i, k := range keys {
			if bytes.Equal(k, word) {
				readPostings(vals[i], func(id int64) { ids = append(ids, id) })
				keys[i], vals[i] = curs[i].Next()
			}
		}
		if ids = liveCases(ids, deleted); len(ids) == 0 {
			continue
		}
		buf = appendPostings(buf[:0], ids)
		if err := out.Put(word, bytes.Clone(buf)); err != nil {
			return err
		}
	}
	for _, name := range names {
		if err := parent.DeleteBucket(name); err != nil {
			return err
		}
	}
	return searchFault("merge")
}

// mergeSearchSegments merges segments while a level has mergeFanout of
// them, one transaction a merge.
func (s *Store) mergeSearchSegments() error {
	for {
		merged := false
		err := s.db.Update(func(tx *bbolt.Tx) error {
			names := mergeDue(tx)
			if merged = names != nil; !merged {
				return nil
			}
			return mergeSegments(tx, names)
		})
		if err != nil || !merged {
			return err
		}
	}
}

// segmentCases adds to bits the cases whose messages, in any segment,
// have word w (with prefix: a word that starts with w).
func segmentCases(tx *bbolt.Tx, w []byte, prefix bool, bits caseBits) {
	parent := tx.Bucket(bucketSearchWords)
	for _, name := range segments(tx) {
		cur := parent.Bucket(name).Cursor()
		for k, v := cur.Seek(w); k != nil && bytes.HasPrefix(k, w); k, v = cur.Next() {
			if !prefix && len(k) != len(w) {
				break
			}
			readPostings(v, bits.set)
		}
	}
}
