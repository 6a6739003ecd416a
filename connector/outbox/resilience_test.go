package outbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/tokens"
)

// hold watches the org and the outbox for a while and fails when cond
// stops holding: for checks that something does not happen.
func hold(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.NewTimer(d)
	defer end.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if !cond() {
			t.Fatalf("no longer holds: %s", what)
		}
		select {
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}

func TestNoHealthyTokenOutboxWaitsThenDrains(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	c, sf := w.linkedCase(1)
	w.runSynced()

	// Salesforce revokes every token of the admin, the only user.
	if err := w.sim.RevokeUser(sfsim.DefaultUsername); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 30 {
		ids = append(ids, w.ingest(1, fmt.Sprintf("dark-%d", i)).ExternalKey)
	}
	w.careSet(c.ID, care.StatusPending)
	eventually(t, 10*time.Second, "the pool sees the token expired", func() bool { return w.pool.State() == tokens.Expired })

	// The outbox grows; nothing fails, no attempt is counted, and neither
	// deliveries nor polls call Salesforce.
	calls := w.sim.Stats().ByOperation
	hold(t, time.Second, "outbox waits", func() bool {
		st := w.stats()
		now := w.sim.Stats().ByOperation
		return st.Pending == 31 && st.Failed == 0 && now["query"] == calls["query"] && now["collections"] == calls["collections"]
	})
	pending, err := w.store.OutboxList(context.Background(), care.OutboxPending, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pending {
		if e.Attempts != 0 {
			t.Fatalf("entry %d: %d attempts counted while no token was healthy", e.ID, e.Attempts)
		}
	}
	if got := len(w.messageRecords()); got != 1 {
		t.Fatalf("%d records", got)
	}
	if v, _ := metricValue(t, w.reg, "carebridge_outbox_pending", nil); v != 31 {
		t.Fatalf("outbox_pending gauge %v", v)
	}
	if v, _ := metricValue(t, w.reg, "carebridge_outbox_oldest_age_seconds", nil); v < 1 {
		t.Fatalf("oldest age %v, want at least the second waited", v)
	}

	// A supervisor connects again: everything goes, polling resumes.
	w.connect()
	eventually(t, 20*time.Second, "outbox drained", w.drained)
	w.mustHaveMessages(ids)
	if w.sfStatus(sf) != "Working" {
		t.Fatalf("status %s", w.sfStatus(sf))
	}
	eventually(t, 10*time.Second, "polling resumed", func() bool { return w.calls("query") > calls["query"] })
	if v, _ := metricValue(t, w.reg, "carebridge_outbox_oldest_age_seconds", nil); v != 0 {
		t.Fatalf("oldest age %v with nothing pending", v)
	}
}

func TestBudget(t *testing.T) {
	t.Run("past the share background work waits", func(t *testing.T) {
		w := newWorld(t, worldOptions{budget: BudgetOptions{Share: 0.9, CheckEvery: time.Hour}})
		w.connect()
		c, _ := w.linkedCase(1)
		w.runDeliverer()
		w.runPoller()
		eventually(t, 10*time.Second, "backfill delivered", w.drained)

		w.sim.SetDailyLimit(100)
		w.sim.SetAPIUsage(95)
		w.ingest(1, "last-before") // its push reads 96/100 and pauses
		eventually(t, 10*time.Second, "pushed and paused", func() bool { return w.drained() && w.budget.State().Paused })
		calls := w.sim.Stats().Total
		var late []string
		for i := range 5 {
			late = append(late, w.ingest(1, fmt.Sprintf("late-%d", i)).ExternalKey)
		}
		w.careSet(c.ID, care.StatusOnHold)
		hold(t, time.Second, "background work waits", func() bool {
			return w.stats().Pending == 6 && w.sim.Stats().Total == calls
		})
		if st := w.stats(); st.Failed != 0 {
			t.Fatalf("stats %+v", st)
		}

		// The day rolls over; an agent action's answer shows the room.
		w.sim.SetDailyLimit(100000)
		agentCall(t, w)
		eventually(t, 10*time.Second, "outbox drained", w.drained)
		w.mustHaveMessages(late)
		if w.budget.State().Paused {
			t.Fatal("still paused")
		}
	})

	t.Run("REQUEST_LIMIT_EXCEEDED pauses instead of failing", func(t *testing.T) {
		w := newWorld(t, worldOptions{budget: BudgetOptions{CheckEvery: time.Hour}})
		w.connect()
		w.linkedCase(1)
		if err := w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultRequestLimitExceeded, Count: 1}); err != nil {
			t.Fatal(err)
		}
		w.runDeliverer()
		eventually(t, 10*time.Second, "paused", func() bool { return w.budget.State().Exceeded })
		hold(t, 500*time.Millisecond, "the entry waits untouched", func() bool {
			es, _ := w.store.OutboxList(context.Background(), care.OutboxPending, 10)
			return len(es) == 1 && es[0].Attempts == 0 && es[0].LastError == "" && w.stats().Failed == 0
		})
		agentCall(t, w)
		eventually(t, 10*time.Second, "outbox drained", w.drained)
		if len(w.messageRecords()) != 1 {
			t.Fatal("backfill not delivered")
		}
	})

	t.Run("a probe per check interval", func(t *testing.T) {
		w := newWorld(t, worldOptions{budget: BudgetOptions{CheckEvery: 100 * time.Millisecond}})
		w.connect()
		w.linkedCase(1)
		w.sim.SetDailyLimit(100)
		w.sim.SetAPIUsage(100)
		w.runDeliverer()
		eventually(t, 10*time.Second, "paused", func() bool { return w.budget.State().Paused })
		// Probes keep asking; each answer is the same 403, and the entry
		// stays pending without an attempt counted.
		eventually(t, 10*time.Second, "probes", func() bool { return w.calls("describe") >= 3 })
		es, _ := w.store.OutboxList(context.Background(), care.OutboxPending, 10)
		if len(es) != 1 || es[0].Attempts != 0 || w.stats().Failed != 0 {
			t.Fatalf("entries %+v", es)
		}
		w.sim.SetDailyLimit(100000)
		eventually(t, 10*time.Second, "outbox drained by a probe", w.drained)
	})
}

// agentCall is an agent's action: a call outside the background work,
// whose answer reports the usage.
func agentCall(t *testing.T, w *world) {
	t.Helper()
	conn, err := w.pool.Background(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Client.Query(context.Background(), "SELECT Id FROM User LIMIT 1"); err != nil {
		t.Fatal(err)
	}
}

func TestBudgetProbes(t *testing.T) {
	clock := time.Date(2025, 7, 31, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	b := NewBudget(BudgetOptions{Share: 0.5, CheckEvery: time.Minute, Now: now})
	ctx := context.Background()
	if probe, err := b.Wait(ctx); probe || err != nil {
		t.Fatalf("unpaused: %v %v", probe, err)
	}
	b.Observe(salesforce.LimitInfo{Used: 40, Max: 100}, true)
	if b.State().Paused {
		t.Fatal("paused under the share")
	}
	b.Observe(salesforce.LimitInfo{Used: 51, Max: 100}, true)
	if !b.State().Paused {
		t.Fatal("not paused past the share")
	}
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.Wait(waitCtx); err == nil {
		t.Fatal("Wait returned during the pause")
	}
	clock = clock.Add(time.Minute)
	if probe, err := b.Wait(ctx); !probe || err != nil {
		t.Fatalf("after the interval: probe %v %v", probe, err)
	}
	// Only one probe per interval.
	waitCtx2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := b.Wait(waitCtx2); err == nil {
		t.Fatal("a second probe in the same interval")
	}
	// The probe's answer shows room: everyone goes.
	b.Observe(salesforce.LimitInfo{Used: 10, Max: 100}, true)
	if probe, err := b.Wait(ctx); probe || err != nil {
		t.Fatalf("after room: %v %v", probe, err)
	}
	b.LimitExceeded()
	if st := b.State(); !st.Paused || !st.Exceeded {
		t.Fatalf("state %+v", st)
	}
	b.Observe(salesforce.LimitInfo{}, false) // no header: nothing learnt
	if !b.State().Paused {
		t.Fatal("unpaused without an answer")
	}
}
