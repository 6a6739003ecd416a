package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/sfsim"
)

// sfSet changes a Salesforce case as a Salesforce user would.
func (w *world) sfSet(sfID, status string) {
	w.t.Helper()
	if err := w.sim.UpdateRecord("Case", sfID, map[string]any{"Status": status}); err != nil {
		w.t.Fatal(err)
	}
}

// careSet changes a Care case's status as an agent.
func (w *world) careSet(id int64, st care.Status) {
	w.t.Helper()
	if _, err := w.store.PatchCase(context.Background(), alice, id, care.CasePatch{
		Status: care.Optional[care.Status]{Set: true, Value: st}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) sfStatus(sfID string) string {
	r, _ := w.sim.Record("Case", sfID)
	s, _ := r["Status"].(string)
	return s
}

func (w *world) poll() PollResult {
	w.t.Helper()
	res, err := w.p.Poll(context.Background())
	if err != nil {
		w.t.Fatalf("poll: %v", err)
	}
	return res
}

// restartedPoller is a new poller on the world's store, as after a
// restart: it knows only what the store kept.
func (w *world) restartedPoller(opt func(*PollerOptions)) *Poller {
	w.t.Helper()
	o := PollerOptions{Store: w.store, KV: w.store.KV(Namespace), Tokens: w.pool, Mapping: w.holder.Current}
	opt(&o)
	p, err := NewPoller(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) syncs(direction string) float64 {
	v, _ := metricValue(w.t, w.reg, "carebridge_status_sync_total", map[string]string{"direction": direction})
	return v
}

func TestPollerCarriesSalesforceStatus(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	c, sf := w.linkedCase(1)
	other, otherSF := w.linkedCase(2)
	w.runDeliverer()
	w.runPoller()
	eventually(t, 10*time.Second, "backfills delivered", w.drained)

	w.sfSet(sf, "Escalated")
	eventually(t, 10*time.Second, "Escalated reaches Care", func() bool { return w.careCase(c.ID).Status == care.StatusOnHold })
	got := w.careCase(c.ID)
	if got.Salesforce.Status != "Escalated" {
		t.Fatalf("recorded Salesforce status %q", got.Salesforce.Status)
	}
	// Done from Salesforce needs no assignee.
	w.sfSet(otherSF, "Closed")
	eventually(t, 10*time.Second, "Closed reaches Care", func() bool { return w.careCase(other.ID).Status == care.StatusDone })
	if st := w.stats(); st.Pending != 0 {
		t.Fatalf("%d entries pending: a value from Salesforce went back", st.Pending)
	}
	eventually(t, 10*time.Second, "two syncs from Salesforce counted", func() bool {
		lag, _ := metricValue(t, w.reg, "carebridge_status_sync_lag_seconds", map[string]string{"direction": DirectionFromSalesforce})
		return w.syncs(DirectionFromSalesforce) == 2 && lag == 2
	})
	if last := w.p.LastPollAt(); last.IsZero() {
		t.Fatal("no successful poll recorded")
	}
	if v, _ := metricValue(t, w.reg, "carebridge_poll_last_success_timestamp_seconds", nil); v == 0 {
		t.Fatal("poll timestamp gauge not set")
	}
}

func TestPollerCustomField(t *testing.T) {
	m := bytes.Replace(exampleMapping(t), []byte("care_field: status "), []byte(`care_field: "field:SF status"`), 1)
	w := newWorld(t, worldOptions{mapping: m})
	w.connect()
	c, sf := w.linkedCase(1)
	w.poll()
	w.sfSet(sf, "Escalated")
	if res := w.poll(); res.Applied != 1 {
		t.Fatalf("poll: %+v", res)
	}
	got := w.careCase(c.ID)
	if got.Fields["SF status"] != "on_hold" || got.Status != care.StatusNew {
		t.Fatalf("case: status %s fields %v", got.Status, got.Fields)
	}
	// A value from_salesforce does not list is copied as it is (in the
	// same second or not).
	w.sfSet(sf, "Waiting on Vendor")
	if res := w.poll(); res.Applied != 1 {
		t.Fatalf("poll: %+v", res)
	}
	got = w.careCase(c.ID)
	if got.Fields["SF status"] != "Waiting on Vendor" || got.Salesforce.Status != "Waiting on Vendor" || got.Status != care.StatusNew {
		t.Fatalf("case: status %s fields %v, salesforce status %q", got.Status, got.Fields, got.Salesforce.Status)
	}
	// A change to another field leaves the status alone.
	if err := w.sim.UpdateRecord("Case", sf, map[string]any{"Subject": "touched"}); err != nil {
		t.Fatal(err)
	}
	if res := w.poll(); res.Applied != 0 || res.Records == 0 {
		t.Fatalf("an unchanged status applied: %+v", res)
	}
}

// linkMany opens n cases and links each to a new Salesforce case, from
// concurrent writers, as carebridge creates them: the case's external key
// in Care_Case_Id__c, and the link says so.
func (w *world) linkMany(n int) (cases []int64, sfIDs []string) {
	return w.linkManyFrom(0, n, "Care_Case_Id__c")
}

// linkManyFrom is linkMany for customers from, from+1, …; recorded is
// the external id field the links say was written ("": an older
// release's link, which does not say).
func (w *world) linkManyFrom(from, n int, recorded string) (cases []int64, sfIDs []string) {
	w.t.Helper()
	cases, sfIDs = make([]int64, n), make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := w.store.Escalate(context.Background(), community, care.EscalateInput{Message: message(fmt.Sprintf("many-%d", from+i), 1000+from+i)})
			if err != nil {
				errs <- err
				return
			}
			sf, err := w.sim.CreateRecord("Case", map[string]any{"Subject": fmt.Sprintf("many %d", i), "Care_Case_Id__c": res.Case.ExternalKey})
			if err != nil {
				errs <- err
				return
			}
			if _, err := w.store.SetSalesforceLink(context.Background(), res.Case.ID, func(l *care.SalesforceLink) {
				l.CaseID, l.Status, l.ExternalIDField = sf, "New", recorded
			}); err != nil {
				errs <- err
				return
			}
			cases[i], sfIDs[i] = res.Case.ID, sf
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		w.t.Fatal(err)
	}
	return cases, sfIDs
}

// TestPollCallsPerLinkedCases: with the case external id field in the
// mapping, one query per poll however many cases are linked (the field names
// them all); without it, one query per linkedChunk linked cases (their ids
// in Id IN (…)). Never one per case.
func TestPollCallsPerLinkedCases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mapping []byte
		want    map[int]int64
	}{
		{"external id field", nil, map[int]int64{10: 1, 1000: 1}},
		{"Id IN chunks", withoutCaseExternalID(exampleMapping(t)), map[int]int64{10: 1, 1000: 4}},
	} {
		for _, n := range []int{10, 1000} {
			t.Run(fmt.Sprint(tc.name, "/", n), func(t *testing.T) {
				w := newWorld(t, worldOptions{mapping: tc.mapping})
				w.connect()
				cases, sfIDs := w.linkMany(n)
				w.poll()
				var calls []int64
				for round := range 3 {
					for i := range 3 { // a few cases change between polls
						w.sfSet(sfIDs[round*3+i], "Escalated")
					}
					before := w.calls("query")
					res := w.poll()
					calls = append(calls, w.calls("query")-before)
					if res.Applied != 3 || int64(res.Pages) != calls[round] {
						t.Fatalf("round %d: %+v, %d calls", round, res, calls[round])
					}
				}
				for round := range 3 {
					for i := range 3 {
						if c := w.careCase(cases[round*3+i]); c.Status != care.StatusOnHold {
							t.Fatalf("case %d: %s", c.ID, c.Status)
						}
					}
				}
				t.Logf("%d linked cases: query calls per poll %v", n, calls)
				for _, c := range calls {
					if c != tc.want[n] {
						t.Fatalf("%d calls in one poll, want %d", c, tc.want[n])
					}
				}
			})
		}
	}
}

func TestNoPingPongWithLossyMaps(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	c, sf := w.linkedCase(1)
	w.runSynced()

	steps := []struct {
		care     care.Status // a Care change, or
		sf       string      // a Salesforce change
		wantCare care.Status
		wantSF   string
	}{
		{care: care.StatusPending, wantCare: care.StatusPending, wantSF: "Working"}, // Working maps back to open: not taken back
		{sf: "Escalated", wantCare: care.StatusOnHold, wantSF: "Escalated"},
		{care: care.StatusOpen, wantCare: care.StatusOpen, wantSF: "Working"},
		{sf: "Closed", wantCare: care.StatusDone, wantSF: "Closed"},
		{care: care.StatusPending, wantCare: care.StatusPending, wantSF: "Working"},
		{sf: "New", wantCare: care.StatusOpen, wantSF: "New"}, // New maps to open, to_salesforce[open] is Working: not sent
	}
	for i, s := range steps {
		if s.sf != "" {
			w.sfSet(sf, s.sf)
		} else {
			w.careSet(c.ID, s.care)
		}
		eventually(t, 10*time.Second, fmt.Sprintf("step %d settles", i), func() bool {
			got := w.careCase(c.ID)
			return got.Status == s.wantCare && w.sfStatus(sf) == s.wantSF && got.Salesforce.Status == s.wantSF && w.drained()
		})
	}
	eventually(t, 10*time.Second, "three syncs each way counted", func() bool {
		return w.syncs(DirectionToSalesforce) == 3 && w.syncs(DirectionFromSalesforce) == 3
	})
	to, from := w.syncs(DirectionToSalesforce), w.syncs(DirectionFromSalesforce)
	// Many poll cycles later nothing has moved.
	polls := w.calls("query")
	eventually(t, 10*time.Second, "five more polls", func() bool { return w.calls("query") >= polls+5 })
	if got := w.careCase(c.ID); got.Status != care.StatusOpen || w.sfStatus(sf) != "New" || !w.drained() {
		t.Fatalf("after more polls: care %s, salesforce %s, outbox %+v", got.Status, w.sfStatus(sf), w.stats())
	}
	if w.syncs(DirectionToSalesforce) != to || w.syncs(DirectionFromSalesforce) != from {
		t.Fatalf("syncs moved: to %v from %v", w.syncs(DirectionToSalesforce), w.syncs(DirectionFromSalesforce))
	}
	if n := w.calls("collections"); n != 1+3 { // the backfill, three status updates
		t.Fatalf("%d collections calls", n)
	}
}

func TestLaterChangeWins(t *testing.T) {
	for _, tc := range []struct {
		name       string
		careFirst  bool // Care changes before Salesforce
		wantCare   care.Status
		wantSF     string
		superseded int
		skipped    int
	}{
		// Salesforce changed after Care's update was queued: Salesforce wins
		// and Care's pending update is dropped.
		{name: "salesforce later", careFirst: true, wantCare: care.StatusOnHold, wantSF: "Escalated", superseded: 1},
		// Care changed after Salesforce: Care's update goes out, the older
		// Salesforce value is not applied.
		{name: "care later", careFirst: false, wantCare: care.StatusPending, wantSF: "Working", skipped: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The org's stamps have whole seconds: its clock runs two
			// seconds after ours, or before, so that the Salesforce change
			// is later, or earlier, than Care's beyond doubt.
			clk := &worldClock{}
			if tc.careFirst {
				clk.Move(2 * time.Second)
			} else {
				clk.Move(-2 * time.Second)
			}
			w := newWorld(t, worldOptions{sim: sfsim.Options{Now: clk.Now}})
			w.connect()
			c, sf := w.linkedCase(1)
			// Another case's pending update is not this case's to supersede.
			other, otherSF := w.linkedCase(2)
			w.poll()
			w.careSet(other.ID, care.StatusOnHold)
			if tc.careFirst {
				w.careSet(c.ID, care.StatusPending)
				w.sfSet(sf, "Escalated")
			} else {
				w.sfSet(sf, "Escalated")
				w.careSet(c.ID, care.StatusPending)
			}
			res := w.poll()
			if res.Superseded != tc.superseded || res.SkippedNewer != tc.skipped {
				t.Fatalf("poll: %+v", res)
			}
			w.runDeliverer()
			eventually(t, 10*time.Second, "outbox drained", w.drained)
			w.poll()
			got := w.careCase(c.ID)
			if got.Status != tc.wantCare || w.sfStatus(sf) != tc.wantSF || got.Salesforce.Status != tc.wantSF {
				t.Fatalf("care %s (recorded %q), salesforce %s; want %s and %s", got.Status, got.Salesforce.Status, w.sfStatus(sf), tc.wantCare, tc.wantSF)
			}
			if st := w.sfStatus(otherSF); st != "Escalated" {
				t.Fatalf("the other case's update: salesforce %s, want Escalated", st)
			}
		})
	}
}

func TestWatermarkSurvivesRestart(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	c1, sf1 := w.linkedCase(1)
	c2, sf2 := w.linkedCase(2)
	w.sfSet(sf1, "Escalated")
	if res := w.poll(); res.Applied != 1 {
		t.Fatalf("first poll: %+v", res)
	}
	raw, err := w.store.KV(Namespace).Get(context.Background(), watermarkKey)
	if err != nil || raw == nil {
		t.Fatalf("watermark: %q %v", raw, err)
	}
	var wm watermark
	if err := json.Unmarshal(raw, &wm); err != nil || wm.At.IsZero() || wm.ID == "" {
		t.Fatalf("watermark %s: %v", raw, err)
	}
	// A new poller over the same store: the change is not applied again
	// (the agent's later change stays), and later changes are read.
	w.careSet(c1.ID, care.StatusOpen)
	p2 := w.restartedPoller(func(o *PollerOptions) { o.Overlap = 2 * time.Second })
	w.sfSet(sf2, "Closed")
	res, err := p2.Poll(context.Background())
	if err != nil || res.Applied != 1 || res.Pages != 1 {
		t.Fatalf("poll after restart: %+v %v", res, err)
	}
	if got := w.careCase(c1.ID); got.Status != care.StatusOpen {
		t.Fatalf("case 1 is %s: an old change was applied again", got.Status)
	}
	if got := w.careCase(c2.ID); got.Status != care.StatusDone {
		t.Fatalf("case 2 is %s", got.Status)
	}
}

func TestPollReadsLinkedCasesOnly(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	cases, sfIDs := w.linkMany(10)
	w.poll()
	for i := range 1000 { // the rest of the org is busy too
		if _, err := w.sim.CreateRecord("Case", map[string]any{"Subject": fmt.Sprintf("not ours %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		w.sfSet(sfIDs[i], "Escalated")
	}
	res := w.poll()
	if res.Records > 20 || res.Applied != 3 || res.Pages != 1 {
		t.Fatalf("poll with 1,000 unlinked changed cases: %+v", res)
	}
	for i := range 3 {
		if c := w.careCase(cases[i]); c.Status != care.StatusOnHold {
			t.Fatalf("case %d: %s", c.ID, c.Status)
		}
	}
}

func TestSameSecondAsTheWatermark(t *testing.T) {
	clk := &worldClock{}
	w, c, sf := linkedOnClock(t, clk, false)
	// Every change below carries one SystemModstamp, that of the
	// watermark: a real org's stamps have whole seconds.
	clk.Freeze(time.Now().Truncate(time.Second).Add(2*time.Second + 300*time.Millisecond))
	w.sfSet(sf, "Escalated")
	if res := w.poll(); res.Applied != 1 {
		t.Fatalf("first change: %+v", res)
	}
	w.sfSet(sf, "Closed") // same record, same second
	if res := w.poll(); res.Applied != 1 || w.careCase(c.ID).Status != care.StatusDone {
		t.Fatalf("second change in the watermark's second: %+v, care %s", res, w.careCase(c.ID).Status)
	}
	// An agent's change, written back in that same second, is not taken
	// back, and nothing is applied twice.
	w.careSet(c.ID, care.StatusOpen)
	w.runDeliverer()
	eventually(t, 10*time.Second, "status delivered", func() bool { return w.drained() && w.sfStatus(sf) == "Working" })
	for range 2 {
		if res := w.poll(); res.Applied != 0 || res.Superseded != 0 {
			t.Fatalf("poll after Care's own write: %+v", res)
		}
	}
	if got := w.careCase(c.ID); got.Status != care.StatusOpen || got.Salesforce.Status != "Working" {
		t.Fatalf("care %s, recorded %q", got.Status, got.Salesforce.Status)
	}
}

// A Salesforce value the poller once passed over (Care's pending update
// was newer) is applied when a Salesforce user sets it again after
// Care's update went out, though all of it happened in one second: the
// org's stamps have whole seconds, so the record reads back with the
// stamp and value it had when it was passed over.
func TestSameValueAgainAfterCareWroteInTheSameSecond(t *testing.T) {
	clk := &worldClock{}
	w, c, sf := linkedOnClock(t, clk, false)
	clk.Freeze(time.Now().Truncate(time.Second)) // before Care's update below
	w.sfSet(sf, "Escalated")
	w.careSet(c.ID, care.StatusPending)
	if res := w.poll(); res.SkippedNewer != 1 || res.Applied != 0 {
		t.Fatalf("poll with Care's newer update pending: %+v", res)
	}
	w.runDeliverer()
	eventually(t, 10*time.Second, "Care's update delivered", func() bool { return w.drained() && w.sfStatus(sf) == "Working" })
	w.sfSet(sf, "Escalated") // same second, same value as the one passed over
	if res := w.poll(); res.Applied != 1 {
		t.Fatalf("poll after Salesforce set Escalated again: %+v", res)
	}
	if got := w.careCase(c.ID); got.Status != care.StatusOnHold || got.Salesforce.Status != "Escalated" {
		t.Fatalf("care %s, recorded %q; want on_hold and Escalated", got.Status, got.Salesforce.Status)
	}
}

func TestFirstWatermarkFromSalesforceClock(t *testing.T) {
	clk := &worldClock{}
	clk.Move(-2 * time.Hour) // the org's clock is two hours behind ours
	w, c, sf := linkedOnClock(t, clk, false)
	raw, err := w.store.KV(Namespace).Get(context.Background(), watermarkKey)
	if err != nil {
		t.Fatal(err)
	}
	var wm watermark
	if err := json.Unmarshal(raw, &wm); err != nil || wm.At.After(clk.Now()) {
		t.Fatalf("first watermark %s (org time %v): %v", raw, clk.Now(), err)
	}
	w.sfSet(sf, "Escalated")
	if res := w.poll(); res.Applied != 1 || w.careCase(c.ID).Status != care.StatusOnHold {
		t.Fatalf("a change after the first poll: %+v", res)
	}
}

func TestDeletedSalesforceCase(t *testing.T) {
	clk := &worldClock{}
	w := newWorld(t, worldOptions{sim: sfsim.Options{Now: clk.Now}, poller: func(o *PollerOptions) { o.Now = clk.Now }})
	w.connect()
	c, sf := w.linkedCase(1)
	other, otherSF := w.linkedCase(2)
	ctx := context.Background()
	if _, err := w.store.PatchCase(ctx, alice, c.ID, care.CasePatch{Assignee: care.Optional[string]{Set: true, Value: alice.ID}}); err != nil {
		t.Fatal(err)
	}
	reply := care.NewMessage{Kind: "reply", Text: "We are on it."}
	if _, _, err := w.store.AddMessage(ctx, alice, c.ID, reply); care.ErrorCode(err) != care.CodeLockedToSalesforce {
		t.Fatalf("reply while linked: %v", err)
	}
	w.poll()
	// Work waits for both cases: the backfills, a message, a status.
	w.ingest(1, "before-delete")
	w.careSet(c.ID, care.StatusPending)
	if err := w.sim.DeleteRecord("Case", sf); err != nil {
		t.Fatal(err)
	}
	clk.Move(2 * time.Minute) // getDeleted answers whole minutes
	res := w.poll()
	if res.Deleted != 1 {
		t.Fatalf("poll: %+v", res)
	}
	got := w.careCase(c.ID)
	if got.Salesforce.DeletedAt == nil || got.Salesforce.CaseID != sf || care.LockedForReply(&got) {
		t.Fatalf("case after its Salesforce case was deleted: %+v", got.Salesforce)
	}
	if _, _, err := w.store.AddMessage(ctx, alice, c.ID, reply); err != nil {
		t.Fatalf("reply after the delete: %v", err)
	}
	failed, err := w.store.OutboxList(ctx, care.OutboxFailed, 100)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[care.OpKind]bool{}
	for _, e := range failed {
		v := EntryView(e)
		if e.CaseID != c.ID || v.Error == nil || v.Error.Code != ReasonRecordDeleted {
			t.Fatalf("failed entry %+v: %+v", e, v.Error)
		}
		kinds[e.Kind] = true
	}
	if !kinds[care.OpBackfill] || !kinds[care.OpPushMessage] || !kinds[care.OpSetStatus] {
		t.Fatalf("failed kinds %v", kinds)
	}
	// The other case's work is delivered; nothing more goes out for the
	// deleted one, also what Care records later.
	w.ingest(1, "after-delete")
	w.runDeliverer()
	eventually(t, 10*time.Second, "outbox drained", w.drained)
	after, err := w.store.OutboxList(ctx, care.OutboxFailed, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range after {
		if e.CaseID != c.ID {
			continue
		}
		n++
		if v := EntryView(e); v.Error == nil || v.Error.Code != ReasonRecordDeleted {
			t.Fatalf("failed entry %+v: %+v", e, v.Error)
		}
	}
	if n < len(failed)+2 { // and the reply's push, the message's push
		t.Fatalf("%d failed entries of the deleted case, want at least %d", n, len(failed)+2)
	}
	// Supervisors see the reason in the outbox API.
	var list struct{ Entries []EntryJSON }
	if code := call(t, w.api(), "GET", "/api/v1/salesforce/outbox?state=failed", "sue", &list); code != 200 {
		t.Fatalf("outbox API: %d", code)
	}
	seen := 0
	for _, e := range list.Entries {
		if e.CaseID == c.ID && e.Error != nil && e.Error.Code == ReasonRecordDeleted && e.Error.Message != "" {
			seen++
		}
	}
	if seen != n {
		t.Fatalf("the API shows %d of %d entries with %s: %+v", seen, n, ReasonRecordDeleted, list.Entries)
	}
	for _, r := range w.messageRecords() {
		if r["Case__c"] == sf {
			t.Fatalf("a message record for the deleted case: %v", r)
		}
	}
	if res := w.poll(); res.Deleted != 0 {
		t.Fatalf("the delete is found again: %+v", res)
	}
	if got := w.careCase(other.ID); got.Salesforce.DeletedAt != nil || w.sfStatus(otherSF) == "" {
		t.Fatalf("the other case: %+v", got.Salesforce)
	}
}

// linkedOnClock is a world whose org runs on clk (the poller too, with
// poller) with one linked case, polled once: the watermark is set.
func linkedOnClock(t *testing.T, clk *worldClock, poller bool) (*world, care.Case, string) {
	t.Helper()
	o := worldOptions{sim: sfsim.Options{Now: clk.Now}}
	if poller {
		o.poller = func(o *PollerOptions) { o.Now = clk.Now }
	}
	w := newWorld(t, o)
	w.connect()
	c, sf := w.linkedCase(1)
	w.poll()
	return w, c, sf
}

// windowMovedOn is a world on a movable clock with one linked case, polled
// twice ten minutes apart: nothing changed, and the deleted-records window
// has moved on to Salesforce's now.
func windowMovedOn(t *testing.T) (*world, *worldClock, care.Case, string) {
	t.Helper()
	clk := &worldClock{}
	w, c, sf := linkedOnClock(t, clk, true)
	clk.Move(10 * time.Minute)
	w.poll()
	return w, clk, c, sf
}

func TestDeletedFoundAfterRestart(t *testing.T) {
	w, clk, c, sf := windowMovedOn(t)
	// A restart: the new poller knows nothing of Salesforce's clock, and
	// no linked case changed since the last window.
	p2 := w.restartedPoller(func(o *PollerOptions) { o.Now = clk.Now })
	clk.Move(10 * time.Minute)
	if err := w.sim.DeleteRecord("Case", sf); err != nil {
		t.Fatal(err)
	}
	clk.Move(2 * time.Minute)
	found := 0
	for range 3 {
		res, err := p2.Poll(context.Background())
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		found += res.Deleted
	}
	if found != 1 || w.careCase(c.ID).Salesforce.DeletedAt == nil {
		t.Fatalf("deleted found %d times: %+v", found, w.careCase(c.ID).Salesforce)
	}
}

// After a restart soon after the last deleted-records window, Salesforce
// refuses the next window as not over yet; the poller asks again a minute
// later, not at every poll.
func TestRefusedDeletedWindowWaitsAMinute(t *testing.T) {
	w, clk, c, sf := windowMovedOn(t)
	p2 := w.restartedPoller(func(o *PollerOptions) { o.Now = clk.Now })
	poll := func() {
		t.Helper()
		if _, err := p2.Poll(context.Background()); err != nil {
			t.Fatalf("poll: %v", err)
		}
	}
	w.sim.ResetStats()
	for range 5 {
		poll()
		clk.Move(time.Second)
	}
	// Each poll reads the changes (one query); getDeleted was refused once.
	if got := w.sim.Stats().ByOperation["query"]; got != 6 {
		t.Fatalf("%d query calls in 5 polls; want 5 reads and one refused getDeleted", got)
	}
	// Once the window is over it is asked again, and finds the delete.
	if err := w.sim.DeleteRecord("Case", sf); err != nil {
		t.Fatal(err)
	}
	clk.Move(2 * time.Minute)
	poll()
	if w.careCase(c.ID).Salesforce.DeletedAt == nil {
		t.Fatal("the delete was not found after the refused window")
	}
}
