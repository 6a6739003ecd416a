package bolt

import (
	"bytes"
	"slices"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// setCap is the number of postings up to which a search word's cases are
// gathered into a set; a word more common than that is checked case by
// case instead (two gets per case), as the view streams or on the few
// cases the rarer words left. A variable for the tests.
var setCap = 20_000

// matcher decides which cases a search matches: every word, the last one
// as a prefix, in the case's messages (the index and the log) or its
// customer's names.
type matcher struct {
	words   []string
	fromLog []idSet // per word, the cases whose logged messages have it
	// cands are the cases every rare word matched, ascending (nil: no
	// word was rare); the words in verify are checked case by case.
	cands  []int64
	verify []int
}

// newMatcher prepares the search q; nil when q is no search.
func newMatcher(tx *bbolt.Tx, q string) *matcher {
	if strings.TrimSpace(q) == "" {
		return nil
	}
	m := &matcher{words: Words(q, 0)}
	if len(m.words) == 0 {
		m.cands = []int64{} // a search without words matches nothing
		return m
	}
	m.fromLog = logMatches(tx, m.words)
	for i := range m.words {
		if m.cands != nil && len(m.cands) == 0 {
			break
		}
		ids, ok := m.postings(tx, i)
		if !ok {
			m.verify = append(m.verify, i)
			continue
		}
		for id := range m.fromLog[i] {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if m.cands != nil {
			ids = intersect(m.cands, ids)
		}
		m.cands = ids
	}
	return m
}

// intersect returns the ids in both ascending lists, ascending.
func intersect(a, b []int64) []int64 {
	out := []int64{}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

func (m *matcher) key(i int) []byte {
	if i < len(m.words)-1 {
		return join([]byte(m.words[i]), sep)
	}
	return []byte(m.words[i]) // the last word: a prefix
}

// postings gathers the cases under word i (not in order), unless the
// word is common (more than setCap postings, or a prefix of such a word).
func (m *matcher) postings(tx *bbolt.Tx, i int) ([]int64, bool) {
	prefix := m.key(i)
	if i < len(m.words)-1 {
		if wordCount(tx, []byte(m.words[i])) > uint64(setCap) {
			return nil, false
		}
	} else {
		var n uint64
		cur := tx.Bucket(bucketSearchWordCounts).Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			if n += getU64(v); n > uint64(setCap) {
				return nil, false
			}
		}
	}
	ids := []int64{}
	for _, name := range [][]byte{bucketSearchWords, bucketSearchNames} {
		cur := tx.Bucket(name).Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if len(ids) == setCap {
				return nil, false
			}
			if len(k) >= 9 {
				ids = append(ids, int64(getU64(k[len(k)-8:])))
			}
		}
	}
	return ids, true
}

// has reports whether case id has word i: in its logged messages, its
// word list (words, sorted) or its customer's names.
func (m *matcher) has(tx *bbolt.Tx, id int64, i int, words [][]byte) bool {
	if _, ok := m.fromLog[i][id]; ok {
		return true
	}
	w := []byte(m.words[i])
	last := i == len(m.words)-1
	j, found := slices.BinarySearchFunc(words, w, bytes.Compare)
	if found || (last && j < len(words) && bytes.HasPrefix(words[j], w)) {
		return true
	}
	key := join(i64(id), w)
	names := tx.Bucket(bucketSearchCaseNames)
	if !last {
		return names.Get(key) != nil
	}
	k, _ := names.Cursor().Seek(key)
	return k != nil && bytes.HasPrefix(k, key)
}

// matches reports whether case id matches the search.
func (m *matcher) matches(tx *bbolt.Tx, id int64) bool {
	if m.cands != nil {
		if _, ok := slices.BinarySearch(m.cands, id); !ok {
			return false
		}
	}
	if len(m.verify) == 0 {
		return true
	}
	words := caseWordList(tx.Bucket(bucketSearchCaseWords).Get(i64(id)))
	for _, i := range m.verify {
		if !m.has(tx, id, i, words) {
			return false
		}
	}
	return true
}

// few returns the matching cases when the rare words left at most n
// candidates (checked against the common words too), else nil.
func (m *matcher) few(tx *bbolt.Tx, n int) idSet {
	if m == nil || m.cands == nil || len(m.cands) > n {
		return nil
	}
	out := idSet{}
	for _, id := range m.cands {
		if m.matches(tx, id) {
			out[id] = struct{}{}
		}
	}
	return out
}
