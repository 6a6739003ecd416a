package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/carebridge/carebridge/care/live"
)

// GET /api/v1/events?case_id= (the embedded case page) streams one case's
// events to any agent who may read it, also a case assigned to someone
// else, and nothing of other cases; it resumes within the case, counts
// against the per-user cap, and refuses a bad or unknown case.
func TestEventsOfOneCase(t *testing.T) {
	e := newLiveEnv(t, live.Options{MaxPerUser: 2})
	bobs := int(e.escalate("m1", "c1", "brand"))
	e.must(http.StatusOK, "PATCH", path("/api/v1/cases/%d", bobs), "bob", map[string]any{"assignee": "bob"})
	q := path("?case_id=%d", bobs)
	s := e.openStreamAt(q, "alice", "")

	other := int(e.escalate("m2", "c2", "brand")) // new and unassigned: alice's inbox feed would tell her
	e.ingest("m3", "c1")
	first := s.expect(added, bobs)[0]
	e.must(http.StatusOK, "PATCH", path("/api/v1/cases/%d", other), "alice", map[string]any{"priority": "high"})
	e.must(http.StatusOK, "PATCH", path("/api/v1/cases/%d", bobs), "bob", map[string]any{"status": "pending"})
	if ev := s.expect(updated, bobs)[0]; ev.data["status"] != "pending" || ev.data["assignee"] != "bob" {
		t.Fatalf("the case's update: %v", ev.data)
	}
	s.close()
	e.ingest("m4", "c2")
	e.ingest("m5", "c1")
	again := e.openStreamAt(q, "alice", first.id) // resumes with the case's events only
	again.expect(updated, bobs, added, bobs)

	// The case stream and one other fill alice's cap of two.
	e.openStream("alice", "")
	res, cancel := e.streamRequestAt(q, "alice", "")
	cancel()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third stream: %d, want 429", res.StatusCode)
	}
	for _, tc := range []struct {
		query, user string
		want        int
	}{
		{"?case_id=x", "sue", http.StatusBadRequest},
		{"?case_id=0", "sue", http.StatusBadRequest},
		{"?case_id=999", "sue", http.StatusNotFound},
		{q, "community", http.StatusForbidden},
		{q, "", http.StatusUnauthorized},
	} {
		res, cancel := e.streamRequestAt(tc.query, tc.user, "")
		cancel()
		if res.StatusCode != tc.want {
			t.Errorf("events%s as %q: %d, want %d", tc.query, tc.user, res.StatusCode, tc.want)
		}
	}
}
