package bolt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// migrateChunk is how many messages one transaction of the search
// migration indexes (a variable for the tests).
var migrateChunk = 50_000

// migrateSearchIndex drops what a merge cut short left, and indexes a
// store written before the search index, once: customers and cases in one transaction, then the messages in
// transactions of migrateChunk, so a large store needs no more memory
// than a chunk. The last one sets the meta flag; a run cut short starts
// again, and indexing twice changes nothing.
func (s *Store) migrateSearchIndex() error {
	if err := s.indexUpdate(&s.merges.longestMerge, dropUnpublishedSegments); err != nil {
		return err
	}
	if s.noSearchIndex {
		return nil
	}
	done := false
	deleted := map[int64]bool{}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if done = tx.Bucket(bucketMeta).Get(metaSearchIndex) != nil; done {
			return nil
		}
		// Start from nothing: an index of an earlier layout goes.
		for _, name := range formerSearchBuckets {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bberrors.ErrBucketNotFound) {
				return err
			}
		}
		for _, name := range searchBuckets {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		err := tx.Bucket(bucketCustomers).ForEach(func(k, v []byte) error {
			var c care.Customer
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("customer %x: %w", k, err)
			}
			return reindexCustomerWords(tx, c.ID, nil, customerWords(&c))
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			var c care.Case
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("case %x: %w", k, err)
			}
			if c.Status == care.StatusDeleted {
				deleted[c.ID] = true
				return tx.Bucket(bucketSearchDeleted).Put(i64(c.ID), nil)
			}
			return s.indexNewCase(tx, &c)
		})
	})
	if err != nil || done {
		return err
	}
	var after []byte
	for {
		var last []byte
		err := s.db.Update(func(tx *bbolt.Tx) error {
			cur := tx.Bucket(bucketMessages).Cursor()
			k, v := cur.First()
			if after != nil {
				if k, v = cur.Seek(after); bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			g := segmentWords{}
			n := 0
			for ; k != nil && n < migrateChunk; k, v = cur.Next() {
				n++
				last = bytes.Clone(k)
				var m care.Message
				if err := json.Unmarshal(v, &m); err != nil {
					return fmt.Errorf("message %x: %w", k, err)
				}
				if m.CaseID == 0 || deleted[m.CaseID] {
					continue
				}
				var words [][]byte
				for _, w := range Words(m.Text, maxMessageWords) {
					words = append(words, []byte(w))
				}
				g.add(m.CaseID, words)
			}
			return g.write(tx, segmentLevel(n))
		})
		if err != nil {
			return err
		}
		if last == nil {
			break
		}
		after = last
	}
	if err := s.mergeSearchSegments(nil); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaSearchIndex, []byte{1}) })
}

// segmentLevel is the level of a segment of n messages: that of the
// segments with as many, made by folds and merges.
func segmentLevel(n int) byte {
	var level byte
	for size := compactAt; size < n; size *= mergeFanout {
		level++
	}
	return level
}
