package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The publish section runs end to end and reports figures that make sense,
// in JSON and in the table.
func TestPublishSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark harness")
	}
	args := []string{"--only", "publish", "--latency", "5ms", "--publish-replies", "100", "--publish-cases", "5", "--workers", "8"}
	var out, errs bytes.Buffer
	if code := run(append([]string{"--json"}, args...), &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	p := rep.Publish
	if p == nil || p.Replies != 100 || p.PerSecond <= 0 || p.PacedReplies < 1 || p.LatencyP95Millis <= 0 || p.LatencyP50Millis > p.LatencyP95Millis {
		t.Fatalf("publish: %+v", p)
	}
	out.Reset()
	if code := run(args, &out, &errs); code != 0 || !strings.Contains(out.String(), "reply→publisher p50/p95") {
		t.Fatalf("table: exit %d\n%s", code, out.String())
	}
}
