package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite kubernetes/prometheusrule.yaml from prometheus/alerts.yaml")

const (
	alertsFile         = "prometheus/alerts.yaml"
	prometheusRuleFile = "kubernetes/prometheusrule.yaml"
	runbookFile        = "RUNBOOK.md"
)

const prometheusRuleHeader = `# GENERATED from deploy/prometheus/alerts.yaml by ` + "`go test ./deploy -update`" + `:
# edit that file, not this one (a test fails while the two differ).
#
# The carebridge alert rules for the Prometheus Operator. Your Prometheus may
# select PrometheusRules by a label (e.g. release: kube-prometheus-stack):
# add it to metadata.labels.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: carebridge
  labels:
    app.kubernetes.io/name: carebridge
spec:
`

// renderPrometheusRule wraps a Prometheus rules file into a PrometheusRule:
// the file's text, less its leading comment block, indented under spec.
// Indenting every line alike keeps block scalars and comments intact.
func renderPrometheusRule(rules []byte) []byte {
	lines := strings.SplitAfter(string(rules), "\n")
	i := 0
	for i < len(lines) && (strings.HasPrefix(lines[i], "#") || strings.TrimSpace(lines[i]) == "") {
		i++
	}
	var b bytes.Buffer
	b.WriteString(prometheusRuleHeader)
	for _, line := range lines[i:] {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

func readRuleFile(t *testing.T) (ruleFile, []byte) {
	t.Helper()
	var rf ruleFile
	data := decodeFile(t, alertsFile, func(b []byte, v any) error { return yaml.UnmarshalStrict(b, v) }, &rf)
	return rf, data
}

// TestPrometheusRuleMatchesAlerts keeps one place of truth: the
// PrometheusRule is alerts.yaml wrapped, byte for byte, and decodes to the
// same rules.
func TestPrometheusRuleMatchesAlerts(t *testing.T) {
	rf, data := readRuleFile(t)
	want := renderPrometheusRule(data)
	if *update {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with %s: run go test ./deploy -update", prometheusRuleFile, alertsFile)
	}
	obj, err := decodeObject(got)
	if err != nil {
		t.Fatalf("%s: %v", prometheusRuleFile, err)
	}
	pr, ok := obj.(*prometheusRule)
	if !ok {
		t.Fatalf("%s holds a %T", prometheusRuleFile, obj)
	}
	if !reflect.DeepEqual(pr.Spec, rf) {
		t.Errorf("%s spec differs from %s", prometheusRuleFile, alertsFile)
	}
}

func TestRenderPrometheusRule(t *testing.T) {
	in := []byte("# head\n\ngroups:\n  - name: g\n    rules:\n      - alert: A\n        expr: >-\n          up\n          == 0\n\n        # c\n        for: 1m\n")
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(renderPrometheusRule(in), &pr); err != nil {
		t.Fatal(err)
	}
	want := ruleFile{Groups: []ruleGroup{{Name: "g", Rules: []rule{{Alert: "A", Expr: "up == 0", For: "1m"}}}}}
	if !reflect.DeepEqual(pr.Spec, want) {
		t.Errorf("rendered spec %+v, want %+v", pr.Spec, want)
	}
	if bytes.Contains(renderPrometheusRule(in), []byte("# head")) {
		t.Error("the rules file's leading comment was carried over")
	}
}

var anchorRE = regexp.MustCompile(`#([a-z0-9-]+)$`)

// runbookAnchors are the GitHub anchors of RUNBOOK.md's headings.
func runbookAnchors(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	var anchors []string
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchors = append(anchors, strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "-")))
		}
	}
	return anchors
}

func TestAlertRules(t *testing.T) {
	rf, _ := readRuleFile(t)
	anchors := runbookAnchors(t)
	usedBy := map[string][]string{} // metric → alerts
	var names []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				if r.Alert == "" {
					t.Fatalf("group %s: a rule that is not an alert (record %q)", g.Name, r.Record)
				}
				if !strings.HasPrefix(r.Alert, "Carebridge") {
					t.Errorf("alert %s: name it Carebridge...", r.Alert)
				}
				if slices.Contains(names, r.Alert) {
					t.Errorf("alert %s defined twice", r.Alert)
				}
				names = append(names, r.Alert)
				if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
					t.Errorf("for: %q, want a positive duration (a blip must not page)", r.For)
				}
				if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
					t.Errorf("severity %q, want critical, warning or info", s)
				}
				for _, a := range []string{"summary", "description", "runbook_url"} {
					if strings.TrimSpace(r.Annotations[a]) == "" {
						t.Errorf("no %s annotation", a)
					}
				}
				m := anchorRE.FindStringSubmatch(r.Annotations["runbook_url"])
				if !strings.Contains(r.Annotations["runbook_url"], "/deploy/"+runbookFile+"#") || m == nil {
					t.Errorf("runbook_url %q: want deploy/RUNBOOK.md#anchor", r.Annotations["runbook_url"])
				} else if !slices.Contains(anchors, m[1]) || m[1] != strings.ToLower(r.Alert) {
					t.Errorf("runbook_url anchor %q: want a \"## %s\" section in RUNBOOK.md", m[1], r.Alert)
				}
				used, problems := checkExpr(r.Expr, []string{"up"})
				for _, p := range problems {
					t.Error(p)
				}
				for _, u := range used {
					usedBy[u] = append(usedBy[u], r.Alert)
				}
			})
		}
	}
	// What the alerts must watch (SPEC §9 and the deploy issue).
	required := []struct {
		what, metric, alert string
	}{
		{"connection down", "carebridge_salesforce_connection_up", "CarebridgeSalesforceConnectionDown"},
		{"default token expired", "carebridge_salesforce_token_healthy", "CarebridgeSalesforceTokenExpired"},
		{"outbox growing", "carebridge_outbox_pending", "CarebridgeOutboxGrowing"},
		{"outbox oldest age", "carebridge_outbox_oldest_age_seconds", "CarebridgeOutboxDelayed"},
		{"outbox failed", "carebridge_outbox_failed", "CarebridgeOutboxFailed"},
		{"poll stale", "carebridge_poll_last_success_timestamp_seconds", "CarebridgeStatusPollStale"},
		{"mapping invalid", "carebridge_mapping_valid", "CarebridgeMappingInvalid"},
		{"API budget used", "carebridge_salesforce_api_daily_used", "CarebridgeSalesforceAPIBudgetNearlySpent"},
		{"API budget limit", "carebridge_salesforce_api_daily_limit", "CarebridgeSalesforceAPIBudgetNearlySpent"},
		// Not carebridge_replies_published_total: it starts again at 0 on a
		// restart, and rises while one case's reply is stuck.
		{"a reply waiting long", "carebridge_replies_oldest_pending_age_seconds", "CarebridgeRepliesStuck"},
		{"replies refused", "carebridge_replies_failed", "CarebridgeRepliesStuck"},
	}
	for _, r := range required {
		if !slices.Contains(usedBy[r.metric], r.alert) {
			t.Errorf("%s: alert %s does not read %s (it is read by %v)", r.what, r.alert, r.metric, usedBy[r.metric])
		}
	}
	// Every alert has its runbook section, and every section its alert.
	for _, a := range anchors {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.ToLower(n) == a }) {
			t.Errorf("RUNBOOK.md section %q belongs to no alert", a)
		}
	}
}

// TestPromtoolTestsCoverEveryAlert: alerts_test.yaml (run by promtool in
// .ci/check-deploy) has a case for every alert.
func TestPromtoolTestsCoverEveryAlert(t *testing.T) {
	rf, _ := readRuleFile(t)
	data, err := os.ReadFile(filepath.Join("prometheus", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		RuleFiles          []string `json:"rule_files"`
		EvaluationInterval string   `json:"evaluation_interval"`
		Tests              []struct {
			Name          string `json:"name"`
			Interval      string `json:"interval"`
			InputSeries   []any  `json:"input_series"`
			AlertRuleTest []struct {
				EvalTime  string `json:"eval_time"`
				AlertName string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.UnmarshalStrict(data, &tests); err != nil {
		t.Fatalf("alerts_test.yaml: %v", err)
	}
	if !slices.Equal(tests.RuleFiles, []string{"alerts.yaml"}) {
		t.Errorf("alerts_test.yaml rule_files %v, want [alerts.yaml]", tests.RuleFiles)
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if !fires[r.Alert] {
				t.Errorf("alerts_test.yaml never shows %s firing", r.Alert)
			}
		}
	}
}
