package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim"
)

// syncWorld is the real binary against an in-process simulated org.
type syncWorld struct {
	t       *testing.T
	bin     string
	cfg     string
	env     string
	sim     *sfsim.Server
	proc    *daemonProc
	base    string
	token   string
	linked  []int64
	keys    map[int64]string // external key of each linked case
	outMsgs []string         // external keys of every message that must reach Salesforce
}

func newSyncWorld(t *testing.T) *syncWorld {
	t.Helper()
	sim, bin, cfg, _ := simDaemonWith(t, sfsim.Options{Latency: 10 * time.Millisecond}, "  poll_interval: 1s\n")
	w := &syncWorld{t: t, bin: bin, cfg: cfg, sim: sim, token: "sue-token", env: envClientSecret}
	w.start()
	connectDefault(t, w.base, w.token, sfsim.DefaultUsername)
	return w
}

func (w *syncWorld) start() {
	w.proc = startDaemon(w.t, w.bin, w.cfg, w.env)
	w.base = "http://" + w.proc.addr
}

func (w *syncWorld) post(path string, body any) map[string]any {
	w.t.Helper()
	b, _ := json.Marshal(body)
	code, out := call(w.t, "POST", w.base+path, w.token, string(b))
	if code >= 300 {
		w.t.Fatalf("POST %s: %d %s", path, code, out)
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	return m
}

// linkCases escalates n cases to Salesforce automatically and waits until
// each has its Salesforce case.
func (w *syncWorld) linkCases(n, backlog int) {
	w.t.Helper()
	for i := range n {
		for j := range backlog {
			msg := map[string]any{"external_id": fmt.Sprintf("c%d-b%d", i, j), "platform": "twitter", "profile_id": "brand",
				"customer": map[string]any{"platform_user_id": fmt.Sprintf("cust%d", i), "first_name": "Cust", "last_name": fmt.Sprintf("Number%d", i)},
				"text":     fmt.Sprintf("backlog %d of case %d", j, i)}
			if j == 0 {
				res := w.post("/api/v1/cases", map[string]any{"message": msg, "salesforce": true})
				c := res["case"].(map[string]any)
				id := int64(c["id"].(float64))
				w.linked = append(w.linked, id)
				if w.keys == nil {
					w.keys = map[int64]string{}
				}
				w.keys[id] = c["external_key"].(string)
			} else {
				w.post("/api/v1/messages", msg)
			}
		}
	}
	waitFor(w.t, func() bool {
		for _, id := range w.linked {
			_, body := call(w.t, "GET", fmt.Sprintf("%s/api/v1/cases/%d", w.base, id), w.token, "")
			if !strings.Contains(body, `"case_id":"500`) {
				return false
			}
		}
		return true
	})
	for _, id := range w.linked {
		w.expectMessagesOf(id)
	}
}

// expectMessagesOf adds the messages of Care case id to those that must
// reach Salesforce.
func (w *syncWorld) expectMessagesOf(id int64) {
	w.t.Helper()
	_, body := call(w.t, "GET", fmt.Sprintf("%s/api/v1/cases/%d/messages?limit=500", w.base, id), w.token, "")
	var res struct {
		Messages []struct {
			Key string `json:"external_key"`
		} `json:"messages"`
	}
	json.Unmarshal([]byte(body), &res)
	for _, m := range res.Messages {
		w.outMsgs = append(w.outMsgs, m.Key)
	}
}

// burst ingests n messages over the linked cases from several writers.
func (w *syncWorld) burst(prefix string, n int) {
	w.t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				c := i % len(w.linked)
				res := w.post("/api/v1/messages", map[string]any{"external_id": fmt.Sprintf("%s-%d", prefix, i), "platform": "twitter",
					"profile_id": "brand", "customer": map[string]any{"platform_user_id": fmt.Sprintf("cust%d", c)}, "text": fmt.Sprintf("burst %s %d", prefix, i)})
				mu.Lock()
				w.outMsgs = append(w.outMsgs, res["message"].(map[string]any)["external_key"].(string))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// delivered counts the message records in Salesforce by message external key (their upsert key).
func (w *syncWorld) delivered() map[string]int {
	out := map[string]int{}
	for _, r := range w.sim.Records("Care_Social_Post__c") {
		out[fmt.Sprint(r["Care_Message_Id__c"])]++
	}
	return out
}

// checkExactlyOnce waits until every message is in Salesforce, then checks
// none is there twice and none is there that Care does not know.
func (w *syncWorld) checkExactlyOnce() {
	w.t.Helper()
	var got map[string]int
	deadline := time.Now().Add(60 * time.Second)
	for {
		got = w.delivered()
		missing := 0
		for _, id := range w.outMsgs {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			_, ob := call(w.t, "GET", w.base+"/api/v1/salesforce/connection", w.token, "")
			w.t.Fatalf("%d of %d messages never reached Salesforce; connection: %s", missing, len(w.outMsgs), ob)
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[string]bool{}
	for _, id := range w.outMsgs {
		want[id] = true
	}
	for id, n := range got {
		if n != 1 || !want[id] {
			w.t.Fatalf("message %s is in Salesforce %d times (known to Care: %v)", id, n, want[id])
		}
	}
	w.t.Logf("%d messages in Salesforce exactly once; %d Salesforce calls in all", len(got), w.sim.Stats().Total)
}

// A SIGKILL at random points during delivery loses nothing and duplicates
// nothing: entries leave the outbox only after Salesforce answered, and
// records are upserted by message id.
func TestKillDuringDeliveryKeepsEveryMessageOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	w := newSyncWorld(t)
	w.linkCases(10, 5)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range 3 {
		// Slow Salesforce down so the kill lands while batches are in flight.
		w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultLatency, Count: 20, LatencyMS: 150})
		w.burst(fmt.Sprintf("k%d", round), 400)
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		w.proc.cmd.Process.Signal(syscall.SIGKILL)
		<-w.proc.done
		t.Logf("round %d: killed with %d of %d messages in Salesforce", round, len(w.delivered()), len(w.outMsgs))
		w.sim.ClearFaults()
		w.start()
	}
	w.checkExactlyOnce()
	w.proc.stop(t, syscall.SIGTERM)
}

// A SIGTERM during a burst drains what is in flight and exits 0; what was
// not sent yet goes after the restart.
func TestSIGTERMDuringBurstLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	w := newSyncWorld(t)
	w.linkCases(5, 3)
	w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultLatency, Count: 10, LatencyMS: 300})
	w.burst("t", 600)
	w.proc.stop(t, syscall.SIGTERM) // fails the test unless the exit is clean (0)
	if !strings.Contains(w.proc.logs.String(), "stopped cleanly") {
		t.Fatalf("no clean stop:\n%s", w.proc.logs)
	}
	w.sim.ClearFaults()
	w.start()
	w.checkExactlyOnce()
	w.proc.stop(t, syscall.SIGTERM)
}
