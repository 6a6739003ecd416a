package main

import (
	"bytes"
	"strings"
	"testing"
)

// A small run of every section: the harness works end to end and reports
// figures that make sense (not its speed: benchmarks are not tests). It
// runs without the race detector, which makes the harness four times
// slower and its figures meaningless: .ci/test runs it in a pass of its
// own; the code it drives is race-tested in its packages, and the
// harness's own concurrency by the feed and publish runs.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark harness")
	}
	if raceDetector {
		t.Skip("runs without -race: go test -run TestSmallRun ./cmd/cbbench")
	}
	rep := runReport(t, "--latency", "5ms", "--messages", "200", "--cases", "5", "--backfill", "30",
		"--linked", "10,50", "--unlinked", "1000", "--changes", "2", "--poll", "200ms", "--event-changes", "3", "--store-messages", "3000", "--store-cases", "2000", "--workers", "8",
		"--search-cases", "300", "--search-messages", "3000", "--routing-cases", "60", "--routing-rate", "60000", "--routing-backlog", "1000")
	p := rep.Push
	if p == nil || p.Calls < 1 || p.Calls > 200 || p.BaselineCalls != 200 || p.BackfillCalls != 1 || p.CallRatio < 1 {
		t.Fatalf("push: %+v", p)
	}
	if s := rep.Poll; s == nil || len(s.Sizes) != 2 || s.Sizes[1].CallsPerPoll > 2 || s.Sizes[0].P95Millis <= 0 {
		t.Fatalf("status: %+v", s)
	}
	// 1,000 other Cases changed: a poll over 10 linked cases reads them
	// alone.
	if s := rep.Poll.Sizes[0]; s.Unlinked != 1000 || s.RowsPerPoll > 20 {
		t.Fatalf("status, 10 linked cases: %+v", s)
	}
	// Changes by events: each reaches Care, with no REST call.
	if e := rep.Events; e == nil || len(e.Rates) != 2 || e.Rates[1].PerSecond != 100 || e.Rates[0].P95Millis <= 0 ||
		e.Rates[0].RESTCallsPerChange != 0 || e.Rates[1].RESTCallsPerChange != 0 {
		t.Fatalf("events: %+v", e)
	}
	if s := rep.Store; s == nil || s.IngestPerSecond <= 0 || s.InboxP95Millis <= 0 || s.FileBytes <= 0 || s.PeakRSSBytes <= 0 {
		t.Fatalf("store: %+v", s)
	}
	// The heaviest page is cut by weight: fewer than the 100 heavy messages,
	// a few MB, never the whole 100 × ~110 KB.
	if lp := rep.Store.LargestPage; lp.Messages < 1 || lp.Messages >= 100 || lp.AnswerBytes > 8<<20 || lp.AllocatedBytes <= 0 {
		t.Fatalf("largest page: %+v", lp)
	}
	if l := rep.Search; l == nil || l.IngestPerSecond <= 0 || l.IngestNoIndexPerSecond <= 0 || l.CountsP95Millis <= 0 || l.SearchP95Millis <= 0 {
		t.Fatalf("search: %+v", l)
	}
	// Routing: 50 cases fill the 10 agents of capacity 5 at once, 10 wait
	// for a case to close; no agent ever holds more than 5. A close with
	// the backlog waiting for a skill nobody has reads only the case it
	// assigns.
	if r := rep.Routing; r == nil || r.AssignedAtIn != 50 || r.Waited != 10 || r.MaxLoadSeen != 5 || r.AssignedTotal != 60 || r.P95Millis <= 0 ||
		r.Backlog == nil || r.Backlog.ReadPerClose != 1 {
		t.Fatalf("routing: %+v", r)
	}
	var out, errs bytes.Buffer
	if code := run([]string{"--only", "nothing"}, &out, &errs); code != 2 {
		t.Fatalf("unknown section: exit %d", code)
	}
}

// --help answers the usage and exits 0; an unknown flag is bad usage.
func TestHelp(t *testing.T) {
	var out, errs strings.Builder
	if code := run([]string{"--help"}, &out, &errs); code != 0 || !strings.Contains(errs.String(), "-only") {
		t.Fatalf("--help: exit %d, %q", code, errs.String())
	}
	if code := run([]string{"--no-such-flag"}, &out, &errs); code != 2 {
		t.Fatalf("unknown flag: exit %d", code)
	}
}
