package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// The search fixture: three cases of three customers.
type searchWorld struct {
	s                     *Store
	refund, parcel, munic care.Case
}

func newSearchWorld(t *testing.T) searchWorld { return newSearchWorldFolding(t, func(*Store) {}) }

// newSearchWorldFolding is newSearchWorld calling fold after each case.
func newSearchWorldFolding(t *testing.T, fold func(*Store)) searchWorld {
	s, _ := testStore(t)
	w := searchWorld{s: s}
	w.refund = escalateText(t, s, "s-1", care.CustomerInput{PlatformUserID: "1", Username: "@zoe_a", FirstName: "Zoë", LastName: "Ångström"},
		"My REFUND never arrived, I want my money back!")
	fold(s)
	w.parcel = escalateText(t, s, "s-2", care.CustomerInput{PlatformUserID: "2", Username: "@maxpower", FirstName: "Max", LastName: "Power"},
		"Where is my parcel? It never arrived.")
	fold(s)
	w.munic = escalateText(t, s, "s-3", care.CustomerInput{PlatformUserID: "3", Username: "@grüßgott"},
		"Grüße aus MÜNCHEN: the refund-policy page is broken")
	fold(s)
	return w
}

// compact folds s's search log into a segment (and merges what is due).
func compact(t *testing.T, s *Store) {
	t.Helper()
	if err := s.compactSearchLog(); err != nil {
		t.Fatal(err)
	}
}

func (w searchWorld) find(t *testing.T, actor care.User, q care.CaseQuery) []int64 {
	t.Helper()
	return caseIDs(listAll(t, w.s, actor, q))
}

// Search finds cases by words of their messages and of their customer's
// names, case-insensitively, the last word as a prefix, every word
// needed; a few results are loaded and sorted, many are picked from the
// view's order, with the same answers.
func TestSearchFindsCases(t *testing.T) {
	noFold := func(*Store) {}
	for _, strategy := range []struct {
		name      string
		loadBelow int
		fold      func(*Store) // after each case
		compact   bool         // at the end
	}{
		{"load", loadBelow, noFold, false}, {"stream", 0, noFold, false},
		{"load_compacted", loadBelow, noFold, true}, {"stream_compacted", 0, noFold, true},
		// A segment a case, merged two by two: a level-1 segment and a
		// level-0 one, the log empty.
		{"load_merged", loadBelow, func(s *Store) { compact(t, s) }, false},
		{"stream_merged", 0, func(s *Store) { compact(t, s) }, false},
	} {
		t.Run(strategy.name, func(t *testing.T) {
			defer func(n, f int) { loadBelow, mergeFanout = n, f }(loadBelow, mergeFanout)
			loadBelow, mergeFanout = strategy.loadBelow, 2
			w := newSearchWorldFolding(t, strategy.fold)
			if strategy.compact {
				compact(t, w.s)
			}
			sue := user(t, "sue")
			for _, tc := range []struct {
				q    string
				want []int64
			}{
				{"refund", []int64{w.munic.ID, w.refund.ID}},
				{"Refund", []int64{w.munic.ID, w.refund.ID}},
				{"refu", []int64{w.munic.ID, w.refund.ID}},
				{"never arrived", []int64{w.parcel.ID, w.refund.ID}},
				{"arrived refund", []int64{w.refund.ID}},
				{"refund arr", []int64{w.refund.ID}},
				{"ref never", nil}, // only the last word is a prefix
				{"münchen", []int64{w.munic.ID}},
				{"MÜNCH", []int64{w.munic.ID}},
				{"zoë", []int64{w.refund.ID}},
				{"ångs", []int64{w.refund.ID}},
				{"zoe_a", []int64{w.refund.ID}},
				{"max power parcel", []int64{w.parcel.ID}},
				{"grüßgott", []int64{w.munic.ID}},
				{"hibiscus", nil},
				{"!!!", nil},
			} {
				got := w.find(t, sue, care.CaseQuery{Q: tc.q}) // newest first
				if !slices.Equal(got, tc.want) {
					t.Errorf("q=%q: cases %v, want %v", tc.q, got, tc.want)
				}
			}
			// Pages of a search go on with their cursor.
			page, err := w.s.Cases(context.Background(), sue, care.CaseQuery{Q: "refund", Limit: 1, Sort: "created_asc"})
			if err != nil || len(page.Cases) != 1 || page.Cases[0].ID != w.refund.ID || page.NextCursor == "" {
				t.Fatalf("first page: %v %v", err, page)
			}
			page, err = w.s.Cases(context.Background(), sue, care.CaseQuery{Q: "refund", Limit: 1, Sort: "created_asc", Cursor: page.NextCursor})
			if err != nil || len(page.Cases) != 1 || page.Cases[0].ID != w.munic.ID || page.NextCursor != "" {
				t.Fatalf("second page: %v %v", err, page)
			}
		})
	}
}

// Search answers only what the caller's view shows.
func TestSearchRespectsVisibility(t *testing.T) {
	w := newSearchWorld(t)
	ctx := context.Background()
	alice, bob, sue := user(t, "alice"), user(t, "bob"), user(t, "sue")
	if _, err := w.s.PatchCase(ctx, sue, w.refund.ID, patch("", ptr("alice"))); err != nil {
		t.Fatal(err)
	}
	if got := w.find(t, alice, care.CaseQuery{View: care.ViewInbox, Q: "refund"}); !slices.Equal(got, []int64{w.refund.ID}) {
		t.Errorf("alice's inbox: %v, want her case", got)
	}
	if got := w.find(t, bob, care.CaseQuery{View: care.ViewInbox, Q: "refund"}); len(got) != 0 {
		t.Errorf("bob's inbox: %v, want nothing", got)
	}
	if _, err := w.s.PatchCase(ctx, sue, w.munic.ID, patch(care.StatusSpam, nil)); err != nil {
		t.Fatal(err)
	}
	if got := w.find(t, bob, care.CaseQuery{Q: "münchen"}); len(got) != 0 {
		t.Errorf("an agent finds a spam case: %v", got)
	}
	if got := w.find(t, sue, care.CaseQuery{View: care.ViewSpam, Q: "münchen"}); !slices.Equal(got, []int64{w.munic.ID}) {
		t.Errorf("supervisor's spam view: %v", got)
	}
	if _, err := w.s.Cases(ctx, bob, care.CaseQuery{View: care.ViewSpam, Q: "münchen"}); care.ErrorCode(err) != care.CodeForbidden {
		t.Errorf("agent searching spam: %v, want forbidden", err)
	}
}

// A renamed customer is found by the new name only, its cases too; a
// deleted case leaves the index.
func TestSearchFollowsRenamesAndDeletions(t *testing.T) {
	w := newSearchWorld(t)
	ctx := context.Background()
	sue := user(t, "sue")
	// The case's words are both in the index and in the log.
	if err := w.s.compactSearchLog(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.s.AddMessage(ctx, sue, w.refund.ID, care.NewMessage{Kind: "note", Text: "refund approved by finance"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.PatchCustomer(ctx, sue, w.refund.CustomerID, care.CustomerPatch{FirstName: ptr("Beatrix")}); err != nil {
		t.Fatal(err)
	}
	if got := w.find(t, sue, care.CaseQuery{Q: "zoë"}); len(got) != 0 {
		t.Errorf("old name still finds %v", got)
	}
	if got := w.find(t, sue, care.CaseQuery{Q: "ångström beat"}); !slices.Equal(got, []int64{w.refund.ID}) {
		t.Errorf("new name finds %v", got)
	}
	custs, err := w.s.Customers(ctx, sue, "beatrix", 0)
	if err != nil || len(custs) != 1 || custs[0].ID != w.refund.CustomerID {
		t.Errorf("Customers(beatrix) = %v, %v", custs, err)
	}
	if custs, _ := w.s.Customers(ctx, sue, "zoë", 0); len(custs) != 0 {
		t.Errorf("Customers(zoë) = %v, want none", custs)
	}
	if _, err := w.s.DeleteCase(ctx, sue, w.refund.ID); err != nil {
		t.Fatal(err)
	}
	if got := w.find(t, sue, care.CaseQuery{Status: care.StatusDeleted, Q: "refund"}); len(got) != 0 {
		t.Errorf("a deleted case is still found: %v", got)
	}
	if got := w.find(t, sue, care.CaseQuery{Status: care.StatusDeleted}); !slices.Equal(got, []int64{w.refund.ID}) {
		t.Errorf("deleted listing: %v", got)
	}
	// Its words leave the log and the names at once, and the segments at
	// their next merge.
	defer func(f int) { mergeFanout = f }(mergeFanout)
	mergeFanout = 2
	if _, _, err := w.s.AddMessage(ctx, sue, w.parcel.ID, care.NewMessage{Kind: "note", Text: "refund for the parcel"}); err != nil {
		t.Fatal(err)
	}
	compact(t, w.s)
	err = w.s.view(func(tx *bbolt.Tx) error {
		if n := tx.Bucket(bucketSearchLog).Stats().KeyN; n != 0 {
			return fmt.Errorf("the log keeps %d messages", n)
		}
		if n := len(segments(tx)); n != 1 {
			return fmt.Errorf("%d segments, want the two merged into one", n)
		}
		for _, b := range [][]byte{bucketSearchNames, bucketSearchCaseNames} {
			err := tx.Bucket(b).ForEach(func(k, _ []byte) error {
				if id := int64(getU64(k[len(k)-8:])); b[7] == 'n' && id == w.refund.ID {
					return fmt.Errorf("%s keeps %q", b, k)
				}
				if b[7] == 'c' && int64(getU64(k[:8])) == w.refund.ID {
					return fmt.Errorf("%s keeps %q", b, k)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return tx.Bucket(bucketSearchWords).Bucket(segments(tx)[0]).ForEach(func(k, v []byte) error {
			var err error
			readPostings(v, func(id int64) {
				if id == w.refund.ID {
					err = fmt.Errorf("the merged segment keeps the deleted case under %q", k)
				}
			})
			return err
		})
	})
	if err != nil {
		t.Error(err)
	}
	if got := w.find(t, sue, care.CaseQuery{Q: "refund"}); !slices.Equal(got, []int64{w.munic.ID, w.parcel.ID}) {
		t.Errorf("refund after the merge: %v", got)
	}
}

// Customers matches names and usernames, every word, the last as a prefix.
func TestCustomersSearch(t *testing.T) {
	w := newSearchWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"max", []int64{w.parcel.CustomerID}},
		{"POWER ma", []int64{w.parcel.CustomerID}},
		{"grüß", []int64{w.munic.CustomerID}},
		{"refund", nil}, // message text is not a customer's
		{"", []int64{w.munic.CustomerID, w.parcel.CustomerID, w.refund.CustomerID}},
	} {
		got, err := w.s.Customers(ctx, user(t, "alice"), tc.q, 0)
		ids := []int64{}
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if err != nil || !slices.Equal(ids, append([]int64{}, tc.want...)) {
			t.Errorf("Customers(%q) = %v, %v; want %v", tc.q, ids, err, tc.want)
		}
	}
	if _, err := w.s.Customers(ctx, user(t, "community"), "max", 0); care.ErrorCode(err) != care.CodeForbidden {
		t.Errorf("integration: %v", err)
	}
}

// Every read of a case carries its customer's summary, which is never
// stored with the case (a rename shows at once).
func TestCaseCarriesCustomer(t *testing.T) {
	w := newSearchWorld(t)
	ctx := context.Background()
	sue := user(t, "sue")
	want := care.CustomerSummary{ID: w.refund.CustomerID, Name: "Zoë Ångström", Username: "@zoe_a", Platform: "twitter"}
	if w.refund.Customer == nil || *w.refund.Customer != want {
		t.Fatalf("escalate answered customer %+v, want %+v", w.refund.Customer, want)
	}
	if _, err := w.s.PatchCustomer(ctx, sue, w.refund.CustomerID, care.CustomerPatch{LastName: ptr("Berg")}); err != nil {
		t.Fatal(err)
	}
	want.Name = "Zoë Berg"
	c, err := w.s.Case(ctx, sue, w.refund.ID)
	if err != nil || c.Customer == nil || *c.Customer != want {
		t.Fatalf("Case: %+v, %v; want customer %+v", c.Customer, err, want)
	}
	for _, c := range listAll(t, w.s, sue, care.CaseQuery{}) {
		if c.Customer == nil || c.Customer.ID != c.CustomerID {
			t.Errorf("listed case %d has customer %+v", c.ID, c.Customer)
		}
	}
	patched, err := w.s.PatchCase(ctx, sue, w.refund.ID, patch("", ptr("alice")))
	if err != nil || patched.Customer == nil || *patched.Customer != want {
		t.Fatalf("PatchCase: %+v, %v", patched.Customer, err)
	}
	err = w.s.view(func(tx *bbolt.Tx) error {
		var m map[string]any
		if err := json.Unmarshal(tx.Bucket(bucketCases).Get(i64(w.refund.ID)), &m); err != nil {
			return err
		}
		if _, ok := m["customer"]; ok {
			return errors.New("the stored case holds its customer")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The committer folds the search log into the index once it is long
// enough; searches find the same before and after.
func TestSearchLogFoldsIntoIndex(t *testing.T) {
	s, _ := testStore(t)
	s.compactAt.Store(10)
	sue := user(t, "sue")
	cases := escalateN(t, s, 0, 3)
	for i := range 12 {
		if _, _, err := s.AddMessage(context.Background(), sue, cases[i%3].ID, care.NewMessage{Kind: "note", Text: fmt.Sprintf("w%dx lavender", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var logged, indexed int
	_ = s.view(func(tx *bbolt.Tx) error {
		logged, indexed = tx.Bucket(bucketSearchLog).Stats().KeyN, tx.Bucket(bucketSearchWords).Stats().KeyN
		return nil
	})
	if logged >= 10 || indexed == 0 {
		t.Fatalf("log %d messages, index %d postings: the log was not folded", logged, indexed)
	}
	if got := caseIDs(listAll(t, s, sue, care.CaseQuery{Q: "lavender", Sort: "created_asc"})); !slices.Equal(got, caseIDs(cases)) {
		t.Errorf("lavender: %v", got)
	}
	for i := range 12 {
		if got := caseIDs(listAll(t, s, sue, care.CaseQuery{Q: fmt.Sprintf("w%dx", i)})); !slices.Equal(got, []int64{cases[i%3].ID}) {
			t.Errorf("w%dx: %v", i, got)
		}
	}
}

// wordsByFields is Words as it was first written (FieldsFunc, ToLower, a
// map): the fast one must split every text the same.
func wordsByFields(text string, max int) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		w = strings.ToLower(w)
		if len(w) > maxWordBytes || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if max > 0 && len(out) == max {
			break
		}
	}
	return out
}

func TestWordsSplitsAsFieldsFunc(t *testing.T) {
	pieces := []string{"a", "B", "z", "Q", "0", "9", " ", ",", "-", "_", "@", "é", "É", "ß", "İ", "Ω", "ǅ", "٣", "日本", "\xff", "\xe2\x82",
		"\ufffd", "\u00a0", "refund", "REFUND", "Refund", strings.Repeat("x", 63), strings.Repeat("Y", 64), strings.Repeat("ä", 33)}
	rng := rand.New(rand.NewPCG(1, 1))
	for n := range 20000 {
		var sb strings.Builder
		for range rng.IntN(60) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text, max := sb.String(), []int{0, 0, 1, 3, 20}[n%5]
		if got, want := Words(text, max), wordsByFields(text, max); !slices.Equal(got, want) {
			t.Fatalf("Words(%q, %d) = %q, want %q", text, max, got, want)
		}
	}
}
