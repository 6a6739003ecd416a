package bolt

// The words of new messages first go to an append-only log in the
// message's own transaction, one key per message at the end of the bucket,
// so ingest pays no scattered writes into the word index; searches read
// the log beside the index, so nothing lags. Once the log holds
// compactAt messages the committer folds it into a new segment of the
// index (searchsegments.go), in one transaction of sorted writes.
//
//	search_log  seq → case id, words joined by 0x00

import (
	"bytes"
	"strings"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

var bucketSearchLog = []byte("search_log")

// compactAt is the number of logged messages that makes the committer
// fold the log into the index (Store.compactAt overrides it in tests).
const compactAt = 4096

// indexMessage logs the words of m's text for its case.
func (s *Store) indexMessage(tx *bbolt.Tx, m *care.Message) error {
	if s.noSearchIndex || m.CaseID == 0 {
		return nil
	}
	words := Words(m.Text, maxMessageWords)
	if len(words) == 0 {
		return nil
	}
	b := tx.Bucket(bucketSearchLog)
	b.FillPercent = appendFill
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	s.logged.Add(1)
	return b.Put(u64(seq), join(i64(m.CaseID), []byte(strings.Join(words, "\x00"))))
}

// logEntry is one logged message's words.
type logEntry struct {
	caseID int64
	words  [][]byte // within the transaction's memory
}

func readLogEntry(v []byte) (logEntry, bool) {
	if len(v) < 8 {
		return logEntry{}, false
	}
	return logEntry{caseID: int64(getU64(v[:8])), words: bytes.Split(v[8:], sep)}, true
}

// compactSearchLog folds the whole log into a new segment of the index,
// then merges the segments that are due, before it returns.
func (s *Store) compactSearchLog() error {
	if err := s.foldSearchLog(); err != nil {
		return err
	}
	return s.mergeSearchSegments(nil)
}

// foldSearchLog folds the whole log into a new segment of the index, in
// one transaction.
func (s *Store) foldSearchLog() error {
	err := s.indexUpdate(&s.merges.longestFold, func(tx *bbolt.Tx) error {
		g, n := segmentWords{}, 0
		err := tx.Bucket(bucketSearchLog).ForEach(func(_, v []byte) error {
			if e, ok := readLogEntry(v); ok {
				g.add(e.caseID, e.words)
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := g.write(tx, segmentLevel(n)); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketSearchLog); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketSearchLog); err != nil {
			return err
		}
		return searchFault("fold")
	})
	if err != nil {
		return err
	}
	s.logged.Store(0)
	return nil
}

// searchFault, when set (tests), fails a transaction of a fold ("fold")
// or a merge (each chunk: "merge chunk", its publication: "merge") at its
// end, as a crash before its commit would.
var searchFault = func(string) error { return nil }

// compactIfDue folds the log when it has grown to compactAt; the
// committer calls it between groups.
func (s *Store) compactIfDue() {
	limit := int64(compactAt)
	if n := s.compactAt.Load(); n > 0 {
		limit = n
	}
	if s.logged.Load() < limit {
		return
	}
	// A failed fold leaves the log as it was: searches still read it, and
	// the next group tries again. The merges it makes due run beside the
	// committer (searchmerge.go).
	if s.foldSearchLog() == nil {
		s.startMerge()
	}
}

// logMatches finds, for each word of q, the cases whose logged messages
// have it (the last word as a prefix), as bitmaps of size ids.
func logMatches(tx *bbolt.Tx, words []string, size uint64) []caseBits {
	out := make([]caseBits, len(words))
	for i := range out {
		out[i] = newCaseBits(size)
	}
	_ = tx.Bucket(bucketSearchLog).ForEach(func(_, v []byte) error {
		e, ok := readLogEntry(v)
		if !ok {
			return nil
		}
		for i, q := range words {
			last := i == len(words)-1
			for _, w := range e.words {
				if string(w) == q || (last && bytes.HasPrefix(w, []byte(q))) {
					out[i].set(e.caseID)
					break
				}
			}
		}
		return nil
	})
	return out
}

// unlogCase takes a case's messages out of the log.
func unlogCase(tx *bbolt.Tx, caseID int64) error {
	log := tx.Bucket(bucketSearchLog)
	var keys [][]byte
	err := log.ForEach(func(k, v []byte) error {
		if e, ok := readLogEntry(v); ok && e.caseID == caseID {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := log.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
