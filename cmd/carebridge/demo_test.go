package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"

	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/testlog"
)

// lockedBuffer is an io.Writer safe to read while a goroutine writes.
type lockedBuffer = testlog.Logs

// TestDemo runs the demo against the simulated org both as it is and as a
// production org (--strict: assignment and duplicate rules), where the
// seeded escalations must still keep the owner carebridge chose.
func TestDemo(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(map[bool]string{false: "lenient", true: "strict"}[strict], func(t *testing.T) { testDemo(t, strict) })
	}
}

// demoRun is a demo started by a test.
type demoRun struct {
	out, errs             *lockedBuffer
	done                  chan error
	cancel                context.CancelFunc
	base, simBase, record string
	supToken, agentToken  string
}

// startDemo runs `carebridge demo args...` and waits for it to print its
// URLs and tokens.
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoRun{out: &lockedBuffer{}, errs: &lockedBuffer{}, done: make(chan error, 1), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		d.done <- dispatch(ctx, append([]string{"demo"}, args...), nil, d.out, d.errs, nil)
	}()
	urlRe := regexp.MustCompile(`console:\s+(http://\S+)/`)
	simRe := regexp.MustCompile(`simulated org:\s+(http://\S+)`)
	recordRe := regexp.MustCompile(`a Salesforce case:\s+(http://\S+)`)
	tokRe := regexp.MustCompile(`(?m)^\s+(sue|alice)\s+\w+\s+(\S+)$`)
	for deadline := time.Now().Add(60 * time.Second); d.base == "" || d.supToken == "" || d.agentToken == ""; {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("demo did not print its URL and tokens:\n%s\n%s", d.out.String(), d.errs.String())
		}
		select {
		case err := <-d.done:
			t.Fatalf("demo ended: %v\n%s\n%s", err, d.out.String(), d.errs.String())
		case <-time.After(50 * time.Millisecond):
		}
		out := d.out.String()
		if m := urlRe.FindStringSubmatch(out); m != nil {
			d.base = m[1]
		}
		if m := simRe.FindStringSubmatch(out); m != nil {
			d.simBase = m[1]
		}
		if m := recordRe.FindStringSubmatch(out); m != nil {
			d.record = m[1]
		}
		for _, m := range tokRe.FindAllStringSubmatch(out, -1) {
			if m[1] == "sue" {
				d.supToken = m[2]
			} else {
				d.agentToken = m[2]
			}
		}
	}
	if strings.Contains(d.errs.String(), "seeding failed") {
		t.Fatalf("seeding failed:\n%s", d.errs.String())
	}
	return d
}

// stop stops the demo as Ctrl-C does and expects a clean exit.
func (d *demoRun) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
}

func testDemo(t *testing.T, strict bool) {
	args := []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}
	if strict {
		args = append(args, "--strict")
	}
	d := startDemo(t, args...)
	base, simBase, supToken, agentToken := d.base, d.simBase, d.supToken, d.agentToken
	if code, body := call(t, "GET", base+"/readyz", "", ""); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	code, body := call(t, "GET", base+"/api/v1/cases", supToken, "")
	var list struct {
		Cases []struct {
			Salesforce struct {
				CaseID *string `json:"case_id"`
			} `json:"salesforce"`
		} `json:"cases"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Cases) < 6 {
		t.Fatalf("demo cases: %d %s", code, body)
	}
	escalated := 0
	for _, c := range list.Cases {
		if c.Salesforce.CaseID != nil {
			escalated++
		}
	}
	if escalated == 0 {
		t.Fatalf("no demo case is escalated to Salesforce: %s", body)
	}
	// The org's assignment rule (strict) never moved a case carebridge
	// wrote to the Support Queue: every write says Sforce-Auto-Assign: FALSE.
	var org struct {
		Strict         bool   `json:"strict"`
		SupportQueueID string `json:"support_queue_id"`
	}
	if code, body := call(t, "GET", simBase+"/__sim/org", "", ""); code != 200 || json.Unmarshal([]byte(body), &org) != nil || org.Strict != strict {
		t.Fatalf("simulated org (strict %v): %d %s", strict, code, body)
	}
	var sfCases struct {
		Records []map[string]any `json:"records"`
	}
	if code, body := call(t, "GET", simBase+"/__sim/records/Case", "", ""); code != 200 || json.Unmarshal([]byte(body), &sfCases) != nil || len(sfCases.Records) == 0 {
		t.Fatalf("Salesforce cases: %d %.300s", code, body)
	}
	for _, rec := range sfCases.Records {
		if rec["OwnerId"] == org.SupportQueueID {
			t.Fatalf("case %v was moved to the Support Queue by the assignment rule", rec["Id"])
		}
	}
	if code, body := call(t, "GET", base+"/api/v1/salesforce/connection", supToken, ""); code != 200 || !strings.Contains(body, `"state":"connected"`) {
		t.Fatalf("connection: %d %s", code, body)
	}
	if code, _ := call(t, "GET", base+"/api/v1/cases?view=my_open", agentToken, ""); code != 200 {
		t.Fatalf("agent view: %d", code)
	}
	// The console: sign-in page, and a signed-in agent gets the app.
	if code, body := call(t, "GET", base+"/login", "", ""); code != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("console sign-in page: %d %.200s", code, body)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := browser.PostForm(base+"/login", url.Values{"token": {agentToken}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/" || !strings.Contains(string(page), "csrf-token") {
		t.Fatalf("console after sign-in: %d at %s: %.300s", res.StatusCode, res.Request.URL, page)
	}
	d.stop(t)
}
