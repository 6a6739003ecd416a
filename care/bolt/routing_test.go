package bolt

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// routingStore opens a store routing to agents (all available) with mode
// and rules, its changes kept by log.
func routingStore(t *testing.T, dir string, log *commitLog, mode care.RoutingMode, rules []care.RoutingRule, agents ...care.RoutingAgent) *Store {
	t.Helper()
	opts := Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers,
		Routing: care.Routing{Mode: mode, Rules: rules, Agents: agents}}
	if log != nil {
		opts.OnCommit = log.onCommit
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, a := range agents {
		if _, err := s.SetAvailable(context.Background(), user(t, a.ID), true); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func agentsOf(capacity int, ids ...string) []care.RoutingAgent {
	out := make([]care.RoutingAgent, len(ids))
	for i, id := range ids {
		out[i] = care.RoutingAgent{ID: id, Capacity: capacity}
	}
	return out
}

// escalateCustomer makes a new case for customer n with fields.
func escalateCustomer(t *testing.T, s *Store, n int, fields map[string]string) care.Case {
	t.Helper()
	return escalateWith(t, s, n, fields, "")
}

// escalateWith makes a new case for customer n with fields and priority
// ("": the default).
func escalateWith(t *testing.T, s *Store, n int, fields map[string]string, prio care.Priority) care.Case {
	t.Helper()
	res, err := s.Escalate(context.Background(), user(t, "community"), care.EscalateInput{Fields: fields, Priority: prio,
		Message: benchMessage(fmt.Sprintf("route-%d", n), n, time.Now().Add(-time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	return res.Case
}

func getStored(t *testing.T, s *Store, id int64) care.Case {
	t.Helper()
	c, err := s.Case(context.Background(), user(t, "sue"), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// 200 concurrent escalations, three agents of capacity 5: no commit ever
// leaves an agent with more than 5 cases, exactly 15 are assigned and the
// rest wait in new; an agent closing a case takes the oldest waiting one.
func TestRoutingNeverOverCapacity(t *testing.T) {
	log := &commitLog{}
	s := routingStore(t, t.TempDir(), log, care.RoutingLeastBusy, nil, agentsOf(5, "alice", "bob", "carol")...)
	ctx := context.Background()
	community := user(t, "community")
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Escalate(ctx, community, care.EscalateInput{
				Message: benchMessage(fmt.Sprintf("burst-%d", i), i, time.Now().Add(-time.Minute))})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("escalation %d: %v", i, err)
		}
	}
	// Replay every committed change: no agent is ever over capacity.
	state := map[int64]care.Case{}
	for _, ch := range waitChanges(t, s, log, 200) {
		state[ch.After.ID] = ch.After
		load := map[string]int{}
		for _, c := range state {
			if c.Assignee != "" && containsStatus(loadStatuses, c.Status) {
				load[c.Assignee]++
			}
		}
		for a, n := range load {
			if n > 5 {
				t.Fatalf("after the change of case %d %s holds %d cases, capacity 5", ch.After.ID, a, n)
			}
		}
	}
	sue := user(t, "sue")
	waitingCases := listAll(t, s, sue, care.CaseQuery{View: care.ViewNew})
	if len(waitingCases) != 185 {
		t.Fatalf("%d cases wait in new, want 185", len(waitingCases))
	}
	for _, id := range []string{"alice", "bob", "carol"} {
		st, err := s.AgentState(ctx, user(t, id))
		if err != nil || st.Load != 5 || !st.Routed || !st.Available {
			t.Fatalf("%s: %+v %v, want routed, available, load 5", id, st, err)
		}
		for _, c := range listAll(t, s, user(t, id), care.CaseQuery{View: care.ViewInbox}) {
			if c.Status != care.StatusOpen {
				t.Errorf("routed case %d is %s, want open (assigning a new case opens it)", c.ID, c.Status)
			}
		}
	}
	if assigned, waits, err := s.RoutingStats(); err != nil || assigned[care.RoutingLeastBusy] != 15 || waits != 185 {
		t.Fatalf("stats assigned %v waiting %d (%v), want 15 least_busy and 185", assigned, waits, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.RoutingCollector())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP carebridge_routing_assignments_total Cases routing assigned to an agent, by routing mode.
# TYPE carebridge_routing_assignments_total counter
carebridge_routing_assignments_total{mode="least_busy"} 15
carebridge_routing_assignments_total{mode="round_robin"} 0
# HELP carebridge_routing_waiting_cases Cases waiting in new, unassigned, for an agent with the skills and capacity to take them.
# TYPE carebridge_routing_waiting_cases gauge
carebridge_routing_waiting_cases 185
`)); err != nil {
		t.Fatal(err)
	}

	// Alice closes one of hers: the oldest waiting case is hers in the
	// same transaction.
	alice := user(t, "alice")
	mine := listAll(t, s, alice, care.CaseQuery{View: care.ViewInbox})
	oldest := waitingCases[0]
	if _, err := s.PatchCase(ctx, alice, mine[0].ID, patch(care.StatusDone, nil)); err != nil {
		t.Fatal(err)
	}
	if c := getStored(t, s, oldest.ID); c.Assignee != "alice" || c.Status != care.StatusOpen {
		t.Fatalf("the oldest waiting case is %s for %q after alice closed one, want open for alice", c.Status, c.Assignee)
	}
	if c := getStored(t, s, waitingCases[1].ID); c.Assignee != "" {
		t.Fatalf("the second waiting case went to %s; alice freed one case only", c.Assignee)
	}
	// The assignment reached OnCommit as a change of its own.
	chs := waitChanges(t, s, log, 202)
	if last := chs[len(chs)-1]; last.After.ID != oldest.ID || last.After.Assignee != "alice" || last.Before.Assignee != "" {
		t.Fatalf("last change %+v, want case %d assigned to alice", last.After, oldest.ID)
	}

	// Reassigning a case away from bob frees bob too.
	bobs := listAll(t, s, user(t, "bob"), care.CaseQuery{View: care.ViewInbox})
	if _, err := s.PatchCase(ctx, sue, bobs[0].ID, patch("", ptr("sue"))); err != nil {
		t.Fatal(err)
	}
	if c := getStored(t, s, waitingCases[1].ID); c.Assignee != "bob" {
		t.Fatalf("the next waiting case went to %q after bob's case was reassigned, want bob", c.Assignee)
	}
}

// A case needing a skill goes only to an agent who has it; one no
// available agent can take waits, and is taken when a fitting agent frees.
func TestRoutingSkills(t *testing.T) {
	rules := []care.RoutingRule{
		{Field: "language", Equals: "es", Skills: []string{"es"}},
		{Platform: "twitter", Priority: care.PriorityUrgent, Skills: []string{"vip"}},
	}
	agents := []care.RoutingAgent{{ID: "alice", Capacity: 1}, {ID: "bob", Skills: []string{"es"}, Capacity: 1}}
	s := routingStore(t, t.TempDir(), nil, care.RoutingLeastBusy, rules, agents...)
	es := escalateCustomer(t, s, 1, map[string]string{"language": "es"})
	if es.Assignee != "bob" {
		t.Fatalf("a case needing es went to %q, want bob (the one with es)", es.Assignee)
	}
	es2 := escalateCustomer(t, s, 2, map[string]string{"language": "es"})
	if es2.Assignee != "" || es2.Status != care.StatusNew {
		t.Fatalf("a second es case went to %q (%s); alice lacks es and bob is full: it must wait", es2.Assignee, es2.Status)
	}
	plain := escalateCustomer(t, s, 3, nil)
	if plain.Assignee != "alice" {
		t.Fatalf("a case needing nothing went to %q, want alice (free)", plain.Assignee)
	}
	if got := (care.Routing{Rules: rules}).NeededSkills(&care.Case{Platform: "twitter", Priority: care.PriorityUrgent,
		Fields: map[string]string{"language": "es"}}); fmt.Sprint(got) != "[es vip]" {
		t.Fatalf("an urgent Spanish tweet needs %v, want the union [es vip]", got)
	}
	// Alice closing hers does not give her the es case; bob closing his does.
	ctx := context.Background()
	if _, err := s.PatchCase(ctx, user(t, "alice"), plain.ID, patch(care.StatusDone, nil)); err != nil {
		t.Fatal(err)
	}
	if c := getStored(t, s, es2.ID); c.Assignee != "" {
		t.Fatalf("the es case went to %q when alice freed", c.Assignee)
	}
	if _, err := s.PatchCase(ctx, user(t, "bob"), es.ID, patch(care.StatusOnHold, nil)); err != nil {
		t.Fatal(err)
	}
	if c := getStored(t, s, es2.ID); c.Assignee != "bob" {
		t.Fatalf("the es case went to %q when bob put his on hold, want bob", c.Assignee)
	}
}

// Unavailable agents get nothing until they switch available, which
// assigns them what waits; supervisors are never routed; mode off assigns
// nothing.
func TestRoutingAvailabilityRolesAndOff(t *testing.T) {
	ctx := context.Background()
	s := routingStore(t, t.TempDir(), nil, care.RoutingRoundRobin, nil, agentsOf(2, "alice")...)
	alice := user(t, "alice")
	if _, err := s.SetAvailable(ctx, alice, false); err != nil {
		t.Fatal(err)
	}
	a, b := escalateCustomer(t, s, 1, nil), escalateCustomer(t, s, 2, nil)
	if a.Assignee != "" || b.Assignee != "" {
		t.Fatalf("cases went to %q and %q with every agent unavailable", a.Assignee, b.Assignee)
	}
	escalateCustomer(t, s, 3, nil)
	st, err := s.SetAvailable(ctx, alice, true)
	if err != nil || st.Load != 2 || !st.Available {
		t.Fatalf("alice available: %+v %v, want load 2 (her capacity) at once", st, err)
	}
	if c := getStored(t, s, a.ID); c.Assignee != "alice" {
		t.Fatalf("the oldest waiting case went to %q, want alice", c.Assignee)
	}
	for _, u := range []string{"sue", "community"} {
		if _, err := s.SetAvailable(ctx, user(t, u), true); care.ErrorCode(err) != care.CodeForbidden {
			t.Errorf("%s switching available: %v, want forbidden (only agents are routed)", u, err)
		}
	}
	if st, _ := s.AgentState(ctx, user(t, "sue")); st.Routed {
		t.Errorf("a supervisor is routed: %+v", st)
	}

	off := routingStore(t, t.TempDir(), nil, care.RoutingOff, nil, agentsOf(5, "alice")...)
	if c := escalateCustomer(t, off, 1, nil); c.Assignee != "" || c.Status != care.StatusNew {
		t.Fatalf("routing off assigned case to %q (%s)", c.Assignee, c.Status)
	}
	if assigned, waits, _ := off.RoutingStats(); len(assigned) != 0 || waits != 1 {
		t.Fatalf("routing off: assigned %v, waiting %d", assigned, waits)
	}
}

// round_robin rotates through the agents, also across a restart (the
// rotation is stored); least_busy takes the agent with the fewest cases.
func TestRoutingRotationAndLeastBusy(t *testing.T) {
	dir := t.TempDir()
	agents := agentsOf(10, "alice", "bob", "carol")
	s := routingStore(t, dir, nil, care.RoutingRoundRobin, nil, agents...)
	var got []string
	for i := range 4 {
		got = append(got, escalateCustomer(t, s, i, nil).Assignee)
	}
	s.Close()
	s = routingStore(t, dir, nil, care.RoutingRoundRobin, nil, agents...)
	got = append(got, escalateCustomer(t, s, 4, nil).Assignee)
	if fmt.Sprint(got) != "[alice bob carol alice bob]" {
		t.Fatalf("round robin assigned %v, want [alice bob carol alice bob]", got)
	}
	s.Close()

	// least_busy: alice holds 2, bob 2, carol 1: carol is next, then the
	// rotation breaks ties.
	s = routingStore(t, dir, nil, care.RoutingLeastBusy, nil, agents...)
	got = got[:0]
	for i := 5; i < 8; i++ {
		got = append(got, escalateCustomer(t, s, i, nil).Assignee)
	}
	if fmt.Sprint(got) != "[carol alice bob]" {
		t.Fatalf("least busy assigned %v, want [carol alice bob]", got)
	}
}

// Cases waiting when the daemon starts with more capacity are assigned at
// open.
func TestRoutingDrainsAtOpen(t *testing.T) {
	dir := t.TempDir()
	s := routingStore(t, dir, nil, care.RoutingLeastBusy, nil, agentsOf(1, "alice")...)
	escalateCustomer(t, s, 1, nil)
	waitingCase := escalateCustomer(t, s, 2, nil)
	s.Close()
	s = routingStore(t, dir, nil, care.RoutingLeastBusy, nil, agentsOf(2, "alice")...)
	if c := getStored(t, s, waitingCase.ID); c.Assignee != "alice" {
		t.Fatalf("the waiting case went to %q after a restart with capacity 2, want alice", c.Assignee)
	}
}
