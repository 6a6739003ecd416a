package bolt

// The words of new messages first go to an append-only log in the
// message's own transaction, one key per message at the end of the bucket,
// so ingest pays no scattered writes into the word index; searches read
// the log beside the index, so nothing lags. Once the log holds
// compactAt messages the committer folds it into the index in one
// transaction of sorted writes.
//
//	search_log          seq → case id, words joined by 0x00
//	search_word_counts  word → postings it has had in search_words

import (
	"bytes"
	"maps"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

var (
	bucketSearchLog        = []byte("search_log")
	bucketSearchWordCounts = []byte("search_word_counts")
)

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

// fold adds words to cases in the index: each case's word list (one
// value a case) takes the words it lacks, and a word new to a case gets a
// posting (word, case) while the word is rare, counted in
// search_word_counts; a word with more than setCap postings is common and
// gets no more (a search checks it case by case, in the word lists). The
// keys are written in order, so each page of the index is written once
// however many keys land on it.
type fold map[int64][][]byte

func (f fold) add(caseID int64, words [][]byte) { f[caseID] = append(f[caseID], words...) }

func (f fold) write(tx *bbolt.Tx) error {
	lists, counts := tx.Bucket(bucketSearchCaseWords), tx.Bucket(bucketSearchWordCounts)
	ids := slices.Sorted(maps.Keys(f))
	count := map[string]uint64{}
	var posts [][]byte
	for _, id := range ids {
		have := caseWordList(lists.Get(i64(id)))
		var added [][]byte
		for _, w := range f[id] {
			if i, found := slices.BinarySearchFunc(have, w, bytes.Compare); !found {
				have = slices.Insert(have, i, w)
				added = append(added, w)
			}
		}
		if len(added) == 0 {
			continue
		}
		if err := lists.Put(i64(id), bytes.Join(have, sep)); err != nil {
			return err
		}
		for _, w := range added {
			n, ok := count[string(w)]
			if !ok {
				if v := counts.Get(w); v != nil {
					n = getU64(v)
				}
			}
			if n > uint64(setCap) {
				continue // common: no more postings
			}
			count[string(w)] = n + 1
			posts = append(posts, join(w, sep, i64(id)))
		}
	}
	slices.SortFunc(posts, bytes.Compare)
	idx := tx.Bucket(bucketSearchWords)
	for _, k := range posts {
		if err := idx.Put(k, nil); err != nil {
			return err
		}
	}
	for _, w := range slices.Sorted(maps.Keys(count)) {
		if err := counts.Put([]byte(w), u64(count[w])); err != nil {
			return err
		}
	}
	return nil
}

// caseWordList splits a case's word list (sorted, joined by 0x00).
func caseWordList(v []byte) [][]byte {
	if len(v) == 0 {
		return nil
	}
	return bytes.Split(bytes.Clone(v), sep)
}

// wordCount is how many postings word w has had (common past setCap).
func wordCount(tx *bbolt.Tx, w []byte) uint64 {
	if v := tx.Bucket(bucketSearchWordCounts).Get(w); v != nil {
		return getU64(v)
	}
	return 0
}

// compactSearchLog folds the whole log into the index.
func (s *Store) compactSearchLog() error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		f := fold{}
		err := tx.Bucket(bucketSearchLog).ForEach(func(_, v []byte) error {
			if e, ok := readLogEntry(v); ok {
				f.add(e.caseID, e.words)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := f.write(tx); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketSearchLog); err != nil {
			return err
		}
		_, err = tx.CreateBucket(bucketSearchLog)
		s.logged.Store(0)
		return err
	})
}

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
	// the next group tries again.
	_ = s.compactSearchLog()
}

// logMatches finds, for each word of q, the cases whose logged messages
// have it (the last word as a prefix).
func logMatches(tx *bbolt.Tx, words []string) []idSet {
	out := make([]idSet, len(words))
	for i := range out {
		out[i] = idSet{}
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
					out[i][e.caseID] = struct{}{}
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
