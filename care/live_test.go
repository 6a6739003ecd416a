package care_test

import (
	"context"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
)

// errOf is the error of a call that also returns a value.
func errOf[T any](_ T, err error) error { return err }

// reachStore notes which calls got past the guard.
type reachStore struct {
	care.Service
	reached *int
}

func (r reachStore) Cases(context.Context, care.User, care.CaseQuery) (care.CasePage, error) {
	*r.reached++
	return care.CasePage{}, nil
}

func (r reachStore) ViewCounts(context.Context, care.User) (map[care.View]int64, error) {
	*r.reached++
	return nil, nil
}

func (r reachStore) Customers(context.Context, care.User, string, int) ([]care.Customer, error) {
	*r.reached++
	return nil, nil
}

func (r reachStore) CreateView(_ context.Context, _ care.User, v care.SavedView) (care.SavedView, error) {
	*r.reached++
	return v, nil
}

func (r reachStore) SavedViews(context.Context, care.User) ([]care.SavedViewCount, error) {
	*r.reached++
	return nil, nil
}

func (r reachStore) DeleteView(context.Context, care.User, string) error {
	*r.reached++
	return nil
}

// The guard bounds searches, saved views and their ids, checks a saved
// view's filters like a case query's, and keeps integration users out;
// nothing it refuses reaches the store.
func TestGuardLiveLimits(t *testing.T) {
	ctx := context.Background()
	alice := care.User{ID: "alice", Role: care.RoleAgent}
	community := care.User{ID: "community", Role: care.RoleIntegration}
	long := strings.Repeat("é", care.MaxQueryChars+1)
	cases := func(q care.CaseQuery) func(g care.Service) error {
		return func(g care.Service) error { return errOf(g.Cases(ctx, alice, q)) }
	}
	createView := func(u care.User, v care.SavedView) func(g care.Service) error {
		return func(g care.Service) error { return errOf(g.CreateView(ctx, u, v)) }
	}
	for _, tc := range []struct {
		name string
		call func(g care.Service) error
		code care.Code
	}{
		{"q too long", cases(care.CaseQuery{Q: long}), care.CodeTooLarge},
		{"q with control characters", cases(care.CaseQuery{Q: "a\x00b"}), care.CodeInvalidArgument},
		{"view id too long", cases(care.CaseQuery{SavedView: strings.Repeat("1", care.MaxViewNameChars+1)}), care.CodeTooLarge},
		{"customers q too long", func(g care.Service) error { return errOf(g.Customers(ctx, alice, long, 0)) }, care.CodeTooLarge},
		{"customers limit", func(g care.Service) error { return errOf(g.Customers(ctx, alice, "a", care.MaxPageLimit+1)) }, care.CodeInvalidArgument},
		{"customers as integration", func(g care.Service) error { return errOf(g.Customers(ctx, community, "a", 0)) }, care.CodeForbidden},
		{"counts as integration", func(g care.Service) error { return errOf(g.ViewCounts(ctx, community)) }, care.CodeForbidden},
		{"views as integration", func(g care.Service) error { return errOf(g.SavedViews(ctx, community)) }, care.CodeForbidden},
		{"create as integration", createView(community, care.SavedView{Name: "x"}), care.CodeForbidden},
		{"view name too long", createView(alice, care.SavedView{Name: strings.Repeat("n", care.MaxViewNameChars+1)}), care.CodeTooLarge},
		{"view without name", createView(alice, care.SavedView{Name: "  "}), care.CodeInvalidArgument},
		{"view q too long", createView(alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Q: long}}), care.CodeTooLarge},
		{"view unknown priority", createView(alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Priority: "asap"}}), care.CodeInvalidArgument},
		{"view unknown sort", createView(alice, care.SavedView{Name: "x", Sort: "random"}), care.CodeInvalidArgument},
		{"agent's view of spam", createView(alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Status: care.StatusSpam}}), care.CodeForbidden},
		{"view unknown sla", createView(alice, care.SavedView{Name: "x", Filters: care.ViewFilters{SLA: "late"}}), care.CodeInvalidArgument},
		{"view sla in capitals", createView(alice, care.SavedView{Name: "x", Filters: care.ViewFilters{SLA: "BREACHED"}}), care.CodeInvalidArgument},
		{"view platform too long", createView(alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Platform: strings.Repeat("p", 300)}}), care.CodeTooLarge},
		{"delete as integration", func(g care.Service) error { return g.DeleteView(ctx, community, "1") }, care.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached := 0
			err := tc.call(care.Guard(reachStore{reached: &reached}, care.Policy{}))
			if care.ErrorCode(err) != tc.code || reached != 0 {
				t.Fatalf("%v (store reached %d times), want %s", err, reached, tc.code)
			}
		})
	}
	// At the bounds the calls go through; the view gets its owner.
	reached := 0
	g := care.Guard(reachStore{reached: &reached}, care.Policy{})
	if _, err := g.Cases(ctx, alice, care.CaseQuery{Q: long[:len(long)-2]}); err != nil {
		t.Fatal(err)
	}
	v, err := g.CreateView(ctx, alice, care.SavedView{Name: strings.Repeat("n", care.MaxViewNameChars), Owner: "bob",
		Filters: care.ViewFilters{Status: care.StatusOpen, Assignee: "none", Q: "refund", SLA: care.SLAFilterDueSoon}, Sort: "priority_desc"})
	if err != nil || v.Owner != "alice" || reached != 2 {
		t.Fatalf("CreateView: %+v %v (reached %d)", v, err, reached)
	}
}
