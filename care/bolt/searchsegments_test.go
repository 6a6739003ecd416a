package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// setForTest sets *p to v for a test, back after its stores are closed (a
// cleanup registered before them runs after theirs).
func setForTest[T any](t *testing.T, p *T, v T) {
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// setMergeFanout sets mergeFanout for a test.
func setMergeFanout(t *testing.T, n int) { setForTest(t, &mergeFanout, n) }

// foldingStore is a store whose committer folds the search log every
// foldAt messages and merges segments two by two, with n cases.
func foldingStore(t *testing.T, foldAt int64, n int) (*Store, []care.Case) {
	setMergeFanout(t, 2)
	s, _ := testStore(t)
	s.compactAt.Store(foldAt)
	return s, escalateN(t, s, 0, n)
}

// caseWords are the words a search may find case by, worked out the slow
// way: those of every stored message of the case and of its customer.
func caseWords(t *testing.T, s *Store) map[int64]map[string]bool {
	t.Helper()
	out := map[int64]map[string]bool{}
	add := func(id int64, words []string) {
		if out[id] == nil {
			out[id] = map[string]bool{}
		}
		for _, w := range words {
			out[id][w] = true
		}
	}
	err := s.view(func(tx *bbolt.Tx) error {
		err := tx.Bucket(bucketMessages).ForEach(func(_, v []byte) error {
			var m care.Message
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if m.CaseID != 0 {
				add(m.CaseID, Words(m.Text, maxMessageWords))
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketCases).ForEach(func(k, _ []byte) error {
			c, err := getCase(tx, int64(getU64(k)))
			if err != nil {
				return err
			}
			words, err := caseCustomerWords(tx, c)
			add(c.ID, words)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// matchesWords reports whether a case with the words have matches the
// search words q: every one, the last as a prefix.
func matchesWords(have map[string]bool, q []string) bool {
	for i, w := range q {
		if have[w] {
			continue
		}
		if i < len(q)-1 || !slices.ContainsFunc(slices.Collect(maps.Keys(have)), func(h string) bool { return strings.HasPrefix(h, w) }) {
			return false
		}
	}
	return len(q) > 0
}

// checkSearchTruth compares each search with the truth: the cases sue
// lists without it whose words match.
func checkSearchTruth(t *testing.T, s *Store, queries []string) {
	t.Helper()
	sue := user(t, "sue")
	words := caseWords(t, s)
	all := listAll(t, s, sue, care.CaseQuery{Sort: "created_asc"})
	for _, q := range queries {
		want := []int64{}
		for _, c := range all {
			if matchesWords(words[c.ID], Words(q, 0)) {
				want = append(want, c.ID)
			}
		}
		got := append([]int64{}, caseIDs(listAll(t, s, sue, care.CaseQuery{Q: q, Sort: "created_asc"}))...)
		if !slices.Equal(got, want) {
			t.Errorf("q=%q: cases %v, want %v", q, got, want)
		}
	}
}

var (
	truthVocabulary = strings.Fields("refund refunds ref parcel par late lavender broken kiwi")
	truthQueries    = []string{"refund", "refunds", "ref", "re", "parcel", "par", "pa", "late", "lavender", "broken",
		"kiwi", "refund late", "late ref", "parcel lavender bro", "joe doe3", "doe", "perfume refund", "hibiscus ki", "nothing"}
)

// randomNote is a note of one to four words of truthVocabulary.
func randomNote(rng *rand.Rand) string {
	words := make([]string, 1+rng.IntN(4))
	for i := range words {
		words[i] = truthVocabulary[rng.IntN(len(truthVocabulary))]
	}
	return strings.Join(words, " ")
}

// Whatever the committer has folded and merged (a fold every three
// messages, segments merged two by two) and whatever was deleted, a
// search finds exactly the cases whose words match.
func TestSearchEqualsTruthAcrossFoldsAndMerges(t *testing.T) {
	s, cases := foldingStore(t, 3, 8)
	ctx := context.Background()
	sue := user(t, "sue")
	rng := rand.New(rand.NewPCG(7, 7))
	for step := range 160 {
		c := cases[rng.IntN(len(cases))]
		switch {
		case step%53 == 52:
			if _, err := s.DeleteCase(ctx, sue, c.ID); err != nil {
				t.Fatal(err)
			}
			cases = slices.DeleteFunc(cases, func(o care.Case) bool { return o.ID == c.ID })
		default:
			if _, _, err := s.AddMessage(ctx, sue, c.ID, care.NewMessage{Kind: "note", Text: randomNote(rng)}); err != nil {
				t.Fatal(err)
			}
		}
		if step%20 == 19 {
			checkSearchTruth(t, s, truthQueries)
		}
	}
	var levels []byte
	_ = s.view(func(tx *bbolt.Tx) error {
		for _, name := range segments(tx) {
			levels = append(levels, name[0])
		}
		return nil
	})
	if len(levels) < 2 || slices.Max(levels) < 3 {
		t.Errorf("segments of levels %v: want several, merged up to level 3 at least", levels)
	}
}

// mergeDueStore is a store (and its dir) whose segments merge two by two,
// with one segment and three logged messages: the next fold makes two
// segments, to merge.
func mergeDueStore(t *testing.T) (*Store, string) {
	setMergeFanout(t, 2)
	s, dir := testStore(t)
	cases := escalateN(t, s, 0, 4)
	compact(t, s)
	for i, c := range cases[:3] {
		if _, _, err := s.AddMessage(context.Background(), user(t, "sue"), c.ID, care.NewMessage{Kind: "note", Text: truthVocabulary[i] + " late"}); err != nil {
			t.Fatal(err)
		}
	}
	return s, dir
}

// A fold or a merge that fails before its commit (as a crash would) leaves
// the search right, also after a reopen; the next one does its work.
func TestSearchSurvivesFailedFoldOrMerge(t *testing.T) {
	for _, stage := range []string{"fold", "merge"} {
		t.Run(stage, func(t *testing.T) {
			s, dir := mergeDueStore(t)
			crash := errors.New("crash")
			setForTest(t, &searchFault, func(at string) error {
				if at == stage {
					return crash
				}
				return nil
			})
			if err := s.compactSearchLog(); !errors.Is(err, crash) {
				t.Fatalf("compact: %v, want the crash", err)
			}
			checkSearchTruth(t, s, truthQueries)
			s.Close()
			s = openAt(t, dir)
			checkSearchTruth(t, s, truthQueries)
			var logged, segs int
			_ = s.view(func(tx *bbolt.Tx) error {
				logged, segs = tx.Bucket(bucketSearchLog).Stats().KeyN, len(segments(tx))
				return nil
			})
			if want := map[string][2]int{"fold": {3, 1}, "merge": {0, 2}}[stage]; [2]int{logged, segs} != want {
				t.Errorf("after the failed %s: %d logged, %d segments; want %v", stage, logged, segs, want)
			}
			searchFault = func(string) error { return nil }
			compact(t, s)
			checkSearchTruth(t, s, truthQueries)
		})
	}
}

// Searches while writers add messages and the committer folds and merges
// (a fold every four messages) see each message once it is committed and
// never one not yet written: run with -race.
func TestSearchWhileFolding(t *testing.T) {
	s, cases := foldingStore(t, 4, 6)
	searchWhileWriting(t, s, cases)
}

// searchWhileWriting has two writers add 120 messages each to cases while
// two searchers check that each search finds every case with a matching
// message committed before it and none without one written, then checks
// the searches against the truth.
func searchWhileWriting(t *testing.T, s *Store, cases []care.Case) {
	ctx := context.Background()
	sue := user(t, "sue")
	var mu sync.Mutex
	committed, written := map[int64]map[string]bool{}, map[int64]map[string]bool{}
	note := func(model map[int64]map[string]bool, id int64, text string) {
		mu.Lock()
		defer mu.Unlock()
		if model[id] == nil {
			model[id] = map[string]bool{}
		}
		for _, w := range Words(text, 0) {
			model[id][w] = true
		}
	}
	matching := func(model map[int64]map[string]bool, q string) map[int64]bool {
		mu.Lock()
		defer mu.Unlock()
		out := map[int64]bool{}
		for id, words := range model {
			if matchesWords(words, Words(q, 0)) {
				out[id] = true
			}
		}
		return out
	}
	var writers, searchers sync.WaitGroup
	done := make(chan struct{})
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for range 120 {
				c, text := cases[rng.IntN(len(cases))], randomNote(rng)
				note(written, c.ID, text)
				if _, _, err := s.AddMessage(ctx, sue, c.ID, care.NewMessage{Kind: "note", Text: text}); err != nil {
					t.Error(err)
					return
				}
				note(committed, c.ID, text)
			}
		}()
	}
	var searches int
	for r := range 2 {
		searchers.Add(1)
		go func() {
			defer searchers.Done()
			for i := r; i < r+300; i++ {
				select {
				case <-done:
					return
				default:
				}
				q := truthQueries[i%12] // the message words only
				before := matching(committed, q)
				page, err := s.Cases(ctx, sue, care.CaseQuery{Q: q, Limit: care.MaxPageLimit})
				after := matching(written, q)
				if err != nil {
					t.Error(err)
					return
				}
				got := map[int64]bool{}
				for _, c := range page.Cases {
					got[c.ID] = true
				}
				for id := range before {
					if !got[id] {
						t.Errorf("q=%q misses case %d, committed before the search", q, id)
					}
				}
				for id := range got {
					if !after[id] {
						t.Errorf("q=%q finds case %d, not written", q, id)
					}
				}
				mu.Lock()
				searches++
				mu.Unlock()
			}
		}()
	}
	writers.Wait()
	close(done)
	searchers.Wait()
	if searches == 0 {
		t.Error("no search ran")
	}
	checkSearchTruth(t, s, truthQueries)
	t.Logf("%d searches", searches)
}
