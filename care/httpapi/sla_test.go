package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The case JSON carries its SLA; sla= and sort=sla_due_asc list through
// the API; a bad value is 400; a breach is counted by policy and kind.
func TestSLAThroughTheAPI(t *testing.T) {
	e := newSLAEnv(t)
	created := e.clock.Now().UTC()
	slow := e.escalate("sla-1", "amy", "brand")
	e.clock.Advance(time.Minute)
	fast := e.escalate("sla-2", "ben", "brand")
	e.must(http.StatusOK, "PATCH", path("/api/v1/cases/%d", fast), "sue", map[string]any{"priority": "urgent"})
	quiet := e.escalate("sla-3", "cat", "brand")
	e.must(http.StatusOK, "PATCH", path("/api/v1/cases/%d", quiet), "sue", map[string]any{"assignee": "alice", "status": "on_hold"})

	got := e.must(http.StatusOK, "GET", path("/api/v1/cases/%d", slow), "sue", nil)["sla"].(map[string]any)
	want := map[string]any{"policy": "standard", "first_response_due": created.Add(time.Hour).Format(time.RFC3339),
		"next_response_due": nil, "resolution_due": created.Add(24 * time.Hour).Format(time.RFC3339), "breached": []any{},
		// sla=due_soon's rule: the last quarter of the first response's hour.
		"due_soon_at": created.Add(45 * time.Minute).Format(time.RFC3339)}
	for k, v := range want {
		if !equalJSON(got[k], v) {
			t.Errorf("sla.%s = %v, want %v", k, got[k], v)
		}
	}

	// ben's case, urgent since a minute in, breaches its first response.
	reg := prometheus.NewRegistry()
	watch, err := bolt.NewSLAWatcher(e.store, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "carebridge_sla_breaches_total"); n != 6 {
		t.Errorf("%d breach series before any breach, want 6 (2 policies × 3 kinds)", n)
	}
	e.clock.Advance(15 * time.Minute)
	if b, err := watch.Check(context.Background()); err != nil || len(b) != 1 {
		t.Fatalf("breaches %v %v", b, err)
	}
	if v := breachCount(t, reg, "urgent", "first_response"); v != 1 {
		t.Errorf("carebridge_sla_breaches_total{urgent,first_response} = %v", v)
	}
	got = e.must(http.StatusOK, "GET", path("/api/v1/cases/%d", fast), "sue", nil)["sla"].(map[string]any)
	if !equalJSON(got["breached"], []any{"first_response"}) {
		t.Errorf("breached = %v", got["breached"])
	}
	// The breached first response is no longer watched: the resolution's
	// last hour (a quarter of 4) is when it is due soon next.
	if want := created.Add(time.Minute + 3*time.Hour).Format(time.RFC3339); !equalJSON(got["due_soon_at"], want) {
		t.Errorf("due_soon_at = %v after the breach, want %s", got["due_soon_at"], want)
	}
	paused := e.must(http.StatusOK, "GET", path("/api/v1/cases/%d", quiet), "sue", nil)["sla"].(map[string]any)
	if _, ok := paused["due_soon_at"]; !ok && paused["paused_at"] == nil {
		t.Errorf("the on-hold case's SLA is not paused: %v", paused)
	} else if ok {
		t.Errorf("a paused SLA has due_soon_at %v", paused["due_soon_at"])
	}

	for q, want := range map[string][]int64{
		"sla=breached":     {fast},
		"sla=due_soon":     {},
		"sort=sla_due_asc": {fast, slow, quiet}, // the paused case has no running due time
	} {
		list := ids(e.must(http.StatusOK, "GET", "/api/v1/cases?"+q, "sue", nil))
		if !slices.Equal(list, want) && !(len(list) == 0 && len(want) == 0) {
			t.Errorf("%s lists %v, want %v", q, list, want)
		}
	}
	e.clock.Advance(35 * time.Minute) // amy's first response is due within 15 minutes
	if list := ids(e.must(http.StatusOK, "GET", "/api/v1/cases?view=inbox&sla=due_soon", "sue", nil)); !slices.Equal(list, []int64{slow}) {
		t.Errorf("sla=due_soon lists %v, want [%d]", list, slow)
	}
	for _, q := range []string{"sla=late", "sla=BREACHED", "sort=sla_due_desc"} {
		if r := e.do("GET", "/api/v1/cases?"+q, "sue", nil); r.status != http.StatusBadRequest || r.errCode() != "invalid_argument" {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
}

// newSLAEnv is newEnv with two SLA policies: "urgent" (urgent cases: a
// first response within 10 minutes) and "standard" (every other case:
// within an hour).
func newSLAEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: testworld.NewClock(), sla: care.SLAPolicies{
		{Name: "urgent", Priorities: []care.Priority{care.PriorityUrgent}, FirstResponse: 10 * time.Minute, NextResponse: time.Hour, Resolution: 4 * time.Hour},
		{Name: "standard", FirstResponse: time.Hour, NextResponse: 2 * time.Hour, Resolution: 24 * time.Hour},
	}}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// breachCount reads carebridge_sla_breaches_total{policy,kind} from reg.
func breachCount(t *testing.T, reg *prometheus.Registry, policy, kind string) float64 {
	t.Helper()
	v, ok := simtest.Metric(t, reg, "carebridge_sla_breaches_total", map[string]string{"policy": policy, "kind": kind})
	if !ok {
		t.Fatalf("no carebridge_sla_breaches_total{policy=%q,kind=%q}", policy, kind)
	}
	return v
}
