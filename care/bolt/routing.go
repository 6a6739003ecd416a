package bolt

// Routing (SPEC §16) in the transaction of every case change: a case that
// starts waiting (new, unassigned) goes to an agent with the skills it
// needs and free capacity; a change that frees an agent's capacity, and an
// agent switching available, assigns them the oldest waiting cases. Loads
// are the view counters of the agent's new, open and pending cases, moved
// by putCase in the same transaction, so no concurrent write can push an
// agent over capacity (bbolt serialises writers). The waiting cases are
// read from the waiting index (routing_index.go): by skill set, oldest
// first, so a freeing change reads only the skill sets the agent covers.
//
//	routing   "available" 0x00 user → ∅ (the agents switched available)
//	          "rotation" → the agent assigned last (where rotation goes on)
//	          "assigned" 0x00 mode → cases routing assigned in mode, ever (the metric)

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/prometheus/client_golang/prometheus"
	bbolt "go.etcd.io/bbolt"
)

var (
	bucketRouting = []byte("routing")

	routingRotation = []byte("rotation")
)

func assignedKey(mode care.RoutingMode) []byte { return join([]byte("assigned"), sep, []byte(mode)) }

func availableKey(user string) []byte { return join([]byte("available"), sep, []byte(user)) }

// loadStatuses are the statuses of the cases that count against an agent's
// capacity.
var loadStatuses = []care.Status{care.StatusNew, care.StatusOpen, care.StatusPending}

// waiting reports whether c waits for routing: new and unassigned.
func waiting(c *care.Case) bool {
	return c != nil && c.Status == care.StatusNew && c.Assignee == ""
}

// loadOf counts the cases new, open or pending assigned to user.
func loadOf(tx *bbolt.Tx, user string) int {
	n := int64(0)
	for _, st := range loadStatuses {
		n += counter(tx, care.Scope{Assignee: user}, st)
	}
	return int(n)
}

// agentLoads is every routed agent's availability and load now.
func (s *Store) agentLoads(tx *bbolt.Tx) []care.AgentLoad {
	b := tx.Bucket(bucketRouting)
	out := make([]care.AgentLoad, len(s.routing.Agents))
	for i, a := range s.routing.Agents {
		out[i] = care.AgentLoad{Agent: a, Available: b.Get(availableKey(a.ID)) != nil, Load: loadOf(tx, a.ID)}
	}
	return out
}

// pickAgent chooses who takes a case needing need among loads, and moves
// the rotation and the count of assignments on when someone does.
func (s *Store) pickAgent(tx *bbolt.Tx, need []string, loads []care.AgentLoad) (string, bool, error) {
	b := tx.Bucket(bucketRouting)
	id, ok := s.routing.Pick(need, loads, string(b.Get(routingRotation)))
	if !ok {
		return "", false, nil
	}
	if err := b.Put(routingRotation, []byte(id)); err != nil {
		return "", false, err
	}
	var n uint64
	if v := b.Get(assignedKey(s.routing.Mode)); v != nil {
		n = getU64(v)
	}
	return id, true, b.Put(assignedKey(s.routing.Mode), u64(n+1))
}

// routeTo assigns c to agent as routing does: assigning a new case makes it
// open (SPEC §3).
func routeTo(c *care.Case, agent string, now time.Time) {
	c.Assignee, c.Status, c.UpdatedAt = agent, care.StatusOpen, now
}

// routeCase assigns after, about to be written, when the change makes it
// wait (a new case, or one put back in new and unassigned) and an agent
// may take it; otherwise after stays waiting. The caller writes after, so
// its events and outbox effects carry the assignment.
func (s *Store) routeCase(tx *bbolt.Tx, before, after *care.Case, now time.Time) error {
	if !s.routing.On() || !waiting(after) || waiting(before) {
		return nil
	}
	id, ok, err := s.pickAgent(tx, s.routing.NeededSkills(after), s.agentLoads(tx))
	if ok {
		routeTo(after, id, now)
	}
	return err
}

// routeFreed assigns waiting cases to the agent a written change took a
// case from (closed, put on hold, reassigned away): their capacity freed.
func (s *Store) routeFreed(tx *bbolt.Tx, before, after *care.Case, now time.Time) error {
	if !s.routing.On() || before == nil || before.Assignee == "" {
		return nil
	}
	if counts := func(c *care.Case) bool {
		return c.Assignee == before.Assignee && containsStatus(loadStatuses, c.Status)
	}; !counts(before) || counts(after) {
		return nil
	}
	return s.assignWaiting(tx, now, before.Assignee)
}

func containsStatus(list []care.Status, st care.Status) bool {
	for _, v := range list {
		if v == st {
			return true
		}
	}
	return false
}

// waitingPrefix starts the case index's unassigned new cases by creation.
func waitingPrefix() []byte {
	return join(assigneeScope(""), sep, []byte{statusByte(care.StatusNew), byte(care.SortCreated)})
}

func anyFree(loads []care.AgentLoad) bool {
	for _, l := range loads {
		if l.Free() {
			return true
		}
	}
	return false
}

// writeRouted writes a waiting case's assignment through the normal path
// of a case change: index and counters, outbox effects, OnCommit.
func (s *Store) writeRouted(tx *bbolt.Tx, c *care.Case, agent string, now time.Time) error {
	before := *c
	before.Fields = maps.Clone(c.Fields)
	routeTo(c, agent, now)
	ch := care.Change{Before: &before, After: *c}
	ops := s.effectsOf(ch, c)
	if err := s.putCase(tx, &before, c); err != nil {
		return err
	}
	if err := s.enqueue(tx, ops, now); err != nil {
		return err
	}
	ch.After = *c
	s.record(ch)
	return nil
}

// drainWaiting brings the waiting index up to the routing rules and
// assigns what waits to whoever may take it, at open (the capacities or
// skills of the config may have changed); with routing off it assigns
// nothing.
func (s *Store) drainWaiting() error {
	return s.update(context.Background(), func(tx *bbolt.Tx) error {
		if err := s.migrateWaitingIndex(tx); err != nil {
			return fmt.Errorf("index the waiting cases: %w", err)
		}
		if !s.routing.On() {
			return nil
		}
		return s.assignWaiting(tx, s.now(), "")
	})
}

// AgentState is actor's routing state: skills and capacity from the
// config, availability from the store, load from the counters.
func (s *Store) AgentState(ctx context.Context, actor care.User) (care.AgentState, error) {
	var st care.AgentState
	err := s.view(func(tx *bbolt.Tx) error {
		st = s.agentState(tx, actor)
		return nil
	})
	return st, err
}

func (s *Store) agentState(tx *bbolt.Tx, actor care.User) care.AgentState {
	a, routed := s.routing.Agent(actor.ID)
	skills := a.Skills
	if skills == nil {
		skills = []string{}
	}
	return care.AgentState{Routed: routed && s.routing.On() && actor.Role == care.RoleAgent,
		Skills: skills, Capacity: a.Capacity, Load: loadOf(tx, actor.ID),
		Available: tx.Bucket(bucketRouting).Get(availableKey(actor.ID)) != nil}
}

// SetAvailable switches an agent's availability. Becoming available
// assigns them waiting cases in the same transaction.
func (s *Store) SetAvailable(ctx context.Context, actor care.User, available bool) (care.AgentState, error) {
	if err := care.CheckSetAvailable(actor); err != nil {
		return care.AgentState{}, err
	}
	var st care.AgentState
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRouting)
		was := b.Get(availableKey(actor.ID)) != nil
		var err error
		if available {
			err = b.Put(availableKey(actor.ID), []byte{1})
		} else {
			err = b.Delete(availableKey(actor.ID))
		}
		if err != nil {
			return err
		}
		if available && !was && s.routing.On() {
			if err := s.assignWaiting(tx, s.now(), actor.ID); err != nil {
				return err
			}
		}
		st = s.agentState(tx, actor)
		return nil
	})
	return st, err
}

// RoutingStats are the figures of the routing metrics: the cases routing
// assigned in each mode, ever, and the cases waiting now.
func (s *Store) RoutingStats() (assigned map[care.RoutingMode]int64, waitingCases int64, err error) {
	assigned = map[care.RoutingMode]int64{}
	err = s.view(func(tx *bbolt.Tx) error {
		for _, m := range care.RoutingModes[1:] {
			if v := tx.Bucket(bucketRouting).Get(assignedKey(m)); v != nil {
				assigned[m] = int64(getU64(v))
			}
		}
		waitingCases = counter(tx, care.Scope{Unassigned: true}, care.StatusNew)
		return nil
	})
	return assigned, waitingCases, err
}

var (
	routingAssignedDesc = prometheus.NewDesc("carebridge_routing_assignments_total",
		"Cases routing assigned to an agent, by routing mode.", []string{"mode"}, nil)
	routingWaitingDesc = prometheus.NewDesc("carebridge_routing_waiting_cases",
		"Cases waiting in new, unassigned, for an agent with the skills and capacity to take them.", nil, nil)
)

// RoutingCollector exports carebridge_routing_assignments_total{mode} and
// carebridge_routing_waiting_cases, read from the store at each scrape.
func (s *Store) RoutingCollector() prometheus.Collector { return routingCollector{s} }

type routingCollector struct{ s *Store }

func (c routingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- routingAssignedDesc
	ch <- routingWaitingDesc
}

func (c routingCollector) Collect(ch chan<- prometheus.Metric) {
	assigned, waitingCases, err := c.s.RoutingStats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(routingAssignedDesc, err)
		return
	}
	for _, m := range care.RoutingModes[1:] {
		ch <- prometheus.MustNewConstMetric(routingAssignedDesc, prometheus.CounterValue, float64(assigned[m]), string(m))
	}
	ch <- prometheus.MustNewConstMetric(routingWaitingDesc, prometheus.GaugeValue, float64(waitingCases))
}

var _ care.Router = (*Store)(nil)
