package bolt

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

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
	// A search within a saved view narrows it.
	if got := w.find(t, alice, care.CaseQuery{SavedView: mine.ID, Q: "münch"}); !slices.Equal(got, []int64{w.munic.ID}) {
		t.Errorf("alice's view searched for münch lists %v", got)
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

// saveCountedViews saves shared views that need each case to count: sla=
// alone and with a search or a filter, and a search alone.
func saveCountedViews(t *testing.T, s *Store) {
	t.Helper()
	for _, f := range []care.ViewFilters{
		{SLA: care.SLAFilterBreached}, {SLA: care.SLAFilterDueSoon},
		{SLA: care.SLAFilterBreached, Q: "doe1"}, {SLA: care.SLAFilterDueSoon, Q: "hibiscus"},
		{SLA: care.SLAFilterDueSoon, Assignee: "none"}, {SLA: care.SLAFilterBreached, Status: care.StatusOpen},
		{Q: "doe2"},
	} {
		name := fmt.Sprintf("%+v", f)
		if _, err := s.CreateView(context.Background(), user(t, "alice"), care.SavedView{Name: name, Filters: f, Shared: true}); err != nil {
			t.Fatalf("save view %s: %v", name, err)
		}
	}
}

// checkSavedViewCounts compares each saved view's count with its listing
// for every agent and supervisor, with the sets the sla= filter and the
// search find loaded (few) and streamed (many); seen keeps each view's
// largest count.
func checkSavedViewCounts(t *testing.T, s *Store, seen map[string]int64) {
	t.Helper()
	defer func(n int) { loadBelow = n }(loadBelow)
	for _, bound := range []int{1000, 3} {
		loadBelow = bound
		for _, id := range []string{"alice", "bob", "sue"} {
			u := user(t, id)
			views, err := s.SavedViews(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range views {
				got := len(listAll(t, s, u, care.CaseQuery{SavedView: v.ID}))
				if v.Count != int64(got) || v.CountCapped {
					t.Errorf("%s, loading up to %d: saved view %s counts %d (capped %v), lists %d", id, bound, v.Name, v.Count, v.CountCapped, got)
				}
				seen[v.Name] = max(seen[v.Name], int64(got))
			}
		}
	}
}
