package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/connector/testworld"
)

// routingEnv is the test world's store and API routing least_busy to alice
// (skills es, capacity 1) and bob (capacity 2).
func routingEnv(t *testing.T) *env {
	t.Helper()
	r := care.Routing{Mode: care.RoutingLeastBusy, Agents: []care.RoutingAgent{
		{ID: "alice", Skills: []string{"es"}, Capacity: 1}, {ID: "bob", Capacity: 2}}}
	w := testworld.New(t, testworld.WithStore(func(o *bolt.Options) { o.Routing = r }))
	return &env{t: t, world: w, store: w.Store, srv: w.Server, reg: w.Registry, clock: w.Clock, dir: w.Dir}
}

// GET /api/v1/me shows a routed agent's skills, capacity, availability and
// load; PATCH /api/v1/me switches availability, and becoming available
// takes what waits at once.
func TestMeAvailability(t *testing.T) {
	e := routingEnv(t)
	me := e.must(http.StatusOK, "GET", "/api/v1/me", "alice", nil)
	if me["id"] != "alice" || me["available"] != false || me["capacity"] != float64(1) || me["load"] != float64(0) ||
		len(me["skills"].([]any)) != 1 {
		t.Fatalf("me before: %v", me)
	}
	waitingCase := e.escalate("m1", "joe", "brand")
	if c := e.must(http.StatusOK, "GET", path("/api/v1/cases/%d", waitingCase), "sue", nil); c["assignee"] != nil || c["status"] != "new" {
		t.Fatalf("a case went to %v with nobody available", c["assignee"])
	}
	me = e.must(http.StatusOK, "PATCH", "/api/v1/me", "alice", map[string]any{"available": true})
	if me["available"] != true || me["load"] != float64(1) {
		t.Fatalf("me after switching available: %v, want available with the waiting case (load 1)", me)
	}
	if c := e.must(http.StatusOK, "GET", path("/api/v1/cases/%d", waitingCase), "sue", nil); c["assignee"] != "alice" || c["status"] != "open" {
		t.Fatalf("the waiting case is %v for %v, want open for alice", c["status"], c["assignee"])
	}
	if me := e.must(http.StatusOK, "GET", "/api/v1/me", "alice", nil); me["available"] != true {
		t.Fatalf("availability not kept: %v", me)
	}
	e.must(http.StatusOK, "PATCH", "/api/v1/me", "alice", map[string]any{"available": false})
	if next := e.escalate("m2", "ann", "brand"); e.must(http.StatusOK, "GET", path("/api/v1/cases/%d", next), "sue", nil)["assignee"] != nil {
		t.Fatal("a case went to an agent who switched unavailable")
	}
	// A supervisor is never routed: GET /me is the plain user.
	if me := e.must(http.StatusOK, "GET", "/api/v1/me", "sue", nil); len(me) != 4 {
		t.Fatalf("a supervisor's me %v, want id, name, email and role only", me)
	}
}

// PATCH /api/v1/me: agents only, a boolean available, nothing else.
func TestMeAvailabilityRefusals(t *testing.T) {
	e := routingEnv(t)
	tests := []struct {
		name, user string
		body       any
		status     int
		code       string
	}{
		{"supervisor", "sue", map[string]any{"available": true}, http.StatusForbidden, "forbidden"},
		{"integration", "community", map[string]any{"available": true}, http.StatusForbidden, "forbidden"},
		{"no token", "", map[string]any{"available": true}, http.StatusUnauthorized, "unauthenticated"},
		{"unknown field", "alice", map[string]any{"available": true, "capacity": 9}, http.StatusBadRequest, "invalid_json"},
		{"not a boolean", "alice", map[string]any{"available": "yes"}, http.StatusBadRequest, "invalid_json"},
		{"missing", "alice", map[string]any{}, http.StatusBadRequest, "invalid_argument"},
		{"null", "alice", `{"available":null}`, http.StatusBadRequest, "invalid_argument"},
		{"malformed", "alice", `{"available":`, http.StatusBadRequest, "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("PATCH", "/api/v1/me", tt.user, tt.body)
			if r.status != tt.status || r.errCode() != tt.code {
				t.Fatalf("status %d code %q, want %d %q: %s", r.status, r.errCode(), tt.status, tt.code, r.raw)
			}
		})
	}
	if me := e.must(http.StatusOK, "GET", "/api/v1/me", "alice", nil); me["available"] != false {
		t.Fatalf("a refused switch changed availability: %v", me)
	}
}
