package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// viewFixture builds twelve cases in known states; see the comments.
func viewFixture(t *testing.T) *env {
	e := newEnv(t)
	t0 := e.clock.Now()
	type spec struct {
		customer, platform string
		lastMsg            time.Duration
		patch              map[string]any
	}
	specs := []spec{
		{"c1", "twitter", 0, nil}, // 1 new, unassigned
		{"c2", "twitter", 5 * time.Hour, map[string]any{"assignee": "alice", "priority": "high"}},                        // 2 open alice
		{"c3", "twitter", 1 * time.Hour, map[string]any{"assignee": "alice", "priority": "low"}},                         // 3 open alice
		{"c4", "twitter", 3 * time.Hour, map[string]any{"assignee": "alice", "priority": "urgent", "status": "pending"}}, // 4 pending alice
		{"c5", "twitter", 2 * time.Hour, map[string]any{"assignee": "alice", "status": "pending"}},                       // 5 pending alice
		{"c6", "twitter", 0, map[string]any{"assignee": "alice", "status": "on_hold"}},                                   // 6 on_hold alice
		{"c7", "twitter", 0, map[string]any{"assignee": "alice", "status": "done"}},                                      // 7 done alice
		{"c8", "twitter", 0, map[string]any{"assignee": "bob", "status": "done"}},                                        // 8 done bob
		{"c9", "twitter", 0, map[string]any{"assignee": "bob", "status": "spam"}},                                        // 9 spam
		{"c10", "twitter", 4 * time.Hour, map[string]any{"assignee": "bob"}},                                             // 10 open bob
		{"c11", "facebook", 0, nil}, // 11 new, facebook
		{"c12", "twitter", 0, nil},  // 12 deleted
	}
	for i, s := range specs {
		m := msg(path("v-%d", i+1), s.customer, "brand", t0.Add(s.lastMsg))
		m["platform"] = s.platform
		b := e.must(http.StatusCreated, "POST", "/api/v1/cases", "community", map[string]any{"message": m})
		if id := caseID(b["case"]); id != int64(i+1) {
			t.Fatalf("case id %d, want %d", id, i+1)
		}
		if s.patch != nil {
			e.must(200, "PATCH", path("/api/v1/cases/%d", i+1), "sue", s.patch)
		}
		e.clock.Advance(time.Minute)
	}
	// Notes mentioning alice: on case 3, then on case 10, then case 3 again
	// (its latest mention moves it to the front).
	for _, id := range []int{3, 10} {
		e.must(201, "POST", path("/api/v1/cases/%d/messages", id), "bob", map[string]any{"kind": "note", "text": "@alice", "mentions": []string{"alice"}})
		e.clock.Advance(time.Minute)
	}
	e.must(201, "POST", "/api/v1/cases/12/messages", "bob", map[string]any{"kind": "note", "text": "deleted cases leave mentions", "mentions": []string{"alice"}})
	e.must(200, "DELETE", "/api/v1/cases/12", "bob", nil)
	return e
}

func TestViews(t *testing.T) {
	e := viewFixture(t)
	for _, tc := range []struct {
		user, query string
		want        []int64
	}{
		{"sue", "view=inbox", []int64{1, 2, 3, 4, 5, 6, 10, 11}},
		{"alice", "view=inbox", []int64{2, 3, 4, 5, 6}},
		{"bob", "view=inbox", []int64{10}},
		{"sue", "view=new", []int64{1, 11}},
		{"alice", "view=new", []int64{1, 11}},
		{"alice", "view=my_open", []int64{2, 3}}, // last customer message, newest first
		{"bob", "view=my_open", []int64{10}},
		{"sue", "view=my_open", nil},
		{"alice", "view=my_pending", []int64{5, 4}}, // oldest first
		{"alice", "view=my_on_hold", []int64{6}},
		{"sue", "view=done", []int64{8, 7}}, // created, newest first
		{"alice", "view=done", []int64{7}},
		{"bob", "view=done", []int64{8}},
		{"alice", "view=my_mentions", []int64{10, 3}},
		{"bob", "view=my_mentions", nil},
		{"sue", "view=spam", []int64{9}},
		// Sort overrides.
		{"sue", "view=inbox&sort=priority_desc", []int64{4, 2, 1, 5, 6, 10, 11, 3}},
		{"sue", "view=inbox&sort=priority_asc", []int64{3, 11, 10, 6, 5, 1, 2, 4}},
		{"sue", "view=inbox&sort=created_desc", []int64{11, 10, 6, 5, 4, 3, 2, 1}},
		{"sue", "view=inbox&sort=last_message_desc", []int64{2, 10, 4, 5, 3, 11, 6, 1}},
		{"alice", "view=my_mentions&sort=created_asc", []int64{3, 10}},
		// Filters.
		{"sue", "view=inbox&platform=facebook", []int64{11}},
		{"sue", "view=inbox&priority=high", []int64{2}},
		{"sue", "view=inbox&assignee=alice", []int64{2, 3, 4, 5, 6}},
		{"sue", "view=inbox&assignee=none", []int64{1, 11}},
		{"sue", "view=inbox&status=pending", []int64{4, 5}},
		{"sue", "view=inbox&status=done", nil},
		{"sue", "view=inbox&profile_id=brand&platform=twitter&priority=medium", []int64{1, 5, 6, 10}},
		{"sue", "view=inbox&profile_id=nope", nil},
		{"alice", "view=inbox&assignee=bob", nil},
		{"alice", "view=my_mentions&assignee=bob", []int64{10}},
		// No view: everything the role sees but deleted, newest first.
		{"sue", "", []int64{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"alice", "", []int64{11, 10, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"sue", "status=deleted", []int64{12}},
	} {
		t.Run(tc.user+"?"+tc.query, func(t *testing.T) {
			got := ids(e.must(200, "GET", "/api/v1/cases?"+tc.query, tc.user, nil))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, q := range []string{"view=spam", "status=spam", "view=inbox&status=spam"} {
		if r := e.do("GET", "/api/v1/cases?"+q, "alice", nil); r.status != 403 {
			t.Errorf("agent %s: %d %s", q, r.status, r.raw)
		}
	}
}

func TestViewPaging(t *testing.T) {
	e := viewFixture(t)
	for _, tc := range []struct {
		user, query string
		limit       int
	}{
		{"sue", "view=inbox", 3},
		{"sue", "view=inbox&sort=last_message_desc", 3},
		{"sue", "view=inbox&sort=priority_desc", 2},
		{"sue", "view=inbox&sort=priority_asc", 5},
		{"sue", "", 4},
		{"alice", "view=my_mentions", 1},
		{"alice", "view=my_mentions&sort=created_desc", 1},
		{"sue", "view=inbox&platform=twitter", 2},
	} {
		t.Run(tc.user+"?"+tc.query, func(t *testing.T) {
			whole := ids(e.must(200, "GET", "/api/v1/cases?"+tc.query, tc.user, nil))
			var paged []int64
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(whole)+1 {
					t.Fatal("paging does not end")
				}
				q := path("/api/v1/cases?%s&limit=%d", tc.query, tc.limit)
				if cursor != "" {
					q += "&cursor=" + cursor
				}
				b := e.must(200, "GET", q, tc.user, nil)
				page := ids(b)
				if len(page) > tc.limit {
					t.Fatalf("page of %d over limit %d", len(page), tc.limit)
				}
				paged = append(paged, page...)
				next, _ := b["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(paged, whole) {
				t.Fatalf("paged %v, whole %v", paged, whole)
			}
		})
	}
	// A cursor of one sort order is refused by another.
	b := e.must(200, "GET", "/api/v1/cases?view=inbox&limit=1", "sue", nil)
	cur := b["next_cursor"].(string)
	if r := e.do("GET", "/api/v1/cases?view=inbox&sort=priority_desc&cursor="+cur, "sue", nil); r.status != 400 {
		t.Fatalf("foreign cursor: %d", r.status)
	}
}

func TestViewsFollowChanges(t *testing.T) {
	e := viewFixture(t)
	// Moving case 2 from alice to bob moves it between their views.
	e.must(200, "PATCH", "/api/v1/cases/2", "alice", map[string]any{"assignee": "bob"})
	if got := ids(e.must(200, "GET", "/api/v1/cases?view=my_open", "alice", nil)); !slices.Equal(got, []int64{3}) {
		t.Fatalf("alice my_open: %v", got)
	}
	if got := ids(e.must(200, "GET", "/api/v1/cases?view=my_open", "bob", nil)); !slices.Equal(got, []int64{2, 10}) {
		t.Fatalf("bob my_open: %v", got)
	}
	// A customer message moves case 3 to the front of alice's my_open.
	e.clock.Advance(10 * time.Hour)
	e.must(200, "POST", "/api/v1/messages", "community", msg("late", "c3", "brand", e.clock.Now()))
	e.must(200, "PATCH", "/api/v1/cases/5", "alice", map[string]any{"status": "open"})
	if got := ids(e.must(200, "GET", "/api/v1/cases?view=my_open", "alice", nil)); !slices.Equal(got, []int64{3, 5}) {
		t.Fatalf("alice my_open after message: %v", got)
	}
	// Marking spam takes a case out of the inbox and into spam.
	e.must(200, "PATCH", "/api/v1/cases/1", "alice", map[string]any{"status": "spam"})
	if got := ids(e.must(200, "GET", "/api/v1/cases?view=spam", "sue", nil)); !slices.Equal(got, []int64{9, 1}) {
		t.Fatalf("spam: %v", got)
	}
	if got := ids(e.must(200, "GET", "/api/v1/cases?view=new", "sue", nil)); !slices.Equal(got, []int64{11}) {
		t.Fatalf("new: %v", got)
	}
}
