package bolt

import (
	"bytes"
	"math/bits"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// matcher decides which cases a search matches: every word, the last one
// as a prefix, in the case's messages (the segments and the log) or its
// customer's names; never a deleted case. It gathers each word's cases
// into a bitmap over the case ids (a common word costs a bit a posting,
// no map), so it knows the matching cases before the view streams.
type matcher struct {
	found caseBits
	n     int // cases in found
}

// newMatcher prepares the search q; nil when q is no search.
func newMatcher(tx *bbolt.Tx, q string) *matcher {
	if strings.TrimSpace(q) == "" {
		return nil
	}
	words := Words(q, 0)
	m := &matcher{}
	if len(words) == 0 {
		return m // a search without words matches nothing
	}
	size := tx.Bucket(bucketCases).Sequence() + 1
	logged := logMatches(tx, words, size)
	for i, w := range words {
		last := i == len(words)-1
		word := logged[i]
		segmentCases(tx, []byte(w), last, word)
		nameCases(tx, w, last, word)
		if i == 0 {
			m.found = word
		} else {
			m.found.and(word)
		}
		if m.found.count() == 0 {
			break
		}
	}
	for id := range deletedCases(tx) {
		m.found.clear(id)
	}
	m.n = m.found.count()
	return m
}

// nameCases adds to bits the cases whose customer's names have w (with
// prefix: a word that starts with w).
func nameCases(tx *bbolt.Tx, w string, prefix bool, bits caseBits) {
	key := []byte(w)
	if !prefix {
		key = join(key, sep)
	}
	cur := tx.Bucket(bucketSearchNames).Cursor()
	for k, _ := cur.Seek(key); k != nil && bytes.HasPrefix(k, key); k, _ = cur.Next() {
		if len(k) >= 9 {
			bits.set(int64(getU64(k[len(k)-8:])))
		}
	}
}

// matches reports whether case id matches the search.
func (m *matcher) matches(_ *bbolt.Tx, id int64) bool { return m.found.has(id) }

// few returns the matching cases when there are at most n, else nil.
func (m *matcher) few(_ *bbolt.Tx, n int) idSet {
	if m == nil || m.n > n {
		return nil
	}
	out := make(idSet, m.n)
	m.found.each(func(id int64) { out[id] = struct{}{} })
	return out
}

// caseBits is a set of case ids, a bit each, sized for the ids the store
// has given (ids beyond are never set).
type caseBits []uint64

func newCaseBits(size uint64) caseBits { return make(caseBits, (size+63)/64) }

func (b caseBits) set(id int64) {
	if i := uint64(id) / 64; i < uint64(len(b)) {
		b[i] |= 1 << (uint64(id) % 64)
	}
}

func (b caseBits) clear(id int64) {
	if i := uint64(id) / 64; i < uint64(len(b)) {
		b[i] &^= 1 << (uint64(id) % 64)
	}
}

func (b caseBits) has(id int64) bool {
	i := uint64(id) / 64
	return i < uint64(len(b)) && b[i]&(1<<(uint64(id)%64)) != 0
}

// and keeps in b the ids also in o.
func (b caseBits) and(o caseBits) {
	for i := range b {
		if i < len(o) {
			b[i] &= o[i]
		} else {
			b[i] = 0
		}
	}
}

func (b caseBits) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// each calls fn with each id in b, ascending.
func (b caseBits) each(fn func(id int64)) {
	for i, w := range b {
		for w != 0 {
			fn(int64(i*64 + bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
}
