package outbox

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/sfsim"
)

// TestLongSoak pushes 10,000 messages over 200 cases through an org with
// 20 ms of latency per call and a steady rain of faults, while Salesforce
// users change statuses and the poller runs. Run it with
//
//	CAREBRIDGE_LONG=1 go test -race -run TestLongSoak -v ./connector/outbox/
func TestLongSoak(t *testing.T) {
	if os.Getenv("CAREBRIDGE_LONG") == "" {
		t.Skip("set CAREBRIDGE_LONG=1 to run")
	}
	w := newWorld(t, worldOptions{sim: sfsim.Options{Latency: 20 * time.Millisecond}})
	w.connect()
	const cases, per = 200, 49
	var ns []int
	var all []string
	var sfIDs []string
	for n := range cases {
		c, sf := w.linkedCase(n)
		ns = append(ns, n)
		sfIDs = append(sfIDs, sf)
		msgs, _ := w.store.RecentMessages(context.Background(), c.ID, 100)
		for _, m := range msgs {
			all = append(all, m.ExternalKey)
		}
	}
	w.sim.ResetStats()
	w.runDeliverer()
	w.runPoller()
	stop := make(chan struct{})
	rained := make(chan int)
	go func() { // faults and Salesforce-side changes while the burst runs
		kinds := []sfsim.Fault{
			{Kind: sfsim.FaultServerError, Count: 1},
			{Kind: sfsim.FaultUnableToLockRow, Count: 1},
			{Kind: sfsim.FaultDrop, Count: 1},
			{Kind: sfsim.FaultDrop, Count: 1, AfterCommit: true},
			{Kind: sfsim.FaultLatency, Count: 1, LatencyMS: 500},
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			select {
			case <-stop:
				rained <- n
				return
			case <-tick.C:
			}
			w.sim.InjectFault(kinds[rand.IntN(len(kinds))])
			w.sim.UpdateRecord("Case", sfIDs[rand.IntN(len(sfIDs))], map[string]any{"Status": "Escalated"})
			n++
		}
	}()
	start := time.Now()
	all = append(all, w.burst(ns, per)...)
	eventually(t, 5*time.Minute, "outbox drained", w.drained)
	took := time.Since(start)
	close(stop)
	faults := <-rained
	if st := w.stats(); st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	w.mustHaveEachOnce(all)
	st := w.sim.Stats()
	t.Logf("soak: %d messages over %d cases in %s with %d faults: %d collections calls (%.0f messages per call), %d queries, %d calls in all",
		len(all), cases, took.Round(time.Millisecond), faults, st.ByOperation["collections"],
		float64(len(all))/float64(st.ByOperation["collections"]), st.ByOperation["query"], st.Total)
	onHold := 0
	for _, id := range sfIDs {
		c, err := w.store.CaseBySalesforceID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == care.StatusOnHold {
			onHold++
		}
	}
	t.Logf("soak: %d cases took Escalated from Salesforce", onHold)
}
