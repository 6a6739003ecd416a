package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// specMetrics are the metric names of SPEC §7.
var specMetrics = []string{
	"carebridge_salesforce_connection_up",
	"carebridge_salesforce_token_healthy",
	"carebridge_salesforce_token_refresh_total",
	"carebridge_salesforce_requests_total",
	"carebridge_salesforce_request_duration_seconds",
	"carebridge_salesforce_api_daily_used",
	"carebridge_salesforce_api_daily_limit",
	"carebridge_outbox_pending",
	"carebridge_outbox_failed",
	"carebridge_outbox_oldest_age_seconds",
	"carebridge_messages_pushed_total",
	"carebridge_status_sync_total",
	"carebridge_poll_last_success_timestamp_seconds",
	"carebridge_push_lag_seconds",
	"carebridge_status_sync_lag_seconds",
	"carebridge_mapping_truncations_total",
	"carebridge_mapping_valid",
	"carebridge_mapping_reloads_total",
	"carebridge_cases",
	"carebridge_http_requests_total",
}

// The real binary, connected and working, exports every SPEC §7 metric
// with its type, and promtool finds nothing wrong with the scrape.
func TestMetricsScrape(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	w := newSyncWorld(t)
	w.linkCases(2, 2)
	// A subject longer than Salesforce's 255 characters is shortened.
	res := w.post("/api/v1/cases", map[string]any{"salesforce": true, "message": map[string]any{
		"external_id": "long", "platform": "twitter", "profile_id": "brand",
		"customer": map[string]any{"platform_user_id": "verbose", "first_name": "Vera", "last_name": "Bose"},
		"text":     strings.Repeat("so many words ", 40)}})
	w.expectMessagesOf(int64(res["case"].(map[string]any)["id"].(float64)))
	w.burst("m", 20)
	w.checkExactlyOnce()
	var scrape string
	waitFor(t, func() bool {
		_, scrape = call(t, "GET", w.base+"/metrics", "", "")
		return strings.Contains(scrape, "carebridge_mapping_truncations_total{") && strings.Contains(scrape, "carebridge_messages_pushed_total ")
	})
	types := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`).FindAllStringSubmatch(scrape, -1) {
		types[m[1]] = m[2]
	}
	for _, name := range specMetrics {
		want := "gauge"
		switch {
		case strings.HasSuffix(name, "_total"):
			want = "counter"
		case name == "carebridge_salesforce_request_duration_seconds" || strings.HasSuffix(name, "_lag_seconds"):
			want = "histogram"
		}
		if types[name] != want {
			t.Errorf("%s: type %q, want %s", name, types[name], want)
		}
	}
	for _, want := range []string{
		`carebridge_salesforce_connection_up 1`,
		`carebridge_salesforce_token_healthy{kind="default",user="sue"} 1`,
		`carebridge_status_sync_total{direction="from_salesforce"}`,
		`carebridge_http_requests_total{code="200",route="POST /api/v1/messages"}`,
		`carebridge_cases{status="deleted"} 0`,
		`carebridge_mapping_valid 1`,
		// Beyond SPEC §7: the case keys written back, exported before any.
		`carebridge_case_keys_restored_total{result="restored"} 0`,
		`carebridge_case_keys_restored_total{result="refused"} 0`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("scrape misses %s", want)
		}
	}
	// No label takes an unbounded value: no case id, message id or token.
	for _, bad := range append([]string{w.token}, w.outMsgs[:3]...) {
		if strings.Contains(scrape, bad) {
			t.Errorf("scrape carries %q", bad)
		}
	}
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = strings.NewReader(scrape)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("CAREBRIDGE_REQUIRE_TOOLS") == "1" {
		t.Error("CAREBRIDGE_REQUIRE_TOOLS=1 but promtool is not installed")
	} else {
		t.Log("promtool not installed: scrape not linted")
	}
	w.proc.stop(t, syscall.SIGTERM)
}
