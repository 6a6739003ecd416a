package changeevents_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/changeevents"
	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
)

const fromSF = outbox.DirectionFromSalesforce

func (e *env) syncs() float64 {
	return e.metric("carebridge_status_sync_total", map[string]string{"direction": fromSF})
}

// waitSyncs waits until n changes from Salesforce were counted (the count
// follows the store's commit); more than n fails.
func (e *env) waitSyncs(n int) {
	e.t.Helper()
	simtest.Eventually(e.t, 10*time.Second, fmt.Sprintf("%d changes applied", n), func() bool {
		if got := e.syncs(); got > float64(n) {
			e.t.Fatalf("%v changes applied, want %d: one applied twice", got, n)
		}
		return e.syncs() == float64(n)
	})
}

// A status change made in Salesforce reaches the Care case by its change
// event: no poll, no REST call.
func TestStatusChangeReachesCareWithoutAPoll(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, sf := e.linkedCase(1)
	e.startUp()
	calls, pending := e.restCalls(), e.pending()

	e.sfSet(sf, "Escalated")
	e.waitStatus(c.ID, care.StatusOnHold)
	if got := e.careCase(c.ID); got.Salesforce.Status != "Escalated" {
		t.Fatalf("recorded Salesforce status %q", got.Salesforce.Status)
	}
	if n := e.restCalls() - calls; n != 0 {
		t.Fatalf("%d REST calls for a change by event (%v), want 0", n, e.w.Sim.Stats().ByOperation)
	}
	if !e.poller.LastPollAt().IsZero() {
		t.Fatal("the poller polled")
	}
	e.waitSyncs(1)
	if e.metric("carebridge_change_events_received_total", nil) < 1 ||
		e.metric("carebridge_change_stream_up", nil) != 1 {
		t.Fatalf("metrics: syncs %v, received %v, up %v", e.syncs(), e.metric("carebridge_change_events_received_total", nil),
			e.metric("carebridge_change_stream_up", nil))
	}
	if lag, _ := simtest.Metric(t, e.w.Registry, "carebridge_change_event_lag_seconds", nil); lag != 1 {
		t.Fatalf("lag observations %v, want 1", lag)
	}
	// Care's value went nowhere: no ping-pong (the links' backfills
	// wait, no deliverer runs).
	if p := e.pending(); p != pending {
		t.Fatalf("%d outbox entries after a change from Salesforce, %d before", p, pending)
	}
}

// Events of Salesforce cases no Care case is linked to cost one index
// lookup each: no REST call, no Care change.
func TestEventsOfUnlinkedCasesAreIgnored(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, sf := e.linkedCase(1)
	e.startUp()
	var others []string
	for i := range 20 {
		id, err := e.w.Sim.CreateRecord("Case", map[string]any{"Subject": "not ours " + string(rune('a'+i)), "Status": "New"})
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, id)
	}
	calls := e.restCalls()
	for _, id := range others {
		e.sfSet(id, "Closed")
	}
	e.sfSet(sf, "Escalated") // after them: once it is applied, they were read
	e.waitStatus(c.ID, care.StatusOnHold)
	if got := e.metric("carebridge_change_events_received_total", nil); got < 41 {
		t.Fatalf("%v events received, want the 20 creates, 20 updates and ours", got)
	}
	if n := e.restCalls() - calls; n != 0 {
		t.Fatalf("%d REST calls for events of unlinked cases", n)
	}
	e.waitSyncs(1)
}

// The stream dropped in the middle of a batch: the subscriber resumes
// from the last replay id it stored and every change is applied once.
func TestStreamDroppedMidBatch(t *testing.T) {
	e := newEnv(t, envOptions{sub: func(o *changeevents.Options) { o.Batch = 4 }})
	const n = 24
	ids := make([]int64, n)
	sfs := make([]string, n)
	for i := range n {
		c, sf := e.linkedCase(i)
		ids[i], sfs[i] = c.ID, sf
	}
	pending := e.pending()
	e.startUp()
	for i := range n / 2 {
		e.sfSet(sfs[i], "Escalated")
	}
	simtest.Eventually(t, 10*time.Second, "a few applied", func() bool { return e.syncs() >= 3 })
	e.w.Sim.DropChangeStreams(2) // two events into the next batch
	for i := n / 2; i < n; i++ {
		e.sfSet(sfs[i], "Escalated")
	}
	for _, id := range ids {
		e.waitStatus(id, care.StatusOnHold)
	}
	simtest.Eventually(t, 10*time.Second, "the stream up again", func() bool { up, _ := e.sub.State(); return up })
	e.waitSyncs(n)
	if p := e.pending(); p != pending {
		t.Fatalf("%d outbox entries, %d before", p, pending)
	}
}

// The daemon killed between applying an event and storing its replay id:
// the restarted subscriber gets the event again and applies it once; a
// change made while it was down is not lost.
func TestKilledBetweenApplyAndReplayID(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1, sf1 := e.linkedCase(1)
	c2, sf2 := e.linkedCase(2)
	c3, sf3 := e.linkedCase(3)
	pending := e.pending()
	e.startUp()
	e.sfSet(sf1, "Escalated")
	e.waitStatus(c1.ID, care.StatusOnHold)
	simtest.Eventually(t, 10*time.Second, "the first replay id stored", func() bool { return len(e.replayID()) > 0 })
	before := e.replayID()
	e.sfSet(sf2, "Escalated")
	e.waitStatus(c2.ID, care.StatusOnHold)
	simtest.Eventually(t, 10*time.Second, "the second replay id stored", func() bool { return string(e.replayID()) != string(before) })
	e.stop()
	// As if the daemon died after applying the second change but before
	// its replay id reached the disk.
	e.setReplayID(before)
	e.sfSet(sf3, "Closed") // while it is down
	e.newSubscriber()
	e.start()
	e.waitStatus(c3.ID, care.StatusDone)
	e.waitSyncs(3)
	if got := e.careCase(c2.ID); got.Status != care.StatusOnHold || e.pending() != pending {
		t.Fatalf("case 2 after the replay: %s, outbox %d", got.Status, e.pending())
	}
}

// A stored replay id past retention: a catch-up poll reads what changed,
// the id is forgotten, and the subscriber subscribes from the latest.
func TestReplayIDPastRetention(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1, sf1 := e.linkedCase(1)
	c2, sf2 := e.linkedCase(2)
	e.startUp()
	e.sfSet(sf1, "Escalated")
	e.waitStatus(c1.ID, care.StatusOnHold)
	e.stop()
	e.sfSet(sf2, "Closed")
	e.w.Sim.ExpireChangeEvents(time.Now().Add(time.Hour)) // 72 hours pass: nothing kept
	queries := e.w.Sim.Stats().ByOperation["query"]
	e.newSubscriber()
	e.start()
	e.waitStatus(c2.ID, care.StatusDone) // by the catch-up poll
	if e.w.Sim.Stats().ByOperation["query"] == queries {
		t.Fatal("no catch-up poll")
	}
	e.waitUp()
	e.sfSet(sf1, "Closed")
	e.waitStatus(c1.ID, care.StatusDone) // by event again
}

// The access token expires during a subscription: the stream ends with
// an auth error, the token is refreshed, the subscription resumes, and a
// change made in between is not lost.
func TestTokenExpiresDuringSubscription(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1, sf1 := e.linkedCase(1)
	c2, sf2 := e.linkedCase(2)
	e.startUp()
	refreshes := e.w.Sim.Stats().ByOperation["token"]
	e.w.Sim.ExpireSessions()
	e.sfSet(sf1, "Escalated")
	e.waitStatus(c1.ID, care.StatusOnHold)
	e.waitUp()
	e.sfSet(sf2, "Escalated")
	e.waitStatus(c2.ID, care.StatusOnHold)
	if got := e.w.Sim.Stats().ByOperation["token"]; got <= refreshes {
		t.Fatalf("no token refresh (%v)", got)
	}
	e.waitSyncs(2)
}

// No Pub/Sub API (sfsim --no-pubsub; nothing listens): the stream stays
// down with a reason, and the poller alone carries changes as it did
// before change events.
func TestNoPubSubPollingAlone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	e := newEnv(t, envOptions{sim: sfsim.Options{NoPubSub: true}, url: closed})
	if e.w.Sim.PubSubURL() != "" {
		t.Fatalf("--no-pubsub serves %s", e.w.Sim.PubSubURL())
	}
	c, sf := e.linkedCase(1)
	e.start()
	simtest.Eventually(t, 10*time.Second, "a reason", func() bool {
		up, why := e.sub.State()
		return !up && strings.Contains(why, "lost")
	})
	if e.metric("carebridge_change_stream_up", nil) != 0 {
		t.Fatal("the stream is said up")
	}
	e.sfSet(sf, "Escalated")
	if _, err := e.poller.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.careCase(c.ID); got.Status != care.StatusOnHold {
		t.Fatalf("polled: %s", got.Status)
	}
}

// A Salesforce case deleted: its DELETE event marks the linked Care case
// as the poll's deleted-records check does, with no REST call.
func TestDeleteEventMarksTheCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, sf := e.linkedCase(1)
	e.startUp()
	calls := e.restCalls()
	if err := e.w.Sim.DeleteRecord("Case", sf); err != nil {
		t.Fatal(err)
	}
	simtest.Eventually(t, 10*time.Second, "the case marked deleted in Salesforce", func() bool {
		return e.careCase(c.ID).Salesforce.DeletedAt != nil
	})
	if got := e.careCase(c.ID); care.LockedForReply(&got) {
		t.Fatal("replies still locked to Salesforce")
	}
	if n := e.restCalls() - calls; n != 0 {
		t.Fatalf("%d REST calls for a delete event", n)
	}
}

// HOST:PORT is TLS: against the simulator's plaintext port the handshake
// fails and the stream never comes up (http:// works, as every other test
// shows).
func TestHostPortIsTLS(t *testing.T) {
	e := newEnv(t, envOptions{sub: func(o *changeevents.Options) { o.URL = strings.TrimPrefix(o.URL, "http://") }})
	e.start()
	simtest.Eventually(t, 10*time.Second, "a lost stream", func() bool {
		up, why := e.sub.State()
		return !up && strings.Contains(why, "lost")
	})
}

// A server that takes the subscription answers its headers at once: the
// stream is up then, not at the first keepalive, which on a quiet org comes
// 270 s later (the poller would poll at full rate all that time).
func TestUpWhenTheServerTakesTheSubscription(t *testing.T) {
	e := newEnv(t, envOptions{sim: sfsim.Options{PubSubKeepalive: time.Hour}})
	e.startUp()
}

// Changes Salesforce could make no event of come as gap events
// (GAP_UPDATE: the record's id, no values) or, past a transaction's
// 100,000th change, as one GAP_OVERFLOW event (the empty record id). The
// subscriber polls at once, so the statuses reach Care by that poll (the
// poller's own loop is not running: no safety net), the log and the gaps
// counter say a gap was seen, and the next change travels by its event
// again, with no poll.
func TestGapEventTriggersACatchUpPoll(t *testing.T) {
	for _, tc := range []struct {
		name       string
		inject     func(*sfsim.Server)
		changeType string
		gaps       float64
	}{
		{"gap events", func(s *sfsim.Server) { s.InjectChangeGaps(2) }, "GAP_UPDATE", 2},
		{"overflow", func(s *sfsim.Server) { s.InjectChangeOverflow(2) }, "GAP_OVERFLOW", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			c1, sf1 := e.linkedCase(1)
			c2, sf2 := e.linkedCase(2)
			e.startUp()
			queries := e.w.Sim.Stats().ByOperation["query"]

			tc.inject(e.w.Sim)
			e.sfSet(sf1, "Escalated")
			e.sfSet(sf2, "Closed")
			e.waitStatus(c1.ID, care.StatusOnHold)
			e.waitStatus(c2.ID, care.StatusDone)
			// Applied by the catch-up poll, which ends after the
			// deleted-records check.
			simtest.Eventually(t, 10*time.Second, "the catch-up poll done", func() bool { return !e.poller.LastPollAt().IsZero() })
			if e.w.Sim.Stats().ByOperation["query"] == queries {
				t.Fatal("the changes reached Care without a query")
			}
			if got := e.careCase(c1.ID); got.Salesforce.Status != "Escalated" {
				t.Fatalf("recorded Salesforce status %q", got.Salesforce.Status)
			}
			if logs := e.w.Logs.String(); !strings.Contains(logs, `"change_type":"`+tc.changeType+`"`) || !strings.Contains(logs, "gap event") {
				t.Fatalf("no %s event in the log", tc.changeType)
			}
			if got := e.metric("carebridge_change_event_gaps_total", nil); got != tc.gaps {
				t.Fatalf("carebridge_change_event_gaps_total = %v, want %v", got, tc.gaps)
			}
			e.waitSyncs(2)

			queries = e.w.Sim.Stats().ByOperation["query"]
			e.sfSet(sf1, "Closed")
			e.waitStatus(c1.ID, care.StatusDone)
			if n := e.w.Sim.Stats().ByOperation["query"] - queries; n != 0 {
				t.Fatalf("%d queries for a change after the gaps, want its event alone", n)
			}
			e.waitSyncs(3)
		})
	}
}

// A Salesforce user who clears or edits a linked case's Care_Case_Id__c
// gets carebridge's key back at once, by the case's change event: no
// poll (the poll, a safety net while events flow, might come hours
// later). carebridge's own write-back comes back as an event too, and
// writes nothing more.
func TestKeyChangeEventRestoresTheKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, sf := e.keyedCase(1)
	e.startUp()
	for i, v := range []any{nil, "edited by hand"} {
		if err := e.w.Sim.UpdateRecord("Case", sf, map[string]any{"Care_Case_Id__c": v}); err != nil {
			t.Fatal(err)
		}
		simtest.Eventually(t, 10*time.Second, "the key written back", func() bool {
			r, _ := e.w.Sim.Record("Case", sf)
			return r["Care_Case_Id__c"] == c.ExternalKey
		})
		simtest.Eventually(t, 10*time.Second, "the write-back counted", func() bool {
			return e.metric("carebridge_case_keys_restored_total", map[string]string{"result": "restored"}) == float64(i+1)
		})
	}
	if !e.poller.LastPollAt().IsZero() {
		t.Fatal("the poller polled")
	}
	// The echo of the second write-back and a status change after it.
	e.sfSet(sf, "Escalated")
	e.waitStatus(c.ID, care.StatusOnHold)
	if n := e.metric("carebridge_case_keys_restored_total", map[string]string{"result": "restored"}); n != 2 {
		t.Fatalf("%v keys written back, want 2", n)
	}
	if got := e.w.Sim.Stats().ByOperation["collections"]; got != 2 {
		t.Fatalf("%d collections calls (%v), want 2", got, e.w.Sim.Stats().ByOperation)
	}
}

// A key Salesforce refuses to take back by the event's write-back (here
// another record holds it now) names the case by Id from then on, is
// counted and logged; the stream goes on.
func TestKeyChangeEventWriteBackRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, sf := e.keyedCase(1)
	e.startUp()
	simtest.Eventually(t, 10*time.Second, "a replay id stored", func() bool { return len(e.replayID()) > 0 })
	e.stop()
	if err := e.w.Sim.UpdateRecord("Case", sf, map[string]any{"Care_Case_Id__c": nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.Sim.CreateRecord("Case", map[string]any{"Subject": "a copy", "Care_Case_Id__c": c.ExternalKey}); err != nil {
		t.Fatal(err)
	}
	e.newSubscriber()
	e.start()
	simtest.Eventually(t, 10*time.Second, "the case named by Id", func() bool { return e.careCase(c.ID).Salesforce.ExternalIDField == "" })
	if n := e.metric("carebridge_case_keys_restored_total", map[string]string{"result": "refused"}); n != 1 {
		t.Fatalf("%v refusals counted, want 1", n)
	}
	e.sfSet(sf, "Escalated")
	e.waitStatus(c.ID, care.StatusOnHold)
}
