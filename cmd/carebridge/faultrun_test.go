package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim"
)

// faultRunDuration is how long the fault run goes: CAREBRIDGE_FAULT_RUN
// (e.g. 10m) for a long run; the normal suite runs a short one.
func faultRunDuration(t *testing.T) time.Duration {
	if v := os.Getenv("CAREBRIDGE_FAULT_RUN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CAREBRIDGE_FAULT_RUN: %v", err)
		}
		return d
	}
	return 12 * time.Second
}

// The real binary under a steady stream of messages and status changes on
// both sides, with SIGKILLs, Salesforce outages, expiring sessions and
// revoked tokens. At the end every message is in Salesforce exactly once,
// nothing is left in the outbox, and every status agrees.
func TestFaultRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	w := newSyncWorld(t)
	w.linkCases(8, 2)
	dur := faultRunDuration(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))

	var (
		mu      sync.Mutex
		up      atomic.Bool // the daemon answers
		msgSeq  atomic.Int64
		counts  = map[string]int{}
		stopped = make(chan struct{})
		// unanswered are ingests the daemon was killed before answering.
		unanswered []map[string]any
		wg         sync.WaitGroup
	)
	up.Store(true)
	count := func(what string) { mu.Lock(); counts[what]++; mu.Unlock() }
	postOK := func(path string, body any) (map[string]any, bool) {
		if !up.Load() {
			return nil, false
		}
		b, _ := json.Marshal(body)
		code, out, err := tryCall("POST", w.base+path, w.token, string(b))
		if err != nil || code >= 300 {
			return nil, false
		}
		var m map[string]any
		json.Unmarshal([]byte(out), &m)
		return m, true
	}
	// Customers write steadily.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stopped:
				return
			case <-time.After(20 * time.Millisecond):
			}
			n := msgSeq.Add(1)
			c := int(n) % len(w.linked)
			msg := map[string]any{"external_id": fmt.Sprintf("f-%d", n), "platform": "twitter",
				"profile_id": "brand", "customer": map[string]any{"platform_user_id": fmt.Sprintf("cust%d", c)}, "text": fmt.Sprintf("steady %d", n)}
			res, ok := postOK("/api/v1/messages", msg)
			if !ok {
				// Killed before it answered: the message may be in Care
				// already. Sent again at the end (ingest is idempotent),
				// the answer tells.
				mu.Lock()
				unanswered = append(unanswered, msg)
				mu.Unlock()
				count("messages refused while down")
				continue
			}
			mu.Lock()
			w.outMsgs = append(w.outMsgs, res["message"].(map[string]any)["external_key"].(string))
			mu.Unlock()
			count("messages")
		}
	}()
	// Agents change statuses in Care; Salesforce users change them there.
	wg.Add(1)
	go func() {
		defer wg.Done()
		statuses := []string{"open", "pending", "on_hold"}
		sfStatuses := []string{"Working", "Escalated", "New"}
		for i := 0; ; i++ {
			select {
			case <-stopped:
				return
			case <-time.After(150 * time.Millisecond):
			}
			id := w.linked[i%len(w.linked)]
			if i%2 == 0 {
				if !up.Load() {
					continue
				}
				b, _ := json.Marshal(map[string]any{"status": statuses[i%3]})
				if code, _, err := tryCall("PATCH", fmt.Sprintf("%s/api/v1/cases/%d", w.base, id), w.token, string(b)); err == nil && code == 200 {
					count("care status changes")
				}
				continue
			}
			if sfID := w.sfCaseID(id); sfID != "" && w.sim.UpdateRecord("Case", sfID, map[string]any{"Status": sfStatuses[i%3]}) == nil {
				count("salesforce status changes")
			}
		}
	}()
	// Faults.
	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		switch k := rng.IntN(5); k {
		case 0:
			up.Store(false)
			w.proc.cmd.Process.Signal(syscall.SIGKILL)
			<-w.proc.done
			w.start()
			up.Store(true)
			count("SIGKILLs")
		case 1:
			w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultServerError, Count: 10 + rng.IntN(20)})
			count("Salesforce outages (5xx)")
		case 2:
			w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultDrop, Count: 3, AfterCommit: rng.IntN(2) == 0})
			count("dropped connections")
		case 3:
			w.sim.ExpireSessions()
			count("sessions expired")
		case 4:
			w.sim.RevokeUser("admin@sfsim.test")
			time.Sleep(time.Duration(200+rng.IntN(500)) * time.Millisecond)
			if up.Load() {
				connectDefault(t, w.base, w.token, "admin@sfsim.test")
			}
			count("tokens revoked and reconnected")
		}
	}
	close(stopped)
	wg.Wait()
	w.sim.ClearFaults()
	// Make sure the daemon is connected after the last fault.
	if _, body := call(t, "GET", w.base+"/api/v1/salesforce/connection", w.token, ""); !strings.Contains(body, `"state":"connected"`) {
		connectDefault(t, w.base, w.token, "admin@sfsim.test")
	}
	for _, msg := range unanswered {
		if m, ok := w.post("/api/v1/messages", msg)["message"].(map[string]any); ok {
			w.outMsgs = append(w.outMsgs, m["external_key"].(string))
		}
	}
	w.checkExactlyOnce()
	// Nothing pending or failed; Care knows what Salesforce has.
	waitFor(t, func() bool {
		_, body := call(t, "GET", w.base+"/api/v1/salesforce/connection", w.token, "")
		return strings.Contains(body, `"outbox":{"pending":0,"failed":0`)
	})
	// A last Salesforce change per case reaches Care, and each side agrees.
	for _, id := range w.linked {
		w.sim.UpdateRecord("Case", w.sfCaseID(id), map[string]any{"Status": "Escalated"})
	}
	waitFor(t, func() bool {
		for _, id := range w.linked {
			_, body := call(t, "GET", fmt.Sprintf("%s/api/v1/cases/%d", w.base, id), w.token, "")
			if !strings.Contains(body, `"status":"on_hold"`) {
				return false
			}
		}
		return true
	})
	for _, id := range w.linked {
		rec, _ := w.sim.Record("Case", w.sfCaseID(id))
		_, body := call(t, "GET", fmt.Sprintf("%s/api/v1/cases/%d", w.base, id), w.token, "")
		if rec["Status"] != "Escalated" || !strings.Contains(body, `"status":"Escalated"`) {
			t.Errorf("case %d: Salesforce %v, Care %s", id, rec["Status"], body)
		}
	}
	mu.Lock()
	t.Logf("fault run of %s: %v; %d messages exactly once in Salesforce", dur, counts, len(w.delivered()))
	mu.Unlock()
	w.proc.stop(t, syscall.SIGTERM)
}

// sfCaseID is the Salesforce case of a Care case, found in the org by the
// case's external key (its upsert key); it asks only the org, so it works
// while the daemon is down.
func (w *syncWorld) sfCaseID(careID int64) string {
	recs, err := w.sim.Query(fmt.Sprintf("SELECT Id FROM Case WHERE Care_Case_Id__c = '%s'", w.keys[careID]))
	if err != nil || len(recs) != 1 {
		return ""
	}
	return fmt.Sprint(recs[0]["Id"])
}

// tryCall is call without failing the test: the daemon may be down.
func tryCall(method, url, token, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}
