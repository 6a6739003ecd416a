package care

import (
	"testing"
	"time"
)

var (
	slaT0       = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	slaPolicies = SLAPolicies{
		{Name: "vip", Priorities: []Priority{PriorityUrgent, PriorityHigh}, Platforms: []string{"twitter"},
			FirstResponse: 15 * time.Minute, NextResponse: 30 * time.Minute, Resolution: 4 * time.Hour},
		{Name: "urgent", Priorities: []Priority{PriorityUrgent},
			FirstResponse: 30 * time.Minute, NextResponse: time.Hour, Resolution: 8 * time.Hour},
		{Name: "default", FirstResponse: time.Hour, NextResponse: 2 * time.Hour, Resolution: 24 * time.Hour},
	}
)

func TestSLAPolicyMatchFirstWins(t *testing.T) {
	for _, tc := range []struct {
		prio     Priority
		platform string
		want     string
	}{
		{PriorityUrgent, "twitter", "vip"},
		{PriorityHigh, "twitter", "vip"},
		{PriorityUrgent, "facebook", "urgent"},
		{PriorityHigh, "facebook", "default"}, // no when: the catch-all
		{PriorityLow, "twitter", "default"},
	} {
		p, ok := slaPolicies.Match(&Case{Priority: tc.prio, Platform: tc.platform})
		if !ok || p.Name != tc.want {
			t.Errorf("%s on %s: policy %q (%v), want %q", tc.prio, tc.platform, p.Name, ok, tc.want)
		}
	}
	if _, ok := slaPolicies[:2].Match(&Case{Priority: PriorityLow, Platform: "twitter"}); ok {
		t.Error("a case no policy matches got one")
	}
}

func TestSLAPolicyCovers(t *testing.T) {
	all, vip, urgent := slaPolicies[2], slaPolicies[0], slaPolicies[1]
	for _, tc := range []struct {
		p, q SLAPolicy
		want bool
	}{
		{all, vip, true}, {urgent, vip, false}, {vip, urgent, false}, {vip, all, false},
		{urgent, SLAPolicy{Priorities: []Priority{PriorityUrgent}, Platforms: []string{"x"}}, true},
	} {
		if got := tc.p.Covers(tc.q); got != tc.want {
			t.Errorf("%+v covers %+v = %v, want %v", tc.p, tc.q, got, tc.want)
		}
	}
}

// slaCase is a case written as the store writes it: Track after each
// change.
type slaCase struct {
	t *testing.T
	c Case
}

func newSLACase(t *testing.T) *slaCase {
	sc := &slaCase{t: t, c: Case{ID: 1, Status: StatusNew, Priority: PriorityMedium, Platform: "facebook", CreatedAt: slaT0}}
	slaPolicies.Track(nil, &sc.c, &Message{Kind: KindMessage, Direction: Inbound}, slaT0)
	return sc
}

func (sc *slaCase) change(at time.Time, m *Message, fn func(c *Case)) {
	before := sc.c
	if fn != nil {
		fn(&sc.c)
	}
	slaPolicies.Track(&before, &sc.c, m, at)
	if before.SLA == sc.c.SLA && sc.c.SLA != nil {
		sc.t.Fatal("Track changed the SLA state before shares")
	}
}

func (sc *slaCase) status(at time.Time, st Status) {
	sc.change(at, nil, func(c *Case) { c.Status = st })
}

func (sc *slaCase) wantDue(k SLAKind, want time.Time) {
	sc.t.Helper()
	got := sc.c.SLA.Due(k)
	switch {
	case want.IsZero() && got != nil:
		sc.t.Errorf("%s due %v, want none", k, *got)
	case !want.IsZero() && (got == nil || !got.Equal(want)):
		sc.t.Errorf("%s due %v, want %v", k, got, want)
	}
}

func TestSLADueTimesPauseAndResume(t *testing.T) {
	sc := newSLACase(t)
	sc.wantDue(SLAFirstResponse, slaT0.Add(time.Hour))
	sc.wantDue(SLAResolution, slaT0.Add(24*time.Hour))
	sc.wantDue(SLANextResponse, time.Time{})

	// 10 minutes in, on hold for 40 minutes: every due time moves 40
	// minutes later.
	sc.status(slaT0.Add(10*time.Minute), StatusOpen)
	sc.status(slaT0.Add(10*time.Minute), StatusOnHold)
	if sc.c.SLA.Running() != nil {
		t.Error("due times run while on hold")
	}
	sc.status(slaT0.Add(50*time.Minute), StatusOpen)
	sc.wantDue(SLAFirstResponse, slaT0.Add(100*time.Minute))
	sc.wantDue(SLAResolution, slaT0.Add(24*time.Hour+40*time.Minute))

	// pending stops it too, and a customer message (which reopens the
	// case) restarts it.
	sc.status(slaT0.Add(60*time.Minute), StatusPending)
	sc.change(slaT0.Add(90*time.Minute), &Message{Kind: KindMessage, Direction: Inbound}, func(c *Case) { c.Status = StatusOpen })
	sc.wantDue(SLAFirstResponse, slaT0.Add(130*time.Minute))

	// done meets the resolution; the first response still waits.
	sc.status(slaT0.Add(2*time.Hour), StatusDone)
	sc.wantDue(SLAResolution, time.Time{})
	if got := sc.c.SLA.Due(SLAFirstResponse); got == nil {
		t.Error("done forgot the first response due time")
	}
}

func TestSLANextResponseStartsAfterAReply(t *testing.T) {
	sc := newSLACase(t)
	in := &Message{Kind: KindMessage, Direction: Inbound}
	// A second customer message before any reply starts no next response.
	sc.change(slaT0.Add(5*time.Minute), in, nil)
	sc.wantDue(SLANextResponse, time.Time{})

	// The first reply meets the first response.
	sc.change(slaT0.Add(20*time.Minute), &Message{Kind: KindMessage, Direction: Outbound}, func(c *Case) { c.HasOutbound = true })
	sc.wantDue(SLAFirstResponse, time.Time{})
	sc.wantDue(SLANextResponse, time.Time{})

	// A note is no reply and no customer message.
	sc.change(slaT0.Add(25*time.Minute), &Message{Kind: KindNote, Direction: Outbound}, nil)
	sc.wantDue(SLANextResponse, time.Time{})

	// The first customer message after the reply starts next_response;
	// a second one does not move it.
	sc.change(slaT0.Add(30*time.Minute), in, nil)
	sc.wantDue(SLANextResponse, slaT0.Add(150*time.Minute))
	sc.change(slaT0.Add(40*time.Minute), in, nil)
	sc.wantDue(SLANextResponse, slaT0.Add(150*time.Minute))

	// The next reply meets it.
	sc.change(slaT0.Add(50*time.Minute), &Message{Kind: KindMessage, Direction: Outbound}, nil)
	sc.wantDue(SLANextResponse, time.Time{})
}

// next_response counts from the customer message's sent_at: a message
// the integration delivered late starts its clock when the customer sent
// it; a sent_at in the future counts from the write, and one before the
// reply from the reply.
func TestSLANextResponseCountsFromSentAt(t *testing.T) {
	sc := newSLACase(t)
	at := func(d time.Duration) time.Time { return slaT0.Add(d) }
	reply := func(d time.Duration) {
		sc.change(at(d), &Message{Kind: KindMessage, Direction: Outbound, SentAt: at(d)}, func(c *Case) { c.HasOutbound = true })
	}
	customer := func(written, sent time.Duration) {
		sc.change(at(written), &Message{Kind: KindMessage, Direction: Inbound, SentAt: at(sent)}, nil)
	}
	reply(20 * time.Minute)
	customer(3*time.Hour, 30*time.Minute) // delivered 2.5 hours late
	sc.wantDue(SLANextResponse, at(150*time.Minute))

	reply(3*time.Hour + 10*time.Minute)
	customer(4*time.Hour, 10*time.Hour) // a clock from the future
	sc.wantDue(SLANextResponse, at(6*time.Hour))

	reply(5 * time.Hour)
	customer(5*time.Hour+10*time.Minute, 4*time.Hour+30*time.Minute) // sent before the reply reached them
	sc.wantDue(SLANextResponse, at(7*time.Hour))
	if sc.c.SLA.AwaitingSince != nil {
		t.Errorf("awaiting since %v once the customer answered", sc.c.SLA.AwaitingSince)
	}

	// A reply of a store of an older release has no time: sent_at counts.
	reply(8 * time.Hour)
	sc.c.SLA.AwaitingSince = nil
	customer(9*time.Hour, 7*time.Hour)
	sc.wantDue(SLANextResponse, at(9*time.Hour))
}

// Two customer messages after a reply give the same next_response due
// time in whichever order they are written: the one sent first starts the
// clock (never before the reply); a later one never moves it later; a
// paused clock is left alone.
func TestSLANextResponseFromTheFirstSentWhateverTheOrder(t *testing.T) {
	at := func(d time.Duration) time.Time { return slaT0.Add(d) }
	for _, tc := range []struct {
		name        string
		first, then time.Duration // sent_at of the message written first, then of the one written after it
		want        time.Duration
	}{
		{"in order", 30 * time.Minute, 40 * time.Minute, 150 * time.Minute},
		{"earlier one written later", 40 * time.Minute, 30 * time.Minute, 150 * time.Minute},
		{"earlier one sent before the reply", 40 * time.Minute, 10 * time.Minute, 140 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newSLACase(t)
			sc.change(at(20*time.Minute), &Message{Kind: KindMessage, Direction: Outbound, SentAt: at(20 * time.Minute)}, func(c *Case) { c.HasOutbound = true })
			sc.change(at(time.Hour), &Message{Kind: KindMessage, Direction: Inbound, SentAt: at(tc.first)}, nil)
			sc.change(at(time.Hour+time.Minute), &Message{Kind: KindMessage, Direction: Inbound, SentAt: at(tc.then)}, nil)
			sc.wantDue(SLANextResponse, at(tc.want))
		})
	}
	t.Run("paused", func(t *testing.T) {
		sc := newSLACase(t)
		sc.change(at(20*time.Minute), &Message{Kind: KindMessage, Direction: Outbound, SentAt: at(20 * time.Minute)}, func(c *Case) { c.HasOutbound = true })
		sc.change(at(time.Hour), &Message{Kind: KindMessage, Direction: Inbound, SentAt: at(40 * time.Minute)}, nil)
		sc.status(at(time.Hour), StatusOnHold)
		sc.change(at(time.Hour+time.Minute), &Message{Kind: KindMessage, Direction: Inbound, SentAt: at(30 * time.Minute)}, nil)
		sc.status(at(time.Hour+time.Minute), StatusOpen) // on hold one minute
		sc.wantDue(SLANextResponse, at(161*time.Minute))
	})
}

func TestSLAPolicyChangeKeepsClocks(t *testing.T) {
	sc := newSLACase(t)
	sc.status(slaT0.Add(5*time.Minute), StatusOpen)
	sc.c.SLA.Breached = append(sc.c.SLA.Breached, SLAResolution)
	sc.change(slaT0.Add(10*time.Minute), nil, func(c *Case) { c.Priority = PriorityUrgent })
	if sc.c.SLA.Policy != "urgent" {
		t.Fatalf("policy %q after the priority went urgent", sc.c.SLA.Policy)
	}
	sc.wantDue(SLAFirstResponse, slaT0.Add(30*time.Minute))
	sc.wantDue(SLAResolution, slaT0.Add(8*time.Hour))
	if !sc.c.SLA.IsBreached(SLAResolution) {
		t.Error("the breach was forgotten")
	}
}

func TestSLABreachAndFilters(t *testing.T) {
	sc := newSLACase(t)
	sc.status(slaT0, StatusOpen)
	p, _ := slaPolicies.ByName("default")
	if got := sc.c.SLA.Overdue(slaT0.Add(59 * time.Minute)); len(got) != 0 {
		t.Errorf("overdue before its time: %v", got)
	}
	soon := SLAFilter{Kind: SLAFilterDueSoon, Now: slaT0.Add(44 * time.Minute), Policies: slaPolicies}
	if soon.Matches(&sc.c) || !sc.c.SLA.DueSoon(p, slaT0.Add(45*time.Minute)) {
		t.Error("due_soon is not the last quarter of the target")
	}
	// The earliest of the watched due times' last quarters.
	if at, ok := sc.c.SLA.DueSoonAt(p); !ok || !at.Equal(slaT0.Add(45*time.Minute)) {
		t.Errorf("due soon at %v %v, want the first response's last quarter", at, ok)
	}
	over := sc.c.SLA.Overdue(slaT0.Add(time.Hour))
	if len(over) != 1 || over[0] != SLAFirstResponse {
		t.Fatalf("overdue at the hour: %v", over)
	}
	sc.c.Breach(over)
	sc.c.Breach(over)
	if len(sc.c.SLA.Breached) != 1 || len(sc.c.SLA.Overdue(slaT0.Add(2*time.Hour))) != 0 {
		t.Errorf("breached %v; overdue again %v", sc.c.SLA.Breached, sc.c.SLA.Overdue(slaT0.Add(2*time.Hour)))
	}
	// A breached due time is no longer watched: the resolution's is next.
	if at, ok := sc.c.SLA.DueSoonAt(p); !ok || !at.Equal(slaT0.Add(18*time.Hour)) {
		t.Errorf("due soon at %v %v after the breach, want the resolution's last quarter", at, ok)
	}
	if !(SLAFilter{Kind: SLAFilterBreached}).Matches(&sc.c) || (SLAFilter{Kind: SLAFilterBreached}).Matches(&Case{}) {
		t.Error("sla=breached")
	}
	if _, err := PlanQuery(User{ID: "s", Role: RoleSupervisor}, CaseQuery{SLA: "late"}); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("sla=late: %v", err)
	}
}
