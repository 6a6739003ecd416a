package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
)

// applyChange applies a change as the change-event subscriber does.
func (w *world) applyChange(sfID, status string, at time.Time) PollResult {
	w.t.Helper()
	res, err := w.p.ApplyChange(context.Background(), Change{SalesforceID: sfID, Status: status, At: at})
	if err != nil {
		w.t.Fatalf("apply change: %v", err)
	}
	return res
}

func TestApplyChangeIsThePollersPath(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	c, sf := w.linkedCase(1)
	if object, field, ok := w.p.StatusField(); !ok || object != "Case" || field != "Status" {
		t.Fatalf("StatusField() = %q, %q, %v", object, field, ok)
	}
	calls := w.sim.Stats().Total
	pending := w.stats().Pending

	at := time.Now()
	if res := w.applyChange(sf, "Escalated", at); res.Applied != 1 {
		t.Fatalf("first delivery: %+v", res)
	}
	got := w.careCase(c.ID)
	if got.Status != care.StatusOnHold || got.Salesforce.Status != "Escalated" {
		t.Fatalf("care %s, recorded %q", got.Status, got.Salesforce.Status)
	}
	// Delivered again (a replay after a crash before the replay id was
	// stored): applied once, not twice.
	if res := w.applyChange(sf, "Escalated", at); res.Applied != 0 || res.Recorded != 0 {
		t.Fatalf("second delivery: %+v", res)
	}
	// An older change delivered late does not undo the newer one.
	if res := w.applyChange(sf, "Working", at.Add(-time.Second)); res.SkippedNewer != 1 {
		t.Fatalf("older change: %+v", res)
	}
	// A case not linked: nothing, cheaply.
	if res := w.applyChange("500000000000999AAA", "Closed", at); res.Applied+res.Recorded != 0 {
		t.Fatalf("unlinked case: %+v", res)
	}
	if got := w.careCase(c.ID); got.Status != care.StatusOnHold {
		t.Fatalf("care %s after the replays", got.Status)
	}
	if n := w.sim.Stats().Total - calls; n != 0 {
		t.Fatalf("%d Salesforce calls to apply change events, want 0", n)
	}
	if st := w.stats(); st.Pending != pending {
		t.Fatalf("outbox pending %d, was %d: a value from Salesforce went back", st.Pending, pending)
	}
	if n := w.syncs(DirectionFromSalesforce); n != 1 {
		t.Fatalf("carebridge_status_sync_total{from_salesforce} = %v, want 1", n)
	}
}

func TestApplyDeletedLikeThePoll(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	c, sf := w.linkedCase(1)
	at := time.Now().UTC().Truncate(time.Second)
	for range 2 {
		if _, err := w.p.ApplyDeleted(context.Background(), sf, at); err != nil {
			t.Fatal(err)
		}
	}
	got := w.careCase(c.ID)
	if got.Salesforce.DeletedAt == nil || !got.Salesforce.DeletedAt.Equal(at) || care.LockedForReply(&got) {
		t.Fatalf("case after the delete event: %+v", got.Salesforce)
	}
}

func TestPollerIsASafetyNetWhileTheStreamIsUp(t *testing.T) {
	w := newWorld(t, worldOptions{poller: func(o *PollerOptions) { o.IntervalWithEvents = time.Hour }})
	w.connect()
	w.linkedCase(1)
	w.p.SetChangeStream(true)
	w.runPoller()
	eventually(t, 10*time.Second, "the first poll", func() bool { return !w.p.LastPollAt().IsZero() })
	first := w.p.LastPollAt()
	if w.p.currentInterval() != time.Hour {
		t.Fatalf("interval while the stream is up: %v", w.p.currentInterval())
	}
	// The stream goes down: the poller runs every poll_interval again,
	// without waiting out the hour.
	w.p.SetChangeStream(false)
	eventually(t, 10*time.Second, "polls every interval again", func() bool { return w.p.LastPollAt().After(first) })
}
