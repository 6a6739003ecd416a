package main

import "testing"

// The feed section delivers every change to every subscriber and reports
// it in the JSON and the table.
func TestFeedRun(t *testing.T) {
	rep := runReport(t, "--only", "feed", "--feed-subscribers", "5", "--feed-changes", "20")
	if f := rep.LiveEvents; f == nil || f.Subscribers != 5 || f.Delivered != 100 || f.P95Millis <= 0 || f.P95Millis < f.P50Millis || f.GoalP95Millis != 50 {
		t.Fatalf("feed: %+v", f)
	}
	runTable(t, "event delivery, 2 subscribers", "--only", "feed", "--feed-subscribers", "2", "--feed-changes", "5")
}
