package main

import "testing"

// The publish section runs end to end and reports figures that make sense,
// in JSON and in the table.
func TestPublishSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark harness")
	}
	args := []string{"--only", "publish", "--latency", "5ms", "--publish-replies", "100", "--publish-cases", "5", "--workers", "8"}
	rep := runReport(t, args...)
	p := rep.Publish
	if p == nil || p.Replies != 100 || p.PerSecond <= 0 || p.PacedReplies < 1 || p.LatencyP95Millis <= 0 || p.LatencyP50Millis > p.LatencyP95Millis ||
		p.OldestPendingSeconds != 0 {
		t.Fatalf("publish: %+v", p)
	}
	runTable(t, "oldest reply waiting at the end", args...)
}
