package bolt

// The search index: words of message text and of customer names and
// usernames, kept in the transaction of every write that changes them, so
// a search never lags or disagrees with the store.
//
//	search_words      segments of message words (see searchsegments.go)
//	search_log        words of messages not yet in a segment (see searchlog.go)
//	search_deleted    deleted cases (see searchsegments.go)
//	search_merging    the segment a merge is writing (see searchmerge.go)
//	search_names      word 0x00 case id → ∅ (words of the case's customer)
//	search_case_names case id, word → ∅ (the same, by case)
//	search_customers  word 0x00 customer id → ∅ (words of the customer)

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

var (
	bucketSearchWords     = []byte("search_words")
	bucketSearchNames     = []byte("search_names")
	bucketSearchCaseNames = []byte("search_case_names")
	bucketSearchCustomers = []byte("search_customers")

	searchBuckets = [][]byte{bucketSearchWords, bucketSearchNames, bucketSearchCaseNames, bucketSearchCustomers,
		bucketSearchLog, bucketSearchDeleted, bucketSearchMerging}
	// formerSearchBuckets are those of earlier layouts, dropped by the
	// migration.
	formerSearchBuckets = [][]byte{[]byte("search_case_words"), []byte("search_word_counts")}

	// metaSearchIndex marks a database whose search index is complete.
	metaSearchIndex = []byte("search_indexed_v4")
)

// Tokenizing bounds.
const (
	maxWordBytes    = 64   // longer words are not indexed (nor searched)
	maxMessageWords = 2000 // distinct words indexed per message
)

// Words splits text into its distinct words, in order of appearance: runs
// of letters and digits, lowercased (Unicode-aware), at most max of them
// (0: no bound), none longer than 64 bytes. It runs on the committer's
// path for every message: an ASCII text is lowercased once and its words
// are slices of it, and the words seen are checked by a scan while few.
func Words(text string, max int) []string {
	out := make([]string, 0, 16)
	var seen map[string]bool
	lowered := false // text is ASCII and was lowercased as a whole
	if isASCII(text) {
		text, lowered = strings.ToLower(text), true
	}
	start, ascii, upper := -1, true, false
	for i := 0; i <= len(text); {
		r, size := utf8.RuneError, 1
		if i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				r = rune(c)
			} else {
				r, size = utf8.DecodeRuneInString(text[i:])
			}
		}
		inWord := i < len(text) && (r < utf8.RuneSelf && isASCIIWordByte(byte(r)) ||
			r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)))
		switch {
		case inWord && start < 0:
			start, ascii, upper = i, true, false
			fallthrough
		case inWord:
			ascii = ascii && r < utf8.RuneSelf
			upper = upper || 'A' <= r && r <= 'Z'
		case start >= 0:
			w := text[start:i]
			start = -1
			if !lowered && (!ascii || upper) {
				w = strings.ToLower(w)
			}
			if len(w) > maxWordBytes {
				break
			}
			if seen == nil && len(out) == 32 {
				seen = make(map[string]bool, 64)
				for _, o := range out {
					seen[o] = true
				}
			}
			if seen != nil && seen[w] || seen == nil && slices.Contains(out, w) {
				break
			}
			if seen != nil {
				seen[w] = true
			}
			if out = append(out, w); max > 0 && len(out) == max {
				return out
			}
		}
		i += size
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIIWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func customerWords(c *care.Customer) []string {
	return Words(c.FirstName+" "+c.LastName+" "+c.Username, 0)
}

func wordKey(w string, id int64) []byte { return join([]byte(w), sep, i64(id)) }

// putAbsent puts an empty value under k unless k is there: a put of a key
// already present would still rewrite its page.
func putAbsent(b *bbolt.Bucket, k []byte) error {
	if b.Get(k) != nil {
		return nil
	}
	return b.Put(k, nil)
}

// indexCaseNames gives case c the words of its customer (old ones, when
// the customer changed, are taken away).
func (s *Store) indexCaseNames(tx *bbolt.Tx, caseID int64, old, words []string) error {
	if s.noSearchIndex {
		return nil
	}
	names, byCase := tx.Bucket(bucketSearchNames), tx.Bucket(bucketSearchCaseNames)
	for _, w := range old {
		if !slices.Contains(words, w) {
			if err := names.Delete(wordKey(w, caseID)); err != nil {
				return err
			}
			if err := byCase.Delete(join(i64(caseID), []byte(w))); err != nil {
				return err
			}
		}
	}
	for _, w := range words {
		if err := putAbsent(names, wordKey(w, caseID)); err != nil {
			return err
		}
		if err := putAbsent(byCase, join(i64(caseID), []byte(w))); err != nil {
			return err
		}
	}
	return nil
}

// indexNewCase indexes a new case under its customer's words.
func (s *Store) indexNewCase(tx *bbolt.Tx, c *care.Case) error {
	if s.noSearchIndex {
		return nil
	}
	words, err := caseCustomerWords(tx, c)
	if err != nil {
		return err
	}
	return s.indexCaseNames(tx, c.ID, nil, words)
}

// caseCustomerWords are the words of c's customer (none when it is gone).
func caseCustomerWords(tx *bbolt.Tx, c *care.Case) ([]string, error) {
	cust, err := findCustomer(tx, c.CustomerID)
	if err != nil || cust == nil {
		return nil, err
	}
	return customerWords(cust), nil
}

// unindexCase takes a deleted case out of the search index: out of the
// log and the names, and into search_deleted, which every search and
// merge leaves out.
func (s *Store) unindexCase(tx *bbolt.Tx, c *care.Case) error {
	if err := unlogCase(tx, c.ID); err != nil {
		return err
	}
	if err := tx.Bucket(bucketSearchDeleted).Put(i64(c.ID), nil); err != nil {
		return err
	}
	names, err := caseCustomerWords(tx, c)
	if err != nil {
		return err
	}
	return s.indexCaseNames(tx, c.ID, names, nil)
}

// reindexCustomer moves a customer's words, in the customer index and on
// each of its cases not deleted, from old's to c's.
func (s *Store) reindexCustomer(tx *bbolt.Tx, old, c *care.Customer) error {
	if s.noSearchIndex {
		return nil
	}
	var was []string
	if old != nil {
		was = customerWords(old)
	}
	now := customerWords(c)
	if slices.Equal(was, now) {
		return nil
	}
	if err := reindexCustomerWords(tx, c.ID, was, now); err != nil {
		return err
	}
	prefix := i64(c.ID)
	cur := tx.Bucket(bucketCustomerCases).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		cs, err := getCase(tx, int64(getU64(k[8:])))
		if err != nil {
			return err
		}
		if cs.Status == care.StatusDeleted {
			continue
		}
		if err := s.indexCaseNames(tx, cs.ID, was, now); err != nil {
			return err
		}
	}
	return nil
}

// reindexCustomerWords moves customer id in the customer index from the
// words was to now.
func reindexCustomerWords(tx *bbolt.Tx, id int64, was, now []string) error {
	b := tx.Bucket(bucketSearchCustomers)
	for _, w := range was {
		if err := b.Delete(wordKey(w, id)); err != nil {
			return err
		}
	}
	for _, w := range now {
		if err := b.Put(wordKey(w, id), nil); err != nil {
			return err
		}
	}
	return nil
}

// idSet is a set of case or customer ids.
type idSet map[int64]struct{}

// matchCustomers finds the customers with every word of q (the last one
// as a prefix). A q without words matches nothing.
func matchCustomers(tx *bbolt.Tx, q string) idSet {
	words := Words(q, 0)
	var set idSet
	for i, w := range words {
		prefix := []byte(w)
		if i < len(words)-1 {
			prefix = join(prefix, sep)
		}
		next := idSet{}
		cur := tx.Bucket(bucketSearchCustomers).Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if id := int64(getU64(k[len(k)-8:])); set == nil || has(set, id) {
				next[id] = struct{}{}
			}
		}
		if set = next; len(set) == 0 {
			break
		}
	}
	return set
}

func has(set idSet, id int64) bool {
	_, ok := set[id]
	return ok
}

// Customers lists up to limit customers (default 50) whose names or
// usernames match q, by id; an empty q lists the latest customers.
func (s *Store) Customers(ctx context.Context, actor care.User, q string, limit int) ([]care.Customer, error) {
	if err := care.CheckReadsCustomers(actor); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = care.DefaultPageLimit
	}
	out := []care.Customer{}
	err := s.view(func(tx *bbolt.Tx) error {
		var ids []int64
		if strings.TrimSpace(q) == "" {
			cur := tx.Bucket(bucketCustomers).Cursor()
			for k, _ := cur.Last(); k != nil && len(ids) < limit; k, _ = cur.Prev() {
				ids = append(ids, int64(getU64(k)))
			}
		} else {
			for id := range matchCustomers(tx, q) {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			ids = ids[:min(len(ids), limit)]
		}
		for _, id := range ids {
			c, err := getCustomer(tx, id)
			if err != nil {
				return err
			}
			out = append(out, *c)
		}
		return nil
	})
	return out, err
}
