package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

func user(t *testing.T, id string) care.User {
	t.Helper()
	u, ok := benchUsers.User(id)
	if !ok {
		t.Fatalf("no user %s", id)
	}
	return u
}

// listAll pages through a query to its end.
func listAll(t *testing.T, s *Store, actor care.User, q care.CaseQuery) []care.Case {
	t.Helper()
	var out []care.Case
	q.Limit = care.MaxPageLimit
	for {
		page, err := s.Cases(context.Background(), actor, q)
		if err != nil {
			t.Fatalf("list %+v as %s: %v", q, actor.ID, err)
		}
		out = append(out, page.Cases...)
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
}

func caseIDs(cases []care.Case) []int64 {
	ids := make([]int64, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
	}
	return ids
}

// escalateText makes (or joins) the case of a customer with a message.
func escalateText(t *testing.T, s *Store, ext string, in care.CustomerInput, text string) care.Case {
	t.Helper()
	res, err := s.Escalate(context.Background(), user(t, "community"), care.EscalateInput{Message: care.IncomingMessage{
		ExternalID: ext, Platform: "twitter", ProfileID: "brand", Customer: in, Text: text, SentAt: time.Now().UTC()}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Case
}

func patch(status care.Status, assignee *string) care.CasePatch {
	var p care.CasePatch
	if status != "" {
		p.Status = care.Optional[care.Status]{Set: true, Value: status}
	}
	if assignee != nil {
		p.Assignee = care.Optional[string]{Set: true, Null: *assignee == "", Value: *assignee}
	}
	return p
}

// checkCountsMatchListings compares every default view's count with its
// listing, for every agent and supervisor.
func checkCountsMatchListings(t *testing.T, s *Store) {
	t.Helper()
	for _, id := range []string{"alice", "bob", "sue"} {
		u := user(t, id)
		counts, err := s.ViewCounts(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range care.Views {
			n, ok := counts[v]
			if v == care.ViewSpam && u.Role == care.RoleAgent {
				if ok {
					t.Errorf("%s: agents get no spam count, got %d", id, n)
				}
				continue
			}
			if got := len(listAll(t, s, u, care.CaseQuery{View: v})); !ok || n != int64(got) {
				t.Errorf("%s %s: count %d (present %v), listing %d", id, v, n, ok, got)
			}
		}
	}
}

// Random work on cases (escalations, ingests, assignments, status changes,
// mentions, deletions) keeps every view's count equal to its listing.
func TestViewCountsEqualListings(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	community := user(t, "community")
	agents := []care.User{user(t, "alice"), user(t, "bob"), user(t, "sue")}
	statuses := []care.Status{care.StatusNew, care.StatusOpen, care.StatusPending, care.StatusOnHold, care.StatusDone, care.StatusSpam}
	var ids []int64
	for step := range 600 {
		actor := agents[rng.IntN(len(agents))]
		var err error
		switch op := rng.IntN(12); {
		case op < 2 || len(ids) == 0:
			var res care.EscalateResult
			res, err = s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage(fmt.Sprintf("e-%d", step), rng.IntN(30), time.Now())})
			if err == nil && res.Created {
				ids = append(ids, res.Case.ID)
			}
		case op < 4:
			_, err = s.Ingest(ctx, community, benchMessage(fmt.Sprintf("i-%d", step), rng.IntN(30), time.Now()))
		case op < 6:
			who := []string{"", "alice", "bob", "sue"}[rng.IntN(4)]
			_, err = s.PatchCase(ctx, actor, ids[rng.IntN(len(ids))], patch("", &who))
		case op < 8:
			_, err = s.PatchCase(ctx, actor, ids[rng.IntN(len(ids))], patch(statuses[rng.IntN(len(statuses))], nil))
		case op < 10:
			mentions := []string{}
			for _, u := range agents {
				if rng.IntN(2) == 0 {
					mentions = append(mentions, u.ID)
				}
			}
			_, _, err = s.AddMessage(ctx, actor, ids[rng.IntN(len(ids))], care.NewMessage{Kind: "note", Text: "look", Mentions: mentions})
		default:
			_, err = s.DeleteCase(ctx, actor, ids[rng.IntN(len(ids))])
		}
		if err != nil && care.ErrorCode(err) == "" {
			t.Fatalf("step %d: %v", step, err)
		}
		if step%150 == 149 {
			checkCountsMatchListings(t, s)
		}
	}
}

// ViewCounts is for agents and supervisors only.
func TestViewCountsRefuseIntegrations(t *testing.T) {
	s, _ := testStore(t)
	if _, err := s.ViewCounts(context.Background(), user(t, "community")); care.ErrorCode(err) != care.CodeForbidden {
		t.Fatalf("integration: %v, want forbidden", err)
	}
}

// The search fixture: three cases of three customers.
type searchWorld struct {
	s                     *Store
	refund, parcel, munic care.Case
}

func newSearchWorld(t *testing.T) searchWorld {
	s, _ := testStore(t)
	w := searchWorld{s: s}
	w.refund = escalateText(t, s, "s-1", care.CustomerInput{PlatformUserID: "1", Username: "@zoe_a", FirstName: "Zoë", LastName: "Ångström"},
		"My REFUND never arrived, I want my money back!")
	w.parcel = escalateText(t, s, "s-2", care.CustomerInput{PlatformUserID: "2", Username: "@maxpower", FirstName: "Max", LastName: "Power"},
		"Where is my parcel? It never arrived.")
	w.munic = escalateText(t, s, "s-3", care.CustomerInput{PlatformUserID: "3", Username: "@grüßgott"},
		"Grüße aus MÜNCHEN: the refund-policy page is broken")
	return w
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
	for _, strategy := range []struct {
		name      string
		loadBelow int
		compact   bool
	}{{"load", loadBelow, false}, {"stream", 0, false}, {"load_compacted", loadBelow, true}, {"stream_compacted", 0, true}} {
		t.Run(strategy.name, func(t *testing.T) {
			defer func(n int) { loadBelow = n }(loadBelow)
			loadBelow = strategy.loadBelow
			w := newSearchWorld(t)
			if strategy.compact {
				if err := w.s.compactSearchLog(); err != nil {
					t.Fatal(err)
				}
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

func ptr[T any](v T) *T { return &v }

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
	err = w.s.view(func(tx *bbolt.Tx) error {
		if n := tx.Bucket(bucketSearchLog).Stats().KeyN; n != 0 {
			return fmt.Errorf("the log keeps %d messages", n)
		}
		for _, b := range [][]byte{bucketSearchWords, bucketSearchNames, bucketSearchCaseWords} {
			err := tx.Bucket(b).ForEach(func(k, _ []byte) error {
				if id := int64(getU64(k[len(k)-8:])); b[7] != 'c' && id == w.refund.ID {
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
		return nil
	})
	if err != nil {
		t.Error(err)
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

// Saved views: created by an agent, used by the owner and (when shared) by
// others, counted, deleted by the owner or a supervisor.
func TestSavedViews(t *testing.T) {
	w := newSearchWorld(t)
	ctx := context.Background()
	alice, bob, sue := user(t, "alice"), user(t, "bob"), user(t, "sue")
	if _, err := w.s.PatchCase(ctx, sue, w.refund.ID, care.CasePatch{Priority: care.Optional[care.Priority]{Set: true, Value: care.PriorityUrgent}}); err != nil {
		t.Fatal(err)
	}
	mine, err := w.s.CreateView(ctx, alice, care.SavedView{Name: " Refunds ", Filters: care.ViewFilters{Q: "refund"}, Sort: "created_asc"})
	if err != nil || mine.ID == "" || mine.Owner != "alice" || mine.Name != "Refunds" || mine.CreatedAt.IsZero() {
		t.Fatalf("CreateView: %+v, %v", mine, err)
	}
	shared, err := w.s.CreateView(ctx, alice, care.SavedView{Name: "Urgent", Filters: care.ViewFilters{Priority: care.PriorityUrgent}, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.find(t, alice, care.CaseQuery{SavedView: mine.ID}); !slices.Equal(got, []int64{w.refund.ID, w.munic.ID}) {
		t.Errorf("alice's view lists %v", got)
	}
	if got := w.find(t, bob, care.CaseQuery{SavedView: shared.ID}); !slices.Equal(got, []int64{w.refund.ID}) {
		t.Errorf("the shared view lists %v for bob", got)
	}
	if _, err := w.s.Cases(ctx, bob, care.CaseQuery{SavedView: mine.ID}); care.ErrorCode(err) != care.CodeForbidden {
		t.Errorf("bob using alice's private view: %v, want forbidden", err)
	}
	if _, err := w.s.Cases(ctx, bob, care.CaseQuery{SavedView: "999"}); care.ErrorCode(err) != care.CodeNotFound {
		t.Errorf("unknown view: %v, want not found", err)
	}
	list := func(u care.User) map[string]care.SavedViewCount {
		vs, err := w.s.SavedViews(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]care.SavedViewCount{}
		for _, v := range vs {
			out[v.ID] = v
		}
		return out
	}
	if got := list(alice); len(got) != 2 || got[mine.ID].Count != 2 || got[shared.ID].Count != 1 || got[mine.ID].CountCapped {
		t.Errorf("alice's views: %+v", got)
	}
	if got := list(bob); len(got) != 1 || got[shared.ID].Count != 1 {
		t.Errorf("bob's views: %+v", got)
	}
	if err := w.s.DeleteView(ctx, bob, shared.ID); care.ErrorCode(err) != care.CodeForbidden {
		t.Errorf("bob deleting alice's view: %v, want forbidden", err)
	}
	if err := w.s.DeleteView(ctx, sue, shared.ID); err != nil {
		t.Errorf("supervisor deleting: %v", err)
	}
	if err := w.s.DeleteView(ctx, alice, mine.ID); err != nil {
		t.Errorf("owner deleting: %v", err)
	}
	if err := w.s.DeleteView(ctx, alice, mine.ID); care.ErrorCode(err) != care.CodeNotFound {
		t.Errorf("deleting again: %v, want not found", err)
	}
	if got := list(alice); len(got) != 0 {
		t.Errorf("views left: %+v", got)
	}
	for _, bad := range []struct {
		v    care.SavedView
		code care.Code
	}{
		{care.SavedView{Name: ""}, care.CodeInvalidArgument},
		{care.SavedView{Name: "x", Filters: care.ViewFilters{Status: "bogus"}}, care.CodeInvalidArgument},
		{care.SavedView{Name: "x", Filters: care.ViewFilters{Status: care.StatusSpam}}, care.CodeForbidden},
		{care.SavedView{Name: "x", Sort: "sideways"}, care.CodeInvalidArgument},
	} {
		if _, err := w.s.CreateView(ctx, alice, bad.v); care.ErrorCode(err) != bad.code {
			t.Errorf("CreateView(%+v): %v, want %s", bad.v, err, bad.code)
		}
	}
}

// One user owns at most care.MaxSavedViews; others are not held back.
func TestSavedViewsPerUserLimit(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	for i := range care.MaxSavedViews {
		if _, err := s.CreateView(ctx, user(t, "alice"), care.SavedView{Name: fmt.Sprint("v", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateView(ctx, user(t, "alice"), care.SavedView{Name: "one more"}); care.ErrorCode(err) != care.CodeTooLarge {
		t.Fatalf("view %d: %v, want too_large", care.MaxSavedViews+1, err)
	}
	if _, err := s.CreateView(ctx, user(t, "bob"), care.SavedView{Name: "bob's"}); err != nil {
		t.Fatal(err)
	}
}

// A count that needs each case stops at its bound and says so.
func TestCountPlanStopsAtItsBound(t *testing.T) {
	s, _ := testStore(t)
	seedCases(t, s, 200)
	plan, err := care.PlanQuery(user(t, "sue"), care.CaseQuery{Priority: care.PriorityHigh})
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len(listAll(t, s, user(t, "sue"), care.CaseQuery{Priority: care.PriorityHigh})))
	_ = s.view(func(tx *bbolt.Tx) error {
		if n, capped, err := countPlan(tx, plan, "", 1000); err != nil || n != want || capped {
			t.Errorf("uncapped: %d %v %v, want %d", n, capped, err, want)
		}
		if n, capped, err := countPlan(tx, plan, "", 5); err != nil || n != 5 || !capped {
			t.Errorf("capped: %d %v %v, want 5 and capped", n, capped, err)
		}
		return nil
	})
}

// commitLog is an OnCommit that keeps what it is told.
type commitLog struct {
	mu      sync.Mutex
	batches [][]care.Change
	gate    chan struct{} // when set, each call waits for it to close
}

func (l *commitLog) onCommit(chs []care.Change) {
	if l.gate != nil {
		<-l.gate
	}
	l.mu.Lock()
	l.batches = append(l.batches, chs)
	l.mu.Unlock()
}

func (l *commitLog) changes() []care.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []care.Change
	for _, b := range l.batches {
		out = append(out, b...)
	}
	return out
}

func hookStore(t *testing.T, log *commitLog) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers, OnCommit: log.onCommit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitChanges waits (on the notifier, no clock) until log holds n changes.
func waitChanges(t *testing.T, s *Store, log *commitLog, n int) []care.Change {
	t.Helper()
	for range 10_000 {
		if chs := log.changes(); len(chs) >= n {
			return chs
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("OnCommit got %d changes, want %d", len(log.changes()), n)
	return nil
}

// OnCommit sees every case change once committed, in commit order: with
// concurrent writers on one case each change starts where the one before
// it ended; a refused write reports nothing.
func TestOnCommitInCommitOrder(t *testing.T) {
	log := &commitLog{}
	s := hookStore(t, log)
	ctx := context.Background()
	sue := user(t, "sue")
	c := escalateN(t, s, 0, 1)[0]
	var wg sync.WaitGroup
	const writers, each = 8, 25
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v := fmt.Sprintf("%d-%d", w, i)
				if _, err := s.PatchCase(ctx, sue, c.ID, care.CasePatch{Fields: map[string]*string{"n": &v}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := s.DeleteCase(ctx, sue, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchCase(ctx, sue, c.ID, patch(care.StatusOpen, nil)); care.ErrorCode(err) != care.CodeInvalidTransition {
		t.Fatalf("reopening a deleted case: %v", err)
	}
	if _, _, err := s.AddMessage(ctx, sue, c.ID, care.NewMessage{Kind: "note", Text: "n"}); care.ErrorCode(err) == "" {
		t.Fatalf("note on a deleted case: %v", err)
	}
	chs := waitChanges(t, s, log, 1+writers*each+1)
	if len(chs) != 1+writers*each+1 {
		t.Fatalf("%d changes, want %d", len(chs), 1+writers*each+1)
	}
	if chs[0].Before != nil || chs[0].After.ID != c.ID || chs[0].Message == nil {
		t.Fatalf("first change is not the creation: %+v", chs[0])
	}
	for i := 1; i < len(chs); i++ {
		prev, ch := chs[i-1], chs[i]
		if ch.Before == nil || ch.Before.Fields["n"] != prev.After.Fields["n"] || ch.Before.Status != prev.After.Status {
			t.Fatalf("change %d starts at %v, the one before ended at %v", i, ch.Before, prev.After)
		}
	}
	if last := chs[len(chs)-1]; last.After.Status != care.StatusDeleted || last.Actor.ID != "sue" {
		t.Fatalf("last change: %+v", last)
	}
}

// An OnCommit that never returns holds up no write; it is told every
// change once it goes on.
func TestOnCommitCannotBlockWrites(t *testing.T) {
	log := &commitLog{gate: make(chan struct{})}
	s := hookStore(t, log)
	done := make(chan error, 1)
	go func() {
		community := user(t, "community")
		for i := range 300 {
			if _, err := s.Escalate(context.Background(), community, care.EscalateInput{Message: benchMessage(fmt.Sprint("b-", i), i, time.Now())}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("writes wait for a stuck OnCommit")
	}
	close(log.gate)
	chs := waitChanges(t, s, log, 300)
	for i, ch := range chs {
		if ch.After.ID != int64(i+1) {
			t.Fatalf("change %d is of case %d", i, ch.After.ID)
		}
	}
}

// A notifier that falls too far behind drops what waits and says so with
// an empty batch, then goes on.
func TestNotifierOverflowSaysLost(t *testing.T) {
	var got [][]care.Change
	n := newNotifier(func(chs []care.Change) { got = append(got, chs) })
	n.max = 3
	one := []care.Change{{After: care.Case{ID: 1}}}
	n.push(one)
	n.push(one)
	n.push(one)
	n.push([]care.Change{{After: care.Case{ID: 2}}}) // over: the three are dropped
	n.close()
	n.run()
	if len(got) != 2 || len(got[0]) != 0 || got[1][0].After.ID != 2 {
		t.Fatalf("delivered %v, want an empty batch then case 2", got)
	}
}

// A store written before counters and the search index gets both at open,
// once.
func TestLiveIndexesMigrate(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir)
	ctx := context.Background()
	sue := user(t, "sue")
	cases := escalateN(t, s, 0, 6)
	for i, c := range cases[:4] {
		who := []string{"alice", "bob"}[i%2]
		if _, err := s.PatchCase(ctx, sue, c.ID, patch("", &who)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AddMessage(ctx, sue, c.ID, care.NewMessage{Kind: "note", Text: "ask about lavender", Mentions: []string{who}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteCase(ctx, sue, cases[5].ID); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketViewCounts, bucketCaseMentions, bucketSearchWords, bucketSearchCaseWords, bucketSearchNames, bucketSearchCustomers, bucketSearchLog} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		for _, k := range [][]byte{metaViewCounts, metaSearchIndex} {
			if err := tx.Bucket(bucketMeta).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir)
	checkCountsMatchListings(t, s)
	got := caseIDs(listAll(t, s, sue, care.CaseQuery{Q: "lavender", Sort: "created_asc"}))
	if !slices.Equal(got, caseIDs(cases[:4])) {
		t.Errorf("search after migration: %v", got)
	}
	if got := listAll(t, s, sue, care.CaseQuery{Q: "perfume doe5"}); len(got) != 0 {
		t.Errorf("the deleted case is indexed: %v", caseIDs(got))
	}
	if got := listAll(t, s, sue, care.CaseQuery{Q: "perfume doe4"}); len(got) != 1 {
		t.Errorf("a case by its message and customer: %v", caseIDs(got))
	}
}

// The committer folds the search log into the index once it is long
// enough; searches find the same before and after.
func TestSearchLogFoldsIntoIndex(t *testing.T) {
	s, _ := testStore(t)
	s.compactAt = 10
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
