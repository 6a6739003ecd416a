package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The feed section delivers every change to every subscriber and reports
// it in the JSON and the table.
func TestFeedRun(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"--json", "--only", "feed", "--feed-subscribers", "5", "--feed-changes", "20"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	if f := rep.LiveEvents; f == nil || f.Subscribers != 5 || f.Delivered != 100 || f.P95Millis <= 0 || f.P95Millis < f.P50Millis || f.GoalP95Millis != 50 {
		t.Fatalf("feed: %+v", f)
	}
	out.Reset()
	if code := run([]string{"--only", "feed", "--feed-subscribers", "2", "--feed-changes", "5"}, &out, &errs); code != 0 || !strings.Contains(out.String(), "event delivery, 2 subscribers") {
		t.Fatalf("table: exit %d\n%s", code, out.String())
	}
}
