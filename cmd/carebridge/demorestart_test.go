package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The demo started again on its data directory keeps working: the same
// cases (not seeded twice), Salesforce still connected, escalation works,
// and the Salesforce link it prints is a page a browser shows.
func TestDemoRestart(t *testing.T) {
	dir := t.TempDir()
	first := startDemo(t, "--listen", "127.0.0.1:0", "--data-dir", dir)
	before := demoCases(t, first.base, first.supToken)
	if first.record == "" {
		t.Fatalf("the demo prints no Salesforce case link:\n%s", first.out.String())
	}
	first.stop(t)

	second := startDemo(t, "--listen", "127.0.0.1:0", "--data-dir", dir)
	defer second.stop(t)
	after := demoCases(t, second.base, second.supToken)
	if len(after) != len(before) {
		t.Fatalf("%d cases after a restart, %d before: seeded twice?", len(after), len(before))
	}
	if code, body := call(t, "GET", second.base+"/api/v1/salesforce/connection", second.supToken, ""); code != 200 || !strings.Contains(body, `"state":"connected"`) {
		t.Fatalf("connection after a restart: %d %s", code, body)
	}
	var fresh, customer int64
	for _, c := range after {
		if c.Salesforce.CaseID == nil && c.Status != "spam" && c.Status != "done" {
			fresh, customer = c.ID, c.CustomerID
		}
	}
	if fresh == 0 {
		t.Fatal("no case left to escalate")
	}
	// Escalation works: a contact for the customer, then the case.
	if code, body := call(t, "POST", fmt.Sprintf("%s/api/v1/customers/%d/salesforce-contact", second.base, customer), second.supToken, "{}"); code != 200 && code != 201 {
		t.Fatalf("create a contact after a restart: %d %s", code, body)
	}
	path := fmt.Sprintf("%s/api/v1/cases/%d/salesforce/case", second.base, fresh)
	code, body := call(t, "POST", path, second.supToken, "{}")
	if code != 200 && code != 201 {
		t.Fatalf("escalate after a restart: %d %s", code, body)
	}
	var rec struct {
		Case struct {
			URL string `json:"url"`
		} `json:"case"`
	}
	if json.Unmarshal([]byte(body), &rec) != nil || rec.Case.URL == "" {
		t.Fatalf("escalation answer without a record URL: %s", body)
	}
	for _, link := range []string{second.record, rec.Case.URL} {
		req, _ := http.NewRequest("GET", link, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("Salesforce link %s: %d %s: %.300s", link, res.StatusCode, res.Header.Get("Content-Type"), page)
		}
	}
}

// demoCases lists the demo's cases as a supervisor.
func demoCases(t *testing.T, base, token string) []demoCase {
	t.Helper()
	var list struct {
		Cases []demoCase `json:"cases"`
	}
	code, body := call(t, "GET", base+"/api/v1/cases", token, "")
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Cases) < 6 {
		t.Fatalf("demo cases: %d %.300s", code, body)
	}
	return list.Cases
}
