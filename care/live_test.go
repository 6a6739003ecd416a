package care_test

import (
	"context"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
)

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
	for _, tc := range []struct {
		name string
		call func(g care.Service) error
		code care.Code
	}{
		{"q too long", func(g care.Service) error { _, err := g.Cases(ctx, alice, care.CaseQuery{Q: long}); return err }, care.CodeTooLarge},
		{"q with control characters", func(g care.Service) error {
			_, err := g.Cases(ctx, alice, care.CaseQuery{Q: "a\x00b"})
			return err
		}, care.CodeInvalidArgument},
		{"view id too long", func(g care.Service) error {
			_, err := g.Cases(ctx, alice, care.CaseQuery{SavedView: strings.Repeat("1", care.MaxViewNameChars+1)})
			return err
		}, care.CodeTooLarge},
		{"customers q too long", func(g care.Service) error { _, err := g.Customers(ctx, alice, long, 0); return err }, care.CodeTooLarge},
		{"customers limit", func(g care.Service) error { _, err := g.Customers(ctx, alice, "a", care.MaxPageLimit+1); return err }, care.CodeInvalidArgument},
		{"customers as integration", func(g care.Service) error { _, err := g.Customers(ctx, community, "a", 0); return err }, care.CodeForbidden},
		{"counts as integration", func(g care.Service) error { _, err := g.ViewCounts(ctx, community); return err }, care.CodeForbidden},
		{"views as integration", func(g care.Service) error { _, err := g.SavedViews(ctx, community); return err }, care.CodeForbidden},
		{"create as integration", func(g care.Service) error {
			_, err := g.CreateView(ctx, community, care.SavedView{Name: "x"})
			return err
		}, care.CodeForbidden},
		{"view name too long", func(g care.Service) error {
			_, err := g.CreateView(ctx, alice, care.SavedView{Name: strings.Repeat("n", care.MaxViewNameChars+1)})
			return err
		}, care.CodeTooLarge},
		{"view without name", func(g care.Service) error { _, err := g.CreateView(ctx, alice, care.SavedView{Name: "  "}); return err }, care.CodeInvalidArgument},
		{"view q too long", func(g care.Service) error {
			_, err := g.CreateView(ctx, alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Q: long}})
			return err
		}, care.CodeTooLarge},
		{"view unknown priority", func(g care.Service) error {
			_, err := g.CreateView(ctx, alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Priority: "asap"}})
			return err
		}, care.CodeInvalidArgument},
		{"view unknown sort", func(g care.Service) error {
			_, err := g.CreateView(ctx, alice, care.SavedView{Name: "x", Sort: "random"})
			return err
		}, care.CodeInvalidArgument},
		{"agent's view of spam", func(g care.Service) error {
			_, err := g.CreateView(ctx, alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Status: care.StatusSpam}})
			return err
		}, care.CodeForbidden},
		{"view platform too long", func(g care.Service) error {
			_, err := g.CreateView(ctx, alice, care.SavedView{Name: "x", Filters: care.ViewFilters{Platform: strings.Repeat("p", 300)}})
			return err
		}, care.CodeTooLarge},
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
		Filters: care.ViewFilters{Status: care.StatusOpen, Assignee: "none", Q: "refund"}, Sort: "priority_desc"})
	if err != nil || v.Owner != "alice" || reached != 2 {
		t.Fatalf("CreateView: %+v %v (reached %d)", v, err, reached)
	}
}
