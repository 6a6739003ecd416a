package care

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// The live console's side of the store (SPEC §14): counts of every default
// view in one call, search, and saved views.

// CustomerSummary is what a case's JSON says of its customer, so a listing
// needs no request per row.
type CustomerSummary struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Platform string `json:"platform"`
}

// Summary is c as a case's JSON shows it.
func (c Customer) Summary() *CustomerSummary {
	return &CustomerSummary{ID: c.ID, Name: c.Name(), Username: c.Username, Platform: c.Platform}
}

// ViewFilters are the filters a saved view keeps: those of CaseQuery, a
// search and an SLA filter ("", SLAFilterBreached or SLAFilterDueSoon).
type ViewFilters struct {
	Status    Status   `json:"status"`
	Priority  Priority `json:"priority"`
	Assignee  string   `json:"assignee"`
	Platform  string   `json:"platform"`
	ProfileID string   `json:"profile_id"`
	Q         string   `json:"q"`
	SLA       string   `json:"sla"`
}

// SavedView is a user's own case view: filters and a sort over every case
// the user may see, private or shared with every agent.
type SavedView struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Owner     string      `json:"owner"`
	Filters   ViewFilters `json:"filters"`
	Sort      string      `json:"sort"`
	Shared    bool        `json:"shared"`
	CreatedAt time.Time   `json:"created_at"`
}

// SavedViewCount is a saved view and how many cases it lists now. Counting
// stops at MaxSavedViewCount; CountCapped says it did.
type SavedViewCount struct {
	SavedView
	Count       int64 `json:"count"`
	CountCapped bool  `json:"count_capped"`
}

// Bounds of search and saved views.
const (
	MaxQueryChars     = 200    // characters of a search (q)
	MaxViewNameChars  = 100    // characters of a saved view's name
	MaxSavedViews     = 100    // saved views one user owns
	MaxSavedViewCount = 10_000 // a saved view's count stops here
)

// Query is the case query a saved view makes: its filters and sort over
// every case the caller sees, paged by q's limit and cursor. A search in
// q narrows the view's own: its words come after the view's.
func (v SavedView) Query(q CaseQuery) CaseQuery {
	f := v.Filters
	return CaseQuery{View: ViewAll, Sort: v.Sort, Limit: q.Limit, Cursor: q.Cursor,
		Status: f.Status, Priority: f.Priority, Assignee: f.Assignee, Platform: f.Platform, ProfileID: f.ProfileID,
		Q: strings.TrimSpace(f.Q + " " + q.Q), SLA: f.SLA}
}

// Visible reports whether actor may use v: its owner, or anyone when it is
// shared.
func (v SavedView) Visible(actor User) bool { return v.Shared || v.Owner == actor.ID }

// CheckQuery refuses a search longer than MaxQueryChars or not UTF-8.
func CheckQuery(q string) error {
	return checkLine("q", q, MaxQueryChars, false)
}

// CheckSavedView validates a new saved view for actor and fills its
// defaults: a name, filters and a sort a case query accepts.
func CheckSavedView(actor User, v *SavedView) error {
	if err := CheckActsAsAgent(actor); err != nil {
		return err
	}
	v.Name = strings.TrimSpace(v.Name)
	if v.Name == "" {
		return Errorf(CodeInvalidArgument, "name is required")
	}
	if err := checkLine("name", v.Name, MaxViewNameChars, false); err != nil {
		return err
	}
	v.Filters.Q = strings.TrimSpace(v.Filters.Q)
	if err := CheckQuery(v.Filters.Q); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"filters.assignee", v.Filters.Assignee}, {"filters.platform", v.Filters.Platform}, {"filters.profile_id", v.Filters.ProfileID},
	} {
		if err := checkLine(f.name, f.v, DefaultLimits().IDBytes, true); err != nil {
			return err
		}
	}
	if _, err := PlanQuery(actor, v.Query(CaseQuery{})); err != nil {
		return err
	}
	v.Owner = actor.ID
	return nil
}

// CheckViewCounts refuses users who read no views.
func CheckViewCounts(actor User) error { return CheckReadsCustomers(actor) }

func (g guard) ViewCounts(ctx context.Context, actor User) (map[View]int64, error) {
	if err := CheckViewCounts(actor); err != nil {
		return nil, err
	}
	return g.svc.ViewCounts(ctx, actor)
}

func (g guard) Customers(ctx context.Context, actor User, q string, limit int) ([]Customer, error) {
	if err := CheckReadsCustomers(actor); err != nil {
		return nil, err
	}
	if err := CheckQuery(q); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxPageLimit {
		return nil, Errorf(CodeInvalidArgument, "limit must be between 1 and %d", MaxPageLimit)
	}
	out, err := g.svc.Customers(ctx, actor, q, limit)
	return out[:min(len(out), MaxPageLimit)], err
}

func (g guard) CreateView(ctx context.Context, actor User, v SavedView) (SavedView, error) {
	if err := CheckSavedView(actor, &v); err != nil {
		return SavedView{}, err
	}
	return g.svc.CreateView(ctx, actor, v)
}

func (g guard) SavedViews(ctx context.Context, actor User) ([]SavedViewCount, error) {
	if err := CheckReadsCustomers(actor); err != nil {
		return nil, err
	}
	return g.svc.SavedViews(ctx, actor)
}

func (g guard) DeleteView(ctx context.Context, actor User, id string) error {
	if err := CheckActsAsAgent(actor); err != nil {
		return err
	}
	if err := checkLine("id", id, MaxViewNameChars, true); err != nil {
		return err
	}
	return g.svc.DeleteView(ctx, actor, id)
}

// checkCaseQuery bounds a case query's search and saved view id.
func checkCaseQuery(q CaseQuery) error {
	if err := CheckQuery(q.Q); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(q.SavedView); n > MaxViewNameChars {
		return tooLarge("view", n, "characters", MaxViewNameChars)
	}
	return nil
}
