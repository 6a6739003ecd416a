package bolt

// The words of messages live in segments, as in a log-structured merge
// tree: each fold of the search log (searchlog.go) writes one new segment
// of its words, every key of it in order into a bucket of its own, so a
// fold costs what it writes however large the index has grown; once
// mergeFanout segments of one level are there, they are merged into one of
// the next level (a few times in the life of a posting), so a search reads
// a few dozen segments at most. A fold is one transaction, a crash leaves
// the segments before or after it, never half; a merge is prepared outside
// the writers' way and published in one (searchmerge.go).
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
	seg, _, err := newSegment(tx, tx.Bucket(bucketSearchWords), level)
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

// newSegment creates an empty segment of level, after every other, in
// search_words or (a merge's, until it is published) in the bucket in.
func newSegment(tx *bbolt.Tx, in *bbolt.Bucket, level byte) (*bbolt.Bucket, []byte, error) {
	seq, err := tx.Bucket(bucketSearchWords).NextSequence()
	if err != nil {
		return nil, nil, err
	}
	name := append([]byte{level}, u64(seq)...)
	seg, err := in.CreateBucket(name)
	if err != nil {
		return nil, nil, err
	}
	seg.FillPercent = 1 // written in key order, never again
	return seg, name, nil
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
