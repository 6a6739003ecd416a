package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
)

// routingResult is the routing section (SPEC §16): new cases arriving at
// a steady rate, routed least_busy to agents who close each case after a
// handling time; each case timed from its ingest to its assignment (the
// same commit when an agent is free, the commit freeing one otherwise).
type routingResult struct {
	Cases         int     `json:"cases"`
	PerMinute     int     `json:"new_cases_per_minute"`
	Agents        int     `json:"agents"`
	Capacity      int     `json:"capacity"`
	HandleMillis  float64 `json:"handling_ms"`
	AssignedAtIn  int     `json:"assigned_in_the_ingest_commit"`
	Waited        int     `json:"waited_for_capacity"`
	P50Millis     float64 `json:"ingest_to_assigned_p50_ms"`
	P95Millis     float64 `json:"ingest_to_assigned_p95_ms"`
	MaxLoadSeen   int     `json:"max_agent_load_seen"`
	AssignedTotal int64   `json:"assignments_total"`
	// Backlog: a case closed while backlog cases wait for a skill no
	// agent has (routingBacklog).
	Backlog *routingBacklogResult `json:"backlog,omitempty"`
}

type routingOptions struct {
	cases, perMinute, agents, capacity int
	handle                             time.Duration
	// backlog cases wait for a skill no agent has while closes cases
	// are closed, each freeing an agent (0: not measured).
	backlog, closes, workers int
}

// routingClock keeps, per case, when its ingest started and when a commit
// assigned it, and each agent's load as the commits tell it.
type routingClock struct {
	mu       sync.Mutex
	ingested map[int64]time.Time
	assigned map[int64]time.Time
	load     map[string]int
	maxLoad  int
	work     chan int64 // cases assigned, for their agents to close
}

func (rc *routingClock) onCommit(chs []care.Change) {
	now := time.Now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	counts := func(c *care.Case) bool {
		return c != nil && c.Assignee != "" && (c.Status == care.StatusNew || c.Status == care.StatusOpen || c.Status == care.StatusPending)
	}
	for _, ch := range chs {
		if counts(ch.Before) {
			rc.load[ch.Before.Assignee]--
		}
		if counts(&ch.After) {
			rc.load[ch.After.Assignee]++
			rc.maxLoad = max(rc.maxLoad, rc.load[ch.After.Assignee])
		}
		if ch.After.Assignee != "" && (ch.Before == nil || ch.Before.Assignee == "") {
			rc.assigned[ch.After.ID] = now
			rc.work <- ch.After.ID
		}
	}
}

// routingStore opens a section's store routing least_busy by rules to
// o.agents agents of o.capacity, no skills, every one available, and the
// community integration user; onCommit may be nil.
func routingStore(ctx context.Context, section string, o routingOptions, rules []care.RoutingRule, onCommit func([]care.Change)) (*bolt.Store, *care.Directory, func(), error) {
	users := []care.User{{ID: "community", Name: "Community", Role: care.RoleIntegration}}
	routing := care.Routing{Mode: care.RoutingLeastBusy, Rules: rules}
	for i := range o.agents {
		id := fmt.Sprintf("agent-%03d", i)
		users = append(users, care.User{ID: id, Name: id, Role: care.RoleAgent})
		routing.Agents = append(routing.Agents, care.RoutingAgent{ID: id, Capacity: o.capacity})
	}
	dir := care.NewDirectory(users)
	st, _, cleanup, err := tempStore(section, bolt.Options{Users: dir, OnCommit: onCommit, Routing: routing})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, a := range routing.Agents {
		u, _ := dir.User(a.ID)
		if _, err := st.SetAvailable(ctx, u, true); err != nil {
			cleanup()
			return nil, nil, nil, err
		}
	}
	return st, dir, cleanup, nil
}

// benchRouting ingests o.cases new cases at o.perMinute, routed to
// o.agents agents of o.capacity who each close a case o.handle after
// getting it.
func benchRouting(ctx context.Context, o routingOptions, progress func(string)) (routingResult, error) {
	res := routingResult{Cases: o.cases, PerMinute: o.perMinute, Agents: o.agents, Capacity: o.capacity, HandleMillis: millis(o.handle)}
	rc := &routingClock{ingested: map[int64]time.Time{}, assigned: map[int64]time.Time{}, load: map[string]int{},
		work: make(chan int64, o.cases)}
	st, dirUsers, cleanup, err := routingStore(ctx, "routing", o, nil, rc.onCommit)
	if err != nil {
		return res, err
	}
	defer cleanup()

	// The agents: each case is closed by its assignee a handling time
	// after it came to them.
	closeCtx, stopClosing := context.WithCancel(ctx)
	defer stopClosing()
	var closing sync.WaitGroup
	closeErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-closeCtx.Done():
				return
			case id := <-rc.work:
				closing.Add(1)
				time.AfterFunc(o.handle, func() {
					defer closing.Done()
					if err := closeRouted(closeCtx, st, dirUsers, id); err != nil && closeCtx.Err() == nil {
						select {
						case closeErr <- err:
						default:
						}
					}
				})
			}
		}
	}()

	progress(fmt.Sprintf("routing: %d new cases at %d a minute to %d agents of capacity %d", o.cases, o.perMinute, o.agents, o.capacity))
	community, _ := dirUsers.User("community")
	gap := time.Minute / time.Duration(o.perMinute)
	start := time.Now()
	var ids []int64
	for i := range o.cases {
		if wait := time.Until(start.Add(time.Duration(i) * gap)); wait > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(wait):
			}
		}
		t0 := time.Now()
		r, err := st.Escalate(ctx, community, care.EscalateInput{Message: incoming(fmt.Sprintf("routing-%d", i), i, t0.UTC())})
		if err != nil {
			return res, err
		}
		rc.mu.Lock()
		rc.ingested[r.Case.ID] = t0
		rc.mu.Unlock()
		ids = append(ids, r.Case.ID)
		if r.Case.Assignee != "" {
			res.AssignedAtIn++
		}
		select {
		case err := <-closeErr:
			return res, err
		default:
		}
	}
	// Every case is assigned once enough cases were closed.
	deadline := time.Now().Add(time.Duration(o.cases/max(1, o.agents*o.capacity)+2)*o.handle + 10*time.Second)
	for {
		rc.mu.Lock()
		n := len(rc.assigned)
		rc.mu.Unlock()
		if n >= o.cases {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d of %d cases assigned", n, o.cases)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	stopClosing()
	closing.Wait()
	rc.mu.Lock()
	lat := make([]time.Duration, 0, len(ids))
	for _, id := range ids {
		lat = append(lat, max(0, rc.assigned[id].Sub(rc.ingested[id])))
	}
	res.MaxLoadSeen = rc.maxLoad
	rc.mu.Unlock()
	res.Waited = o.cases - res.AssignedAtIn
	res.P50Millis, res.P95Millis = millis(percentile(lat, 0.50)), millis(percentile(lat, 0.95))
	assigned, _, err := st.RoutingStats()
	res.AssignedTotal = assigned[care.RoutingLeastBusy]
	if err != nil || o.backlog <= 0 {
		return res, err
	}
	b, err := benchRoutingBacklog(ctx, o, progress)
	res.Backlog = &b
	return res, err
}

// closeRouted marks case id done as its assignee.
func closeRouted(ctx context.Context, st *bolt.Store, users *care.Directory, id int64) error {
	c, err := st.Case(ctx, care.User{Role: care.RoleSupervisor}, id)
	if err != nil {
		return err
	}
	agent, _ := users.User(c.Assignee)
	_, err = st.PatchCase(ctx, agent, id, care.CasePatch{Status: care.Optional[care.Status]{Set: true, Value: care.StatusDone}})
	return err
}

// routingBacklogResult is what a case close costs while a long queue
// waits for a skill no agent online has (a weekend backlog of Spanish
// cases with English agents): each close frees an agent, who takes the
// next plain case queued behind the whole backlog.
type routingBacklogResult struct {
	Waiting        int     `json:"backlog_waiting_cases"`
	Closes         int     `json:"closes"`
	ReadPerClose   float64 `json:"waiting_cases_read_per_close"`
	CloseP50Millis float64 `json:"close_p50_ms"`
	CloseP95Millis float64 `json:"close_p95_ms"`
}

// benchRoutingBacklog ingests o.backlog cases needing es, which none of
// o.agents has, then enough plain cases to fill every agent and o.closes
// more that wait behind the backlog; then closes o.closes cases one after
// another, timing each close (the freeing change that assigns the next
// plain case in its transaction).
func benchRoutingBacklog(ctx context.Context, o routingOptions, progress func(string)) (routingBacklogResult, error) {
	res := routingBacklogResult{Waiting: o.backlog, Closes: o.closes}
	rules := []care.RoutingRule{{Field: "language", Equals: "es", Skills: []string{"es"}}}
	st, dirUsers, cleanup, err := routingStore(ctx, "routing-backlog", o, rules, nil)
	if err != nil {
		return res, err
	}
	defer cleanup()
	community, _ := dirUsers.User("community")
	// escalate makes n new cases with fields, of customers from first on.
	escalate := func(first, n int, fields map[string]string) ([]care.Case, error) {
		out := make([]care.Case, n)
		now := time.Now().UTC()
		err := runConcurrently(n, max(1, o.workers), func(i int) error {
			r, err := st.Escalate(ctx, community, care.EscalateInput{Fields: fields,
				Message: incoming(fmt.Sprintf("backlog-%d", first+i), first+i, now)})
			out[i] = r.Case
			return err
		})
		return out, err
	}
	progress(fmt.Sprintf("routing: %d cases waiting for a skill no agent has, %d closes", o.backlog, o.closes))
	if _, err := escalate(0, o.backlog, map[string]string{"language": "es"}); err != nil {
		return res, err
	}
	plain, err := escalate(o.backlog, o.agents*o.capacity+o.closes, nil)
	if err != nil {
		return res, err
	}
	// The cases to close: those assigned at ingest, then the waiting ones
	// oldest first, as each close assigns the next.
	var open, queued []int64
	for _, c := range plain {
		if c.Assignee != "" {
			open = append(open, c.ID)
		} else {
			queued = append(queued, c.ID)
		}
	}
	slices.Sort(queued)
	open = append(open, queued...)
	read := st.RoutingExamined()
	lat := make([]time.Duration, 0, o.closes)
	for i := range min(o.closes, len(open)) {
		t0 := time.Now()
		if err := closeRouted(ctx, st, dirUsers, open[i]); err != nil {
			return res, err
		}
		lat = append(lat, time.Since(t0))
	}
	res.ReadPerClose = float64(st.RoutingExamined()-read) / float64(max(1, len(lat)))
	res.CloseP50Millis, res.CloseP95Millis = millis(percentile(lat, 0.50)), millis(percentile(lat, 0.95))
	// Every plain case found an agent; the backlog still waits.
	if _, waiting, err := st.RoutingStats(); err != nil || waiting != int64(o.backlog) {
		return res, fmt.Errorf("routing backlog: %d cases wait after the closes, want the %d needing es (%v)", waiting, o.backlog, err)
	}
	return res, nil
}

func printRouting(tw *tabwriter.Writer, r *routingResult) {
	if r == nil {
		return
	}
	fmt.Fprintf(tw, "routing\t%d new cases at %d/min, %d agents × capacity %d, handled in %.0f ms\tassigned at ingest %d, waited %d (max load seen %d)\n",
		r.Cases, r.PerMinute, r.Agents, r.Capacity, r.HandleMillis, r.AssignedAtIn, r.Waited, r.MaxLoadSeen)
	fmt.Fprintf(tw, "routing\tingest→assigned p50/p95\t%.1f / %.1f ms\n", r.P50Millis, r.P95Millis)
	if b := r.Backlog; b != nil {
		fmt.Fprintf(tw, "routing\tcase close with %d waiting for a skill no agent has, p50/p95\t%.1f / %.1f ms (%.1f waiting cases read per close, %d closes)\n",
			b.Waiting, b.CloseP50Millis, b.CloseP95Millis, b.ReadPerClose, b.Closes)
	}
}
