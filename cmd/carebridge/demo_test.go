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
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer safe to read while a goroutine writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemo runs the demo against the simulated org both as it is and as a
// production org (--strict: assignment and duplicate rules), where the
// seeded escalations must still keep the owner carebridge chose.
func TestDemo(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(map[bool]string{false: "lenient", true: "strict"}[strict], func(t *testing.T) { testDemo(t, strict) })
	}
}

func testDemo(t *testing.T, strict bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errs := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	args := []string{"demo", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}
	if strict {
		args = append(args, "--strict")
	}
	go func() {
		done <- dispatch(ctx, args, nil, out, errs, nil)
	}()
	var base, simBase, supToken, agentToken string
	urlRe := regexp.MustCompile(`console:\s+(http://\S+)/`)
	simRe := regexp.MustCompile(`simulated org:\s+(http://\S+)`)
	tokRe := regexp.MustCompile(`(?m)^\s+(sue|alice)\s+\w+\s+(\S+)$`)
	for deadline := time.Now().Add(60 * time.Second); base == "" || supToken == "" || agentToken == ""; {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("demo did not print its URL and tokens:\n%s\n%s", out.String(), errs.String())
		}
		select {
		case err := <-done:
			t.Fatalf("demo ended: %v\n%s\n%s", err, out.String(), errs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if m := simRe.FindStringSubmatch(out.String()); m != nil {
			simBase = m[1]
		}
		for _, m := range tokRe.FindAllStringSubmatch(out.String(), -1) {
			if m[1] == "sue" {
				supToken = m[2]
			} else {
				agentToken = m[2]
			}
		}
	}
	if strings.Contains(errs.String(), "seeding failed") {
		t.Fatalf("seeding failed:\n%s", errs.String())
	}
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
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
}
