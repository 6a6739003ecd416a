package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The counts of every view in one call equal what the views list.
func TestViewCounts(t *testing.T) {
	e := viewFixture(t)
	for _, user := range []string{"alice", "bob", "sue"} {
		counts := e.must(http.StatusOK, "GET", "/api/v1/views/counts", user, nil)
		if len(counts) < 7 {
			t.Fatalf("%s: counts %v", user, counts)
		}
		for view, n := range counts {
			listed := ids(e.must(http.StatusOK, "GET", "/api/v1/cases?limit=500&view="+view, user, nil))
			if int(n.(float64)) != len(listed) {
				t.Errorf("%s: count of %s is %v, the view lists %d", user, view, n, len(listed))
			}
		}
		if _, ok := counts["spam"]; ok != (user == "sue") {
			t.Errorf("%s: spam count present %v", user, ok)
		}
	}
	if r := e.do("GET", "/api/v1/views/counts", "community", nil); r.status != http.StatusForbidden {
		t.Fatalf("counts as integration: %d", r.status)
	}
}

// q= finds cases by a word of a message (the last word as a prefix, any
// case) within the view; customers are searched by name and username.
func TestSearch(t *testing.T) {
	e := viewFixture(t)
	m := msg("refund-1", "c10", "brand", e.clock.Now())
	m["text"] = "Still waiting for my Refund, order 778"
	e.must(http.StatusOK, "POST", "/api/v1/messages", "community", m)
	for _, tc := range []struct {
		user, query string
		want        []int64
	}{
		{"sue", "q=refund", []int64{10}},
		{"sue", "q=REFU", []int64{10}},
		{"sue", "q=waiting+refund", []int64{10}},
		{"sue", "q=refund+parcel", nil},
		{"bob", "view=inbox&q=refund", []int64{10}},
		{"alice", "view=inbox&q=refund", nil},
		{"sue", "q=joe&platform=facebook", []int64{11}},
	} {
		got := ids(e.must(http.StatusOK, "GET", "/api/v1/cases?"+tc.query, tc.user, nil))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %s: %v, want %v", tc.user, tc.query, got, tc.want)
		}
	}
	list := e.must(http.StatusOK, "GET", "/api/v1/customers?q=c1&limit=5", "alice", nil)["customers"].([]any)
	if len(list) == 0 || len(list) > 5 {
		t.Fatalf("customers q=c1: %v", list)
	}
	for _, c := range list {
		if u := c.(map[string]any)["username"].(string); u[:3] != "@c1" {
			t.Errorf("customer %s matches q=c1", u)
		}
	}
	for _, tc := range []struct {
		user, path string
		status     int
		code       string
	}{
		{"alice", "/api/v1/customers?limit=0", 400, "invalid_argument"},
		{"alice", "/api/v1/customers?limit=x", 400, "invalid_argument"},
		{"community", "/api/v1/customers?q=c1", 403, "forbidden"},
		{"alice", "/api/v1/cases?q=" + strings.Repeat("a", 300), 400, "too_large"},
	} {
		if r := e.do("GET", tc.path, tc.user, nil); r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s %.40s: %d %s", tc.user, tc.path, r.status, r.raw)
		}
	}
}

// Saved views: created from filters, listed for their owner (and everyone
// when shared) with counts, used as view=, deleted by owner or supervisor.
func TestSavedViews(t *testing.T) {
	e := viewFixture(t)
	shared := e.must(http.StatusCreated, "POST", "/api/v1/views", "alice",
		map[string]any{"name": "Urgent", "filters": map[string]any{"priority": "urgent"}, "sort": "created_asc", "shared": true})
	own := e.must(http.StatusCreated, "POST", "/api/v1/views", "bob",
		map[string]any{"name": "Mine, done", "filters": map[string]any{"assignee": "bob", "status": "done"}})
	sharedID, ownID := shared["id"].(string), own["id"].(string)
	if shared["owner"] != "alice" || shared["name"] != "Urgent" || shared["created_at"] == nil {
		t.Fatalf("created view: %v", shared)
	}
	if got := ids(e.must(200, "GET", "/api/v1/cases?view="+sharedID, "bob", nil)); !slices.Equal(got, []int64{4}) {
		t.Fatalf("shared view lists %v", got)
	}
	if got := ids(e.must(200, "GET", "/api/v1/cases?view="+ownID, "bob", nil)); !slices.Equal(got, []int64{8}) {
		t.Fatalf("own view lists %v", got)
	}
	views := func(user string) map[string]float64 {
		out := map[string]float64{}
		for _, v := range e.must(200, "GET", "/api/v1/views", user, nil)["views"].([]any) {
			m := v.(map[string]any)
			out[m["id"].(string)] = m["count"].(float64)
		}
		return out
	}
	if got := views("bob"); got[sharedID] != 1 || got[ownID] != 1 || len(got) != 2 {
		t.Fatalf("bob's views: %v", got)
	}
	if got := views("alice"); len(got) != 1 || got[sharedID] != 1 {
		t.Fatalf("alice's views: %v", got)
	}
	if r := e.do("GET", "/api/v1/cases?view="+ownID, "alice", nil); r.status == http.StatusOK {
		t.Fatalf("alice used bob's private view: %s", r.raw)
	}
	for _, tc := range []struct {
		name, body string
		code       string
	}{
		{"unknown field", `{"name":"x","id":"7"}`, "invalid_json"},
		{"unknown filter", `{"name":"x","filters":{"colour":"red"}}`, "invalid_json"},
		{"no name", `{"filters":{}}`, "invalid_argument"},
		{"bad status", `{"name":"x","filters":{"status":"closed"}}`, "invalid_argument"},
		{"bad sort", `{"name":"x","sort":"random"}`, "invalid_argument"},
	} {
		if r := e.do("POST", "/api/v1/views", "alice", tc.body); r.status != 400 || r.errCode() != tc.code {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
	if r := e.do("POST", "/api/v1/views", "community", `{"name":"x"}`); r.status != http.StatusForbidden {
		t.Errorf("integration creates a view: %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/views/"+sharedID, "bob", nil); r.status != http.StatusForbidden {
		t.Fatalf("bob deletes alice's view: %d %s", r.status, r.raw)
	}
	e.must(http.StatusNoContent, "DELETE", "/api/v1/views/"+sharedID, "sue", nil)
	e.must(http.StatusNoContent, "DELETE", "/api/v1/views/"+ownID, "bob", nil)
	if r := e.do("DELETE", "/api/v1/views/"+ownID, "bob", nil); r.status != http.StatusNotFound {
		t.Fatalf("deleting twice: %d", r.status)
	}
	if got := views("bob"); len(got) != 0 {
		t.Fatalf("views after delete: %v", got)
	}
}

// A saved view keeps sla=: it lists the breached (or due soon) cases as
// the time passes, its count in GET /api/v1/views equals that listing, and
// a filters.sla the query's sla= refuses is refused with the same words.
func TestSavedViewsWithSLA(t *testing.T) {
	e := newSLAEnv(t)
	slow := e.escalate("sla-1", "amy", "brand")
	fast := e.escalate("sla-2", "ben", "brand")
	e.must(http.StatusOK, "PATCH", path("/api/v1/cases/%d", fast), "sue", map[string]any{"priority": "urgent"})
	breached := e.must(http.StatusCreated, "POST", "/api/v1/views", "alice",
		map[string]any{"name": "Breached", "filters": map[string]any{"sla": "breached"}})["id"].(string)
	dueSoon := e.must(http.StatusCreated, "POST", "/api/v1/views", "alice",
		map[string]any{"name": "Due soon", "filters": map[string]any{"sla": "due_soon", "q": "amy"}, "shared": true})["id"].(string)
	views := func(user string) map[string]any {
		out := map[string]any{}
		for _, v := range e.must(http.StatusOK, "GET", "/api/v1/views", user, nil)["views"].([]any) {
			m := v.(map[string]any)
			out[m["id"].(string)] = m
		}
		return out
	}
	check := func(when string, want map[string][]int64) {
		t.Helper()
		got := views("alice")
		for id, cases := range want {
			v := got[id].(map[string]any)
			listed := ids(e.must(http.StatusOK, "GET", "/api/v1/cases?view="+id, "alice", nil))
			if !slices.Equal(listed, cases) {
				t.Errorf("%s: view %s lists %v, want %v", when, v["name"], listed, cases)
			}
			if v["count"] != float64(len(cases)) || v["filters"].(map[string]any)["sla"] == "" {
				t.Errorf("%s: view %v, want the count %d", when, v, len(cases))
			}
		}
	}
	check("at first", map[string][]int64{breached: nil, dueSoon: nil})
	// 50 minutes on: ben's first response (10 minutes) is overdue but not
	// yet recorded as breached, amy's is due within a quarter of its hour.
	e.clock.Advance(50 * time.Minute)
	e.escalate("sla-3", "amy-calm", "brand") // due in an hour: not soon
	check("overdue", map[string][]int64{breached: nil, dueSoon: {slow}})
	if _, err := e.store.BreachSLAs(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("breached", map[string][]int64{breached: {fast}, dueSoon: {slow}})
	if got := views("bob"); len(got) != 1 || got[dueSoon].(map[string]any)["count"] != float64(1) {
		t.Errorf("bob sees the shared view as %v", got)
	}

	query := e.do("GET", "/api/v1/cases?sla=late", "alice", nil)
	saved := e.do("POST", "/api/v1/views", "alice", `{"name":"x","filters":{"sla":"late"}}`)
	if saved.status != http.StatusBadRequest || saved.errCode() != "invalid_argument" || !equalJSON(saved.body, query.body) {
		t.Errorf("filters.sla late: %d %s, want as sla=late: %s", saved.status, saved.raw, query.raw)
	}
}

// Every case says who its customer is.
func TestCaseCustomerSummary(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("m1", "c1", "brand")
	c := e.must(200, "GET", path("/api/v1/cases/%d", id), "sue", nil)["customer"].(map[string]any)
	if c["name"] != "Joe Doe" || c["username"] != "@c1" || c["platform"] != "twitter" || c["id"] == nil {
		t.Fatalf("customer of case: %v", c)
	}
	list := e.must(200, "GET", "/api/v1/cases", "sue", nil)["cases"].([]any)
	if list[0].(map[string]any)["customer"] == nil {
		t.Fatalf("listing without customer: %v", list[0])
	}
}
