package care

import (
	"slices"
	"time"
)

// SLA policies (SPEC §16): due times per case for the first response, the
// next response and the resolution, clocks that stop while the case waits
// (pending, on_hold) or is closed, and breaches recorded once per kind.

// SLAKind is one of a policy's targets.
type SLAKind string

// SLA kinds.
const (
	SLAFirstResponse SLAKind = "first_response"
	SLANextResponse  SLAKind = "next_response"
	SLAResolution    SLAKind = "resolution"
)

// SLAKinds lists the kinds in a fixed order.
var SLAKinds = []SLAKind{SLAFirstResponse, SLANextResponse, SLAResolution}

// SLAPolicy is one policy of the config: the cases it applies to (every
// case when both lists are empty) and its targets, each > 0.
type SLAPolicy struct {
	Name          string
	Priorities    []Priority // empty: any priority
	Platforms     []string   // empty: any platform
	FirstResponse time.Duration
	NextResponse  time.Duration
	Resolution    time.Duration
}

// Matches reports whether the policy applies to c.
func (p SLAPolicy) Matches(c *Case) bool {
	return (len(p.Priorities) == 0 || slices.Contains(p.Priorities, c.Priority)) &&
		(len(p.Platforms) == 0 || slices.Contains(p.Platforms, c.Platform))
}

// Covers reports whether p matches every case q matches: after p, q is
// never used.
func (p SLAPolicy) Covers(q SLAPolicy) bool {
	subset := func(outer, inner []string) bool {
		if len(outer) == 0 {
			return true
		}
		if len(inner) == 0 {
			return false
		}
		for _, v := range inner {
			if !slices.Contains(outer, v) {
				return false
			}
		}
		return true
	}
	prio := func(ps []Priority) []string {
		out := make([]string, len(ps))
		for i, v := range ps {
			out[i] = string(v)
		}
		return out
	}
	return subset(prio(p.Priorities), prio(q.Priorities)) && subset(p.Platforms, q.Platforms)
}

// Target is the policy's duration for kind k.
func (p SLAPolicy) Target(k SLAKind) time.Duration {
	switch k {
	case SLAFirstResponse:
		return p.FirstResponse
	case SLANextResponse:
		return p.NextResponse
	case SLAResolution:
		return p.Resolution
	}
	return 0
}

// SLAPolicies are the configured policies in order: the first that
// matches a case applies.
type SLAPolicies []SLAPolicy

// Match returns the first policy that applies to c.
func (ps SLAPolicies) Match(c *Case) (SLAPolicy, bool) {
	for _, p := range ps {
		if p.Matches(c) {
			return p, true
		}
	}
	return SLAPolicy{}, false
}

// ByName returns the policy called name.
func (ps SLAPolicies) ByName(name string) (SLAPolicy, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return SLAPolicy{}, false
}

// CaseSLA is a case's SLA state, its "sla" in the case's JSON. A due time
// is null once met (or, for next_response, while no customer message waits
// for an answer); while the clock is stopped (PausedAt set) the due times
// stand still and move later by the pause when it ends.
type CaseSLA struct {
	Policy           string     `json:"policy"`
	FirstResponseDue *time.Time `json:"first_response_due"`
	NextResponseDue  *time.Time `json:"next_response_due"`
	ResolutionDue    *time.Time `json:"resolution_due"`
	Breached         []SLAKind  `json:"breached"`
	// PausedAt is when the clock stopped (pending, on_hold, or closed).
	PausedAt *time.Time `json:"paused_at,omitempty"`
	// AwaitingCustomer: a reply went out, so the next customer message
	// starts the next_response clock.
	AwaitingCustomer bool `json:"awaiting_customer,omitempty"`
	// AwaitingSince is when that reply was sent: the next_response clock
	// never starts before it (nil in a store of an older release).
	AwaitingSince *time.Time `json:"awaiting_since,omitempty"`
	// RepliedAt is when the last reply was sent, kept while its
	// next_response clock runs: a customer message sent before the one
	// that started the clock but written after it moves the due time
	// earlier, as if the two had come in the order they were sent.
	RepliedAt *time.Time `json:"replied_at,omitempty"`
}

// SLADue is one running due time of a case.
type SLADue struct {
	Kind SLAKind
	At   time.Time
}

func (s *CaseSLA) due(k SLAKind) **time.Time {
	switch k {
	case SLAFirstResponse:
		return &s.FirstResponseDue
	case SLANextResponse:
		return &s.NextResponseDue
	}
	return &s.ResolutionDue
}

// Due returns the due time of kind k (nil: none).
func (s *CaseSLA) Due(k SLAKind) *time.Time {
	if s == nil {
		return nil
	}
	return *s.due(k)
}

// IsBreached reports whether kind k (any kind when k is "") was breached.
func (s *CaseSLA) IsBreached(k SLAKind) bool {
	if s == nil {
		return false
	}
	if k == "" {
		return len(s.Breached) > 0
	}
	return slices.Contains(s.Breached, k)
}

// Running returns the due times whose clocks run: set and not paused,
// breached ones included, in kind order.
func (s *CaseSLA) Running() []SLADue {
	if s == nil || s.PausedAt != nil {
		return nil
	}
	var out []SLADue
	for _, k := range SLAKinds {
		if d := *s.due(k); d != nil {
			out = append(out, SLADue{k, *d})
		}
	}
	return out
}

// Watched returns the running due times not yet breached: those a breach
// scan must find.
func (s *CaseSLA) Watched() []SLADue {
	return slices.DeleteFunc(s.Running(), func(d SLADue) bool { return s.IsBreached(d.Kind) })
}

// NextDue is the earliest running due time (breached ones included).
func (s *CaseSLA) NextDue() (time.Time, bool) {
	var best time.Time
	for _, d := range s.Running() {
		if best.IsZero() || d.At.Before(best) {
			best = d.At
		}
	}
	return best, !best.IsZero()
}

// Overdue returns the kinds due at or before now and not yet breached.
func (s *CaseSLA) Overdue(now time.Time) []SLAKind {
	var out []SLAKind
	for _, d := range s.Watched() {
		if !d.At.After(now) {
			out = append(out, d.Kind)
		}
	}
	return out
}

// DueSoon reports whether a watched due time of s falls within a quarter
// of its target under policy p from now (or has passed unrecorded).
func (s *CaseSLA) DueSoon(p SLAPolicy, now time.Time) bool {
	at, ok := s.DueSoonAt(p)
	return ok && !now.Before(at)
}

// DueSoonAt is when s becomes due soon under policy p (sla=due_soon): a
// quarter of its target before the earliest watched due time; ok is false
// when no due time is watched.
func (s *CaseSLA) DueSoonAt(p SLAPolicy) (at time.Time, ok bool) {
	for _, d := range s.Watched() {
		if t := d.At.Add(-p.Target(d.Kind) / 4); !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	return at, ok
}

func (s *CaseSLA) clone() *CaseSLA {
	c := *s
	c.Breached = slices.Clone(s.Breached)
	return &c
}

func (s *CaseSLA) shift(d time.Duration, kinds ...SLAKind) {
	for _, k := range kinds {
		if p := s.due(k); *p != nil {
			t := (*p).Add(d)
			*p = &t
		}
	}
}

// slaStopped reports whether the SLA clock stands still in status st: the
// case waits (pending, on_hold) or is closed.
func slaStopped(st Status) bool { return st != StatusNew && st != StatusOpen }

func timePtr(t time.Time) *time.Time { return &t }

// maxTime is the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Track brings c.SLA up to date for a write that turned before (nil: c is
// new) into c at now, adding message m (nil: none). It runs in the write's
// transaction, after every other change to c. The first policy matching c
// applies; a case that comes to match another policy keeps its clocks and
// moves each due time by the difference of the targets. next_response
// runs from the sent_at of the first customer message after a reply (see
// sentAt), never from before that reply was sent.
func (ps SLAPolicies) Track(before, c *Case, m *Message, now time.Time) {
	p, ok := ps.Match(c)
	if !ok {
		c.SLA = nil
		return
	}
	var s *CaseSLA
	switch {
	case c.SLA == nil:
		s = &CaseSLA{Policy: p.Name, FirstResponseDue: timePtr(c.CreatedAt.Add(p.FirstResponse)),
			ResolutionDue: timePtr(c.CreatedAt.Add(p.Resolution)), Breached: []SLAKind{}}
		if c.HasOutbound && (m == nil || m.Direction != Outbound) {
			s.FirstResponseDue, s.AwaitingCustomer = nil, true
		}
		if slaStopped(c.Status) {
			s.PausedAt = timePtr(now)
		}
	default:
		s = c.SLA.clone()
		if s.Policy != p.Name {
			if old, ok := ps.ByName(s.Policy); ok {
				for _, k := range SLAKinds {
					s.shift(p.Target(k)-old.Target(k), k)
				}
			}
			s.Policy = p.Name
		}
	}
	switch stopped := slaStopped(c.Status); {
	case stopped && s.PausedAt == nil:
		s.PausedAt = timePtr(now)
	case !stopped && s.PausedAt != nil:
		s.shift(now.Sub(*s.PausedAt), SLAKinds...)
		s.PausedAt = nil
	}
	if c.Status == StatusDone {
		s.ResolutionDue = nil
	}
	if m != nil && m.Kind == KindMessage {
		switch m.Direction {
		case Outbound:
			s.FirstResponseDue, s.NextResponseDue, s.AwaitingCustomer = nil, nil, true
			s.AwaitingSince = timePtr(sentAt(m, now))
			s.RepliedAt = s.AwaitingSince
		case Inbound:
			from := sentAt(m, now)
			switch {
			case s.AwaitingCustomer:
				if s.AwaitingSince != nil && from.Before(*s.AwaitingSince) {
					from = *s.AwaitingSince
				}
				s.NextResponseDue, s.AwaitingCustomer, s.AwaitingSince = timePtr(from.Add(p.NextResponse)), false, nil
			case s.NextResponseDue != nil && s.RepliedAt != nil && s.PausedAt == nil:
				// Sent before the message that started the clock but
				// written after it (a late delivery, a backfill): the
				// clock counts from the earlier one.
				if due := maxTime(from, *s.RepliedAt).Add(p.NextResponse); due.Before(*s.NextResponseDue) {
					s.NextResponseDue = &due
				}
			}
		}
	}
	c.SLA = s
}

// sentAt is when m was sent as the SLA clocks count it: its sent_at, or
// the write's time now when it has none or says a time after now (a
// message delivered late, or backfilled, counts from when the customer
// sent it; none counts from the future).
func sentAt(m *Message, now time.Time) time.Time {
	if m.SentAt.IsZero() || m.SentAt.After(now) {
		return now
	}
	return m.SentAt
}

// Breach records kinds as breached on c (each once).
func (c *Case) Breach(kinds []SLAKind) {
	if c.SLA == nil {
		return
	}
	s := c.SLA.clone()
	for _, k := range kinds {
		if !slices.Contains(s.Breached, k) {
			s.Breached = append(s.Breached, k)
		}
	}
	c.SLA = s
}

// SLABreach is one breach: the event case.sla_breached.
type SLABreach struct {
	CaseID int64   `json:"case_id"`
	Policy string  `json:"policy"`
	Kind   SLAKind `json:"kind"`
}

// SLA filters of a case query (sla=).
const (
	SLAFilterBreached = "breached"
	SLAFilterDueSoon  = "due_soon"
)

// SortSLADue orders cases by their next running due time, earliest first;
// cases without one come last.
const SortSLADue SortKey = 's'

// slaSortValue is c's value for SortSLADue.
func slaSortValue(c *Case) uint64 {
	if t, ok := c.SLA.NextDue(); ok {
		return TimeKey(t)
	}
	return ^uint64(0)
}

// SLAFilter is the sla= filter of a plan: its kind and what deciding it
// needs (the time and the policies' targets), set by the store.
type SLAFilter struct {
	Kind     string // "", SLAFilterBreached or SLAFilterDueSoon
	Now      time.Time
	Policies SLAPolicies
}

// Matches reports whether c passes the filter.
func (f SLAFilter) Matches(c *Case) bool {
	switch f.Kind {
	case SLAFilterBreached:
		return c.SLA.IsBreached("")
	case SLAFilterDueSoon:
		p, ok := f.Policies.ByName(c.SLA.policy())
		return ok && c.SLA.DueSoon(p, f.Now)
	}
	return true
}

func (s *CaseSLA) policy() string {
	if s == nil {
		return ""
	}
	return s.Policy
}

// planSLA checks a query's sla= filter into p.
func planSLA(q CaseQuery, p *Plan) error {
	switch q.SLA {
	case "", SLAFilterBreached, SLAFilterDueSoon:
		p.SLA.Kind = q.SLA
		return nil
	}
	return Errorf(CodeInvalidArgument, "sla must be %s or %s, got %q", SLAFilterBreached, SLAFilterDueSoon, q.SLA)
}
