package care

import (
	"context"
	"slices"
)

// Routing (SPEC §16): a new case goes to an available agent who has the
// skills it needs and free capacity, least busy first or in rotation; with
// none it waits in new and is assigned when capacity frees. The store
// decides in the transaction of the case change, so concurrent writes never
// push an agent over capacity.

// RoutingMode is how routing picks among the agents who may take a case.
type RoutingMode string

// Routing modes.
const (
	RoutingOff        RoutingMode = "off"
	RoutingRoundRobin RoutingMode = "round_robin"
	RoutingLeastBusy  RoutingMode = "least_busy"
)

// RoutingModes lists the modes, off first.
var RoutingModes = []RoutingMode{RoutingOff, RoutingRoundRobin, RoutingLeastBusy}

// RoutingRule gives the cases it matches skills to need. Every condition
// set must hold: Platform, Priority, and Field whose value Equals.
type RoutingRule struct {
	Platform string
	Priority Priority
	Field    string
	Equals   string
	Skills   []string
}

// Matches reports whether c meets every condition of r.
func (r RoutingRule) Matches(c *Case) bool {
	return (r.Platform == "" || c.Platform == r.Platform) &&
		(r.Priority == "" || c.Priority == r.Priority) &&
		(r.Field == "" || c.Fields[r.Field] == r.Equals)
}

// RoutingAgent is an agent routing may assign cases to.
type RoutingAgent struct {
	ID       string
	Skills   []string
	Capacity int // cases new, open or pending at once
}

// HasSkills reports whether a has every skill of need.
func (a RoutingAgent) HasSkills(need []string) bool {
	for _, s := range need {
		if !slices.Contains(a.Skills, s) {
			return false
		}
	}
	return true
}

// Routing is the routing configuration the store applies.
type Routing struct {
	Mode  RoutingMode
	Rules []RoutingRule
	// Agents are the users routing assigns to: agents only, never
	// supervisors or integrations, each with its capacity resolved.
	Agents []RoutingAgent
}

// On reports whether routing assigns cases.
func (r Routing) On() bool { return r.Mode == RoutingRoundRobin || r.Mode == RoutingLeastBusy }

// Agent looks a routed agent up by id.
func (r Routing) Agent(id string) (RoutingAgent, bool) {
	i := slices.IndexFunc(r.Agents, func(a RoutingAgent) bool { return a.ID == id })
	if i < 0 {
		return RoutingAgent{}, false
	}
	return r.Agents[i], true
}

// NeededSkills is the union of the skills of every rule c matches, sorted;
// none when no rule matches.
func (r Routing) NeededSkills(c *Case) []string {
	var need []string
	for _, rule := range r.Rules {
		if rule.Matches(c) {
			need = append(need, rule.Skills...)
		}
	}
	slices.Sort(need)
	return slices.Compact(need)
}

// AgentLoad is a routed agent as routing sees them at one moment.
type AgentLoad struct {
	Agent     RoutingAgent
	Available bool
	Load      int // cases new, open or pending assigned to them
}

// Free reports whether the agent takes another case now.
func (a AgentLoad) Free() bool { return a.Available && a.Load < a.Agent.Capacity }

// Pick chooses the agent for a case needing need among agents (in the
// order of r.Agents): one available, with every skill and free capacity;
// least_busy takes the lowest load, both modes break ties by rotating from
// the agent after last (the one assigned before). It reports false when no
// agent may take the case.
func (r Routing) Pick(need []string, agents []AgentLoad, last string) (string, bool) {
	start := slices.IndexFunc(agents, func(a AgentLoad) bool { return a.Agent.ID == last }) + 1
	best := -1
	for n := range agents {
		i := (start + n) % len(agents)
		a := agents[i]
		if !a.Free() || !a.Agent.HasSkills(need) {
			continue
		}
		if best < 0 || (r.Mode == RoutingLeastBusy && a.Load < agents[best].Load) {
			best = i
		}
		if r.Mode == RoutingRoundRobin {
			break
		}
	}
	if best < 0 {
		return "", false
	}
	return agents[best].Agent.ID, true
}

// AgentState is what GET /api/v1/me shows of routing for an agent.
type AgentState struct {
	Routed    bool     `json:"-"` // routing is on and the user is a routed agent
	Skills    []string `json:"skills"`
	Capacity  int      `json:"capacity"`
	Available bool     `json:"available"`
	Load      int      `json:"load"`
}

// Router is the routing side of the store: an agent's state and their
// availability switch.
type Router interface {
	// AgentState is actor's routing state; Routed is false for anyone
	// routing does not assign to (or with routing off).
	AgentState(ctx context.Context, actor User) (AgentState, error)
	// SetAvailable switches actor's availability; becoming available
	// assigns them waiting cases in the same transaction. Only routed
	// agents have one (403 otherwise).
	SetAvailable(ctx context.Context, actor User, available bool) (AgentState, error)
}

// CheckSetAvailable lets agents alone switch their availability: only
// agents are routed.
func CheckSetAvailable(actor User) error {
	if actor.Role != RoleAgent {
		return Errorf(CodeForbidden, "only agents are routed; a %s has no availability", actor.Role)
	}
	return nil
}
