package outbox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/sfsim"
)

// drained reports whether the outbox has nothing pending.
func (w *world) drained() bool { return w.stats().Pending == 0 }

func TestBackfillLast100InOneCall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		automatic bool // an escalate entry and the escalator, else a link made by hand
	}{
		{"linked", false},
		{"automatic escalation", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			w.connect()
			c := w.newCase(1, tc.automatic)
			for i := range 119 {
				w.ingest(1, fmt.Sprintf("m%03d", i))
			}
			if !tc.automatic {
				w.link(c.ID, w.sfCase("backfill"))
			}
			want, err := w.store.RecentMessages(context.Background(), c.ID, 100)
			if err != nil || len(want) != 100 {
				t.Fatalf("recent: %d %v", len(want), err)
			}
			w.sim.ResetStats()
			w.runDeliverer()
			eventually(t, 20*time.Second, "outbox drained", w.drained)

			c = w.careCase(c.ID)
			if c.Salesforce.CaseID == "" {
				t.Fatal("case not linked")
			}
			recs := w.messageRecords()
			if len(recs) != 100 {
				t.Fatalf("%d message records, want 100", len(recs))
			}
			for _, m := range want {
				r, ok := recs[m.ExternalKey]
				if !ok {
					t.Fatalf("message %s (%s) not in Salesforce", m.ID, m.ExternalID)
				}
				if r["Case__c"] != c.Salesforce.CaseID || r["Content__c"] != m.Text || r["Direction__c"] != "Inbound" {
					t.Fatalf("record of %s: %v", m.ID, r)
				}
			}
			calls := w.calls("collections")
			t.Logf("backfill: %d collections call(s), %d records", calls, len(recs))
			if calls != 1 {
				t.Fatalf("%d collections calls, want 1", calls)
			}
			if tc.automatic {
				if n := w.escalations.Load(); n != 1 {
					t.Fatalf("%d escalations", n)
				}
				if cases := w.sim.Records("Case"); len(cases) != 1 || cases[0]["Care_Case_Id__c"] != fmt.Sprint(c.ID) {
					t.Fatalf("cases: %v", cases)
				}
			}
			// A new message goes on its own.
			m := w.ingest(1, "later")
			eventually(t, 10*time.Second, "new message pushed", func() bool { _, ok := w.messageRecords()[m.ExternalKey]; return ok && w.drained() })
			// Backfills are history, not lag: one observation, the new message.
			eventually(t, 10*time.Second, "push lag observed", func() bool {
				v, _ := metricValue(t, w.reg, "carebridge_push_lag_seconds", nil)
				return v == 1
			})
			if v, _ := metricValue(t, w.reg, "carebridge_messages_pushed_total", nil); v != 101 {
				t.Fatalf("pushed_total %v, want 101", v)
			}
		})
	}
}

// burst ingests per messages for each of cases linked cases, from
// concurrent callers, and returns every message's external key.
func (w *world) burst(cases []int, per int) []string {
	w.t.Helper()
	var ids []string
	type result struct {
		ids []string
		err error
	}
	ch := make(chan result, len(cases))
	for _, n := range cases {
		go func() {
			var r result
			for i := range per {
				res, err := w.store.Ingest(context.Background(), community, message(fmt.Sprintf("b%d-%d", n, i), n))
				if err != nil {
					r.err = err
					break
				}
				r.ids = append(r.ids, res.Message.ExternalKey)
			}
			ch <- r
		}()
	}
	for range cases {
		r := <-ch
		if r.err != nil {
			w.t.Fatal(r.err)
		}
		ids = append(ids, r.ids...)
	}
	return ids
}

func TestBurstCoalescesIntoFewCalls(t *testing.T) {
	for _, tc := range []struct {
		name     string
		running  bool // the deliverer runs while the burst comes in
		maxCalls int64
		minAvg   float64
	}{
		// The whole burst waits in the outbox (e.g. after an outage).
		{name: "backlog", maxCalls: 7, minAvg: 150},
		// Messages trickle in from 50 writers while batches go out.
		{name: "while running", running: true, maxCalls: 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			w.connect()
			ns, all := w.linkedCases(50)
			w.sim.ResetStats()
			if tc.running {
				w.runDeliverer()
			}
			all = append(all, w.burst(ns, 19)...)
			if !tc.running {
				w.runDeliverer()
			}
			eventually(t, 30*time.Second, "outbox drained", w.drained)
			if n := w.mustHaveEachOnce(all); n != len(all) {
				t.Fatalf("%d records for %d messages", n, len(all))
			}
			calls := w.calls("collections")
			avg := float64(len(all)) / float64(calls)
			t.Logf("burst (%s): %d messages over 50 cases in %d collections calls, %.0f messages per call",
				tc.name, len(all), calls, avg)
			if calls > tc.maxCalls || avg < tc.minAvg {
				t.Fatalf("%d calls (%.0f per call), want at most %d calls and %.0f per call", calls, avg, tc.maxCalls, tc.minAvg)
			}
		})
	}
}

func TestStatusCoalescedAndRecorded(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	type linked struct {
		c  care.Case
		sf string
	}
	var cs []linked
	for n := range 5 {
		c, sf := w.linkedCase(n)
		cs = append(cs, linked{c, sf})
	}
	// Each case goes through several statuses; only the last is sent.
	path := []care.Status{care.StatusOpen, care.StatusOnHold, care.StatusPending}
	for _, l := range cs {
		for _, st := range path {
			if _, err := w.store.PatchCase(context.Background(), alice, l.c.ID, care.CasePatch{
				Status: care.Optional[care.Status]{Set: true, Value: st}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := w.stats(); st.Pending != 20 {
		t.Fatalf("pending %d, want 5 backfills and 15 status updates", st.Pending)
	}
	w.sim.ResetStats()
	w.runDeliverer()
	eventually(t, 10*time.Second, "outbox drained", w.drained)
	for _, l := range cs {
		r, _ := w.sim.Record("Case", l.sf)
		if r["Status"] != "Working" {
			t.Fatalf("Salesforce case %s status %v, want Working (pending)", l.sf, r["Status"])
		}
		if c := w.careCase(l.c.ID); c.Salesforce.Status != "Working" || c.Status != care.StatusPending {
			t.Fatalf("care case: status %s, salesforce status %q", c.Status, c.Salesforce.Status)
		}
	}
	if n := w.calls("collections"); n != 2 {
		t.Fatalf("%d collections calls for 5 cases' backfills and statuses, want 2", n)
	}
	eventually(t, 10*time.Second, "five status syncs counted", func() bool { return w.syncs(DirectionToSalesforce) == 5 })
	if v, ok := metricValue(t, w.reg, "carebridge_status_sync_total", map[string]string{"direction": DirectionFromSalesforce}); !ok || v != 0 {
		t.Fatalf("from_salesforce series %v %v, want exported at 0", v, ok)
	}
}

func TestOrderPerCase(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	c, sf := w.linkedCase(1)
	// push, status, push, status: each waits for the one before.
	m1 := w.ingest(1, "o1")
	w.store.PatchCase(context.Background(), alice, c.ID, care.CasePatch{Status: care.Optional[care.Status]{Set: true, Value: care.StatusOnHold}})
	m2 := w.ingest(1, "o2")
	w.store.PatchCase(context.Background(), alice, c.ID, care.CasePatch{Status: care.Optional[care.Status]{Set: true, Value: care.StatusPending}})
	due, _ := w.store.OutboxDue(context.Background(), time.Now().Add(time.Hour), 100, nil)
	var kinds []care.OpKind
	for _, e := range due {
		kinds = append(kinds, e.Kind)
	}
	// on_hold sets Escalated; the message after it wants New (the
	// needs-attention rule) although Salesforce still has New, because
	// Escalated is on its way; pending then sets Working.
	want := []care.OpKind{care.OpBackfill, care.OpPushMessage, care.OpSetStatus, care.OpPushMessage, care.OpSetStatus, care.OpSetStatus}
	if !slices.Equal(kinds, want) {
		t.Fatalf("queue %v, want %v", kinds, want)
	}
	w.runDeliverer()
	eventually(t, 10*time.Second, "outbox drained", w.drained)
	recs := w.messageRecords()
	if _, ok := recs[m1.ExternalKey]; !ok {
		t.Fatal("m1 missing")
	}
	if _, ok := recs[m2.ExternalKey]; !ok {
		t.Fatal("m2 missing")
	}
	r, _ := w.sim.Record("Case", sf)
	// The last status change (pending) wins.
	if r["Status"] != "Working" {
		t.Fatalf("Salesforce status %v", r["Status"])
	}
}

func TestFaultsEveryMessageExactlyOnce(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	ns, all := w.linkedCases(50)
	faults := []sfsim.Fault{
		{Kind: sfsim.FaultServerError, Count: 2},
		{Kind: sfsim.FaultUnableToLockRow, Count: 2},
		{Kind: sfsim.FaultDrop, Count: 1},
		{Kind: sfsim.FaultDrop, Count: 1, AfterCommit: true},
		{Kind: sfsim.FaultLatency, Count: 3, LatencyMS: 300},
		{Kind: sfsim.FaultServerError, Count: 1, Status: 500, AfterCommit: true},
		{Kind: sfsim.FaultUnableToLockRow, Count: 1, AfterCommit: true},
		{Kind: sfsim.FaultServerError, Count: 1, Status: 502},
	}
	inject := func() {
		for _, f := range faults {
			if err := w.sim.InjectFault(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.sim.ResetStats()
	inject()
	w.runDeliverer()
	all = append(all, w.burst(ns[:25], 19)...)
	inject() // a second round in the middle of the burst
	all = append(all, w.burst(ns[25:], 19)...)
	eventually(t, 45*time.Second, "outbox drained", w.drained)

	if st := w.stats(); st.Failed != 0 {
		failed, _ := w.store.OutboxList(context.Background(), care.OutboxFailed, 10)
		t.Fatalf("%d entries failed: %+v", st.Failed, failed)
	}
	if n := w.mustHaveEachOnce(all); n != len(all) {
		t.Fatalf("%d records for %d messages", n, len(all))
	}
	if !strings.Contains(w.logs.String(), "outbox: retry scheduled") {
		t.Fatal("no delivery was retried: the faults did not bite")
	}
	calls := w.calls("collections")
	t.Logf("faults: %d messages over 50 cases in %d collections calls (%.0f messages per call), %d data calls in all",
		len(all), calls, float64(len(all))/float64(calls), w.sim.Stats().Total)
	if v, _ := metricValue(t, w.reg, "carebridge_messages_pushed_total", nil); v < float64(len(all)) {
		t.Fatalf("pushed_total %v < %d", v, len(all))
	}
}

// countingStore counts the message loads of planning.
type countingStore struct {
	Store
	loads atomic.Int64
}

func (s *countingStore) RecentMessages(ctx context.Context, caseID int64, n int) ([]care.Message, error) {
	s.loads.Add(1)
	return s.Store.RecentMessages(ctx, caseID, n)
}

func TestPlanStopsLoadingOnceNothingFits(t *testing.T) {
	w := newWorld(t, worldOptions{})
	var cases []int64
	for n := range 6 {
		c := w.newCase(n, false)
		for i := range 59 {
			w.ingest(n, fmt.Sprintf("p%d-%d", n, i))
		}
		w.link(c.ID, w.sfCase(fmt.Sprintf("plan %d", n)))
		cases = append(cases, c.ID)
	}
	// One worker: one unit a round. Backfills of 60 records each: three
	// fill 180 of 200, the fourth does not fit, and nothing after it can
	// open a unit.
	store := &countingStore{Store: w.store}
	opts := w.dopts
	opts.Store, opts.Workers = store, 1
	d, err := NewDeliverer(opts)
	if err != nil {
		t.Fatal(err)
	}
	units, _, err := d.plan(context.Background(), w.holder.Current(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 1 || len(units[0].runs) != 3 || units[0].records != 180 || !units[0].closed {
		t.Fatalf("units %+v", units)
	}
	for i, r := range units[0].runs {
		if r.caseID != cases[i] {
			t.Fatalf("run %d is case %d, want %d (oldest first)", i, r.caseID, cases[i])
		}
	}
	if n := store.loads.Load(); n != 4 {
		t.Fatalf("%d cases' messages loaded for one unit of three, want 4", n)
	}
}
