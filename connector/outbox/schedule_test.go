package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/tokens"
)

func TestRetrySchedulePersists(t *testing.T) {
	w := newWorld(t, worldOptions{deliverer: func(o *DelivererOptions) { o.BaseBackoff, o.MaxBackoff = time.Hour, 2*time.Hour }})
	w.connect()
	w.linkedCase(1)
	if err := w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultServerError, Count: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w.runDeliverer()
	var e care.OutboxEntry
	eventually(t, 10*time.Second, "first attempt failed", func() bool {
		es, _ := w.store.OutboxList(context.Background(), care.OutboxPending, 10)
		if len(es) == 1 && es[0].Attempts == 1 {
			e = es[0]
			return true
		}
		return false
	})
	if wait := e.NextAttemptAt.Sub(start); wait < 48*time.Minute || wait > 73*time.Minute {
		t.Fatalf("next attempt in %s, want about an hour", wait)
	}
	if !strings.Contains(e.LastError, "503") {
		t.Fatalf("last error %q", e.LastError)
	}
	// A restart keeps the schedule: nothing is tried before it is due.
	w.restartDeliverer()
	calls := w.sim.Stats().Total
	hold(t, 300*time.Millisecond, "waits for its time", func() bool { return w.sim.Stats().Total == calls && w.stats().Pending == 1 })
	// Due now (a second failure would double the wait; here it goes).
	if err := w.store.OutboxRetry(context.Background(), []uint64{e.ID}, time.Now(), e.LastError); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "delivered when due", w.drained)
}

func TestEscalationErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		wantState care.OutboxState
		attempts  int
		lastError string
	}{
		{name: "retryable", err: &salesforce.APIError{Status: http.StatusServiceUnavailable, Message: "Service Unavailable"},
			wantState: care.OutboxPending, attempts: 1, lastError: "503"},
		{name: "lock", err: &salesforce.APIError{Status: 400, Code: salesforce.CodeUnableToLockRow, Message: "unable to obtain exclusive access"},
			wantState: care.OutboxPending, attempts: 1, lastError: "UNABLE_TO_LOCK_ROW"},
		{name: "no token", err: fmt.Errorf("escalate: %w", tokens.ErrNoHealthyToken), wantState: care.OutboxPending},
		{name: "refused", err: &salesforce.APIError{Status: 400, Code: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [Subject]", Fields: []string{"Subject"}},
			wantState: care.OutboxFailed, attempts: 1, lastError: "REQUIRED_FIELD_MISSING: Required fields are missing: [Subject] (fields: Subject)"},
		{name: "rules", err: care.Errorf(care.CodeConflict, "conversation_too_old"), wantState: care.OutboxFailed, attempts: 1, lastError: "conversation_too_old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			w := newWorld(t, worldOptions{deliverer: func(o *DelivererOptions) {
				o.BaseBackoff, o.MaxBackoff = time.Hour, time.Hour
				o.Escalator = EscalatorFunc(func(ctx context.Context, caseID int64, actor string) error {
					calls.Add(1)
					return fmt.Errorf("escalate case %d: %w", caseID, tc.err)
				})
			}})
			w.connect()
			c := w.newCase(1, true)
			w.runDeliverer()
			eventually(t, 10*time.Second, "escalation tried", func() bool { return calls.Load() >= 1 })
			if tc.attempts == 0 { // parked: tried again later, never counted
				eventually(t, 10*time.Second, "tried again after parking", func() bool { return calls.Load() >= 2 })
			}
			var es []care.OutboxEntry
			eventually(t, 10*time.Second, "entry settled", func() bool {
				es, _ = w.store.OutboxList(context.Background(), tc.wantState, 10)
				return len(es) == 1 && es[0].Attempts == tc.attempts
			})
			if es[0].Kind != care.OpEscalate || es[0].CaseID != c.ID || !strings.Contains(es[0].LastError, tc.lastError) {
				t.Fatalf("entry %+v", es[0])
			}
			if tc.name == "refused" && es[0].LastError != tc.lastError {
				t.Fatalf("last error %q", es[0].LastError)
			}
		})
	}
}

func TestDrain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		latency time.Duration // of the describe call in flight at shutdown
		drain   time.Duration
		wantErr error
	}{
		{name: "in-flight delivery finishes", latency: 300 * time.Millisecond, drain: 20 * time.Second},
		{name: "deadline cancels it", latency: 5 * time.Second, drain: 100 * time.Millisecond, wantErr: context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			w.connect()
			w.linkedCase(1)
			if err := w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultLatency, Count: 1, LatencyMS: int(tc.latency.Milliseconds())}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- w.d.Run(ctx) }()
			eventually(t, 10*time.Second, "a delivery in flight", func() bool { return w.calls("describe") == 1 })
			cancel()
			dctx, dcancel := context.WithTimeout(context.Background(), tc.drain)
			defer dcancel()
			if err := w.d.Drain(dctx); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Drain: %v, want %v", err, tc.wantErr)
			}
			if err := <-ran; err != nil {
				t.Fatalf("Run: %v", err)
			}
			es, _ := w.store.OutboxList(context.Background(), care.OutboxPending, 10)
			if tc.wantErr == nil {
				if len(es) != 0 || len(w.messageRecords()) != 1 {
					t.Fatalf("after drain: pending %+v, %d records", es, len(w.messageRecords()))
				}
				return
			}
			// Cancelled: the entry stays as it was and goes after a restart.
			if len(es) != 1 || es[0].Attempts != 0 || es[0].LastError != "" {
				t.Fatalf("after drain: %+v", es)
			}
			w.restartDeliverer()
			eventually(t, 10*time.Second, "delivered after restart", w.drained)
			if len(w.messageRecords()) != 1 {
				t.Fatal("backfill missing")
			}
		})
	}
}

func TestPollPagesOnlyWhenManyChanged(t *testing.T) {
	// The org's stamps have whole seconds and the watermark's second is
	// read again: each round moves the org's clock on by two seconds.
	clk := &worldClock{}
	w := newWorld(t, worldOptions{
		sim:    sfsim.Options{QueryBatchSize: 200, Now: clk.Now},
		poller: func(o *PollerOptions) { o.Overlap = time.Millisecond },
	})
	w.connect()
	_, sfIDs := w.linkMany(linkedChunk) // one Id IN (…) chunk
	first := w.poll()
	if first.Records < linkedChunk || first.Pages != (first.Records+199)/200 {
		t.Fatalf("first poll: %+v", first)
	}
	clk.Move(2 * time.Second)
	w.sfSet(sfIDs[len(sfIDs)-1], "Escalated")
	w.poll() // the watermark leaves the second of the links
	for round, changed := range []int{3, 250} {
		clk.Move(2 * time.Second)
		for _, id := range sfIDs[:changed] {
			if err := w.sim.UpdateRecord("Case", id, map[string]any{"Subject": fmt.Sprintf("round %d", round)}); err != nil {
				t.Fatal(err)
			}
		}
		before := w.calls("query")
		res := w.poll()
		calls := w.calls("query") - before
		want := int64((res.Records + 199) / 200)
		t.Logf("%d changed: %d records read in %d calls", changed, res.Records, calls)
		// A few records of the last round come back in the overlap.
		if res.Records < changed || res.Records > changed+50 || calls != want || int64(res.Pages) != calls {
			t.Fatalf("%d changed: %+v in %d calls", changed, res, calls)
		}
	}
}
