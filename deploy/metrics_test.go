package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// metricType is a Prometheus metric type.
type metricType int

const (
	gauge metricType = iota
	counter
	histogram
)

// metricSpec is one row of SPEC §7: its type and its labels, each with its
// closed set of values where the SPEC gives one (nil: any value).
type metricSpec struct {
	typ    metricType
	labels map[string][]string
}

var (
	operations     = []string{"token", "query", "search", "describe", "create", "update", "upsert", "collections", "composite", "delete", "revoke", "userinfo", "limits"}
	caseStatuses   = []string{"new", "open", "pending", "on_hold", "done", "spam", "deleted"}
	syncDirections = []string{"to_salesforce", "from_salesforce"}
	results        = []string{"ok", "error"}
)

// specMetrics is SPEC §7, every name the daemon exports.
var specMetrics = map[string]metricSpec{
	"carebridge_salesforce_connection_up":            {gauge, nil},
	"carebridge_salesforce_token_healthy":            {gauge, map[string][]string{"kind": {"default", "user"}, "user": nil}},
	"carebridge_salesforce_token_refresh_total":      {counter, map[string][]string{"result": results}},
	"carebridge_salesforce_requests_total":           {counter, map[string][]string{"operation": operations, "code": nil}},
	"carebridge_salesforce_request_duration_seconds": {histogram, map[string][]string{"operation": operations}},
	"carebridge_salesforce_api_daily_used":           {gauge, nil},
	"carebridge_salesforce_api_daily_limit":          {gauge, nil},
	"carebridge_outbox_pending":                      {gauge, nil},
	"carebridge_outbox_failed":                       {gauge, nil},
	"carebridge_outbox_oldest_age_seconds":           {gauge, nil},
	"carebridge_messages_pushed_total":               {counter, nil},
	"carebridge_status_sync_total":                   {counter, map[string][]string{"direction": syncDirections}},
	"carebridge_poll_last_success_timestamp_seconds": {gauge, nil},
	"carebridge_push_lag_seconds":                    {histogram, nil},
	"carebridge_status_sync_lag_seconds":             {histogram, map[string][]string{"direction": syncDirections}},
	"carebridge_mapping_truncations_total":           {counter, map[string][]string{"object": nil, "field": nil}},
	"carebridge_mapping_valid":                       {gauge, nil},
	"carebridge_mapping_reloads_total":               {counter, map[string][]string{"result": results}},
	"carebridge_cases":                               {gauge, map[string][]string{"status": caseStatuses}},
	"carebridge_http_requests_total":                 {counter, map[string][]string{"route": nil, "code": nil}},
	// SPEC §15.
	"carebridge_change_events_received_total": {counter, nil},
	"carebridge_change_event_lag_seconds":     {histogram, nil},
	"carebridge_change_stream_up":             {gauge, nil},
	"carebridge_change_event_gaps_total":      {counter, nil}, // beyond the SPEC: gap events seen (README)
	// SPEC §16.
	"carebridge_replies_published_total": {counter, map[string][]string{"result": {"sent", "retry", "failed"}}},
	"carebridge_replies_pending":         {gauge, nil},
	"carebridge_replies_failed":          {gauge, nil},
	// Beyond the SPEC: how long the oldest reply has waited for the
	// publisher (README), which CarebridgeRepliesStuck reads.
	"carebridge_replies_oldest_pending_age_seconds": {gauge, nil},
	// Beyond the SPEC: case external ids a Salesforce user cleared or
	// changed that the poll or a change event wrote back (README).
	"carebridge_case_keys_restored_total": {counter, map[string][]string{"result": {"restored", "refused"}}},
}

// targetLabels are added by the scrape (Prometheus, Prometheus Operator).
var targetLabels = []string{"job", "instance", "namespace", "pod", "service", "container", "endpoint"}

// promQLKeywords are words of PromQL that are neither metrics nor functions.
var promQLKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "Inf": true, "NaN": true,
}

// promQLAggregators may be followed by "by (...)" before their parentheses.
var promQLAggregators = map[string]bool{
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "stddev": true, "stdvar": true,
	"topk": true, "bottomk": true, "quantile": true, "count_values": true, "group": true,
}

// selectorUse is a metric name found in an expression, with its matchers.
type selectorUse struct {
	name     string
	matchers []matcher
}

type matcher struct {
	label, op, value string
}

var (
	identRE   = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`)
	numberRE  = regexp.MustCompile(`^[0-9][0-9a-zA-Z_.]*`)
	grafanaRE = regexp.MustCompile(`^\$(\{[^}]*\}|[a-zA-Z0-9_]+)`)
	matcherRE = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$`)
)

// scanPromQL finds the metric names of a PromQL expression (with their
// label matchers) and the label names of its by/without/on/ignoring/group_*
// clauses. It is a lexer, not a parser: enough to check names, and it
// reports what it cannot read.
func scanPromQL(expr string) (uses []selectorUse, grouping []string, err error) {
	s := expr
	prevMetric := -1 // index in uses of a metric name just read
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			s = s[1:]
			continue
		case c == '"' || c == '\'' || c == '`':
			end := closingQuote(s)
			if end < 0 {
				return nil, nil, fmt.Errorf("unterminated string in %q", expr)
			}
			s = s[end+1:]
		case c == '{':
			end := closingBrace(s)
			if end < 0 {
				return nil, nil, fmt.Errorf("unterminated selector in %q", expr)
			}
			if prevMetric < 0 {
				return nil, nil, fmt.Errorf("a selector without a metric name in %q", expr)
			}
			for _, part := range splitOutsideQuotes(s[1:end]) {
				if strings.TrimSpace(part) == "" {
					continue
				}
				mm := matcherRE.FindStringSubmatch(part)
				if mm == nil {
					return nil, nil, fmt.Errorf("unreadable matcher %q in %q", part, expr)
				}
				uses[prevMetric].matchers = append(uses[prevMetric].matchers, matcher{mm[1], mm[2], mm[3]})
			}
			s = s[end+1:]
		case c == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, nil, fmt.Errorf("unterminated range in %q", expr)
			}
			s = s[end+1:]
		case c == '$':
			v := grafanaRE.FindString(s)
			if v == "" {
				return nil, nil, fmt.Errorf("stray $ in %q", expr)
			}
			s = s[len(v):]
		case c >= '0' && c <= '9' || c == '.' && len(s) > 1 && s[1] >= '0' && s[1] <= '9':
			n := numberRE.FindString(s)
			if n == "" {
				n = s[:1]
			}
			s = s[len(n):]
		case identRE.MatchString(s):
			id := identRE.FindString(s)
			s = s[len(id):]
			rest := strings.TrimLeft(s, " \t\r\n")
			switch {
			case id == "by" || id == "without" || id == "on" || id == "ignoring" || id == "group_left" || id == "group_right":
				if strings.HasPrefix(rest, "(") {
					end := strings.IndexByte(rest, ')')
					if end < 0 {
						return nil, nil, fmt.Errorf("unterminated %s ( in %q", id, expr)
					}
					for _, l := range strings.Split(rest[1:end], ",") {
						if l = strings.TrimSpace(l); l != "" {
							grouping = append(grouping, l)
						}
					}
					s = rest[end+1:]
				}
			case promQLKeywords[id] || promQLAggregators[id] || strings.HasPrefix(rest, "("):
				// operator, aggregation or function
			default:
				uses = append(uses, selectorUse{name: id})
				prevMetric = len(uses) - 1
				continue
			}
		default:
			s = s[1:]
		}
		prevMetric = -1
	}
	return uses, grouping, nil
}

func closingQuote(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

func closingBrace(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			end := closingQuote(s[i:])
			if end < 0 {
				return -1
			}
			i += end
		case '}':
			return i
		}
	}
	return -1
}

func splitOutsideQuotes(s string) []string {
	var parts []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// resolveMetric finds a name's SPEC §7 row: the name itself, or a
// histogram's _bucket, _sum or _count series.
func resolveMetric(name string) (base string, spec metricSpec, bucket bool, ok bool) {
	if spec, ok := specMetrics[name]; ok {
		return name, spec, false, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		b, found := strings.CutSuffix(name, suffix)
		if spec, ok := specMetrics[b]; found && ok && spec.typ == histogram {
			return b, spec, suffix == "_bucket", true
		}
	}
	return "", metricSpec{}, false, false
}

// checkExpr checks a PromQL expression against SPEC §7: every metric it
// reads is one of the SPEC's (or in extra), every label it matches or
// groups by exists on those metrics (or is a target label), and every
// label value it matches exactly is in the label's closed set. It returns
// the SPEC metrics used and the problems found.
func checkExpr(expr string, extra []string) (used []string, problems []string) {
	uses, grouping, err := scanPromQL(expr)
	if err != nil {
		return nil, []string{err.Error()}
	}
	if len(uses) == 0 {
		problems = append(problems, fmt.Sprintf("%q reads no metric", expr))
	}
	known := slices.Clone(targetLabels)
	for _, u := range uses {
		if slices.Contains(extra, u.name) {
			continue
		}
		base, spec, bucket, ok := resolveMetric(u.name)
		if !ok {
			problems = append(problems, fmt.Sprintf("metric %s is not in SPEC §7", u.name))
			continue
		}
		used = append(used, base)
		for l := range spec.labels {
			known = append(known, l)
		}
		if bucket {
			known = append(known, "le")
		}
		for _, m := range u.matchers {
			values, isLabel := spec.labels[m.label]
			switch {
			case m.label == "le" && bucket:
			case slices.Contains(targetLabels, m.label):
			case !isLabel:
				problems = append(problems, fmt.Sprintf("%s has no label %q", base, m.label))
			case values == nil || strings.Contains(m.value, "$"):
			case m.op == "=" || m.op == "!=":
				if !slices.Contains(values, m.value) {
					problems = append(problems, fmt.Sprintf("%s{%s%s%q}: %q is not one of %v", base, m.label, m.op, m.value, m.value, values))
				}
			default: // a regexp: check the plain alternatives
				for _, alt := range strings.Split(m.value, "|") {
					if identRE.FindString(alt) == alt && !slices.Contains(values, alt) {
						problems = append(problems, fmt.Sprintf("%s{%s%s%q}: %q is not one of %v", base, m.label, m.op, m.value, alt, values))
					}
				}
			}
		}
	}
	for _, l := range grouping {
		if !slices.Contains(known, l) {
			problems = append(problems, fmt.Sprintf("groups by %q, a label none of its metrics has", l))
		}
	}
	return used, problems
}

func TestCheckExpr(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		extra    []string
		used     []string
		problems int
	}{
		{"gauge", "carebridge_outbox_failed > 0", nil, []string{"carebridge_outbox_failed"}, 0},
		{"ratio", "carebridge_salesforce_api_daily_used / carebridge_salesforce_api_daily_limit > 0.9", nil,
			[]string{"carebridge_salesforce_api_daily_used", "carebridge_salesforce_api_daily_limit"}, 0},
		{"histogram quantile", `histogram_quantile(0.95, sum by (le, operation) (rate(carebridge_salesforce_request_duration_seconds_bucket{operation=~"query|create", instance=~"$instance"}[$__rate_interval])))`, nil,
			[]string{"carebridge_salesforce_request_duration_seconds"}, 0},
		{"closed value", `carebridge_salesforce_token_healthy{kind="default"} == 0`, nil, []string{"carebridge_salesforce_token_healthy"}, 0},
		{"extra name", `up{job="carebridge"} == 0`, []string{"up"}, nil, 0},
		{"time and offset", `time() - carebridge_poll_last_success_timestamp_seconds offset 5m > 1e3`, nil, []string{"carebridge_poll_last_success_timestamp_seconds"}, 0},
		{"unknown metric", "carebridge_outbox_size > 0", nil, nil, 1},
		{"misspelt prefix", "carebrige_outbox_failed > 0", nil, nil, 1},
		{"bucket of a gauge", "carebridge_outbox_failed_bucket", nil, nil, 1},
		{"unknown label", `carebridge_cases{state="open"}`, nil, []string{"carebridge_cases"}, 1},
		{"value outside the set", `carebridge_salesforce_token_healthy{kind="defualt"}`, nil, []string{"carebridge_salesforce_token_healthy"}, 1},
		{"regexp value outside the set", `carebridge_cases{status=~"open|closed"}`, nil, []string{"carebridge_cases"}, 1},
		{"group by an unknown label", `sum by (operation) (carebridge_cases)`, nil, []string{"carebridge_cases"}, 1},
		{"no metric", "vector(1)", nil, nil, 1},
		{"unterminated", `carebridge_cases{status="open"`, nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used, problems := checkExpr(tt.expr, tt.extra)
			if !slices.Equal(used, tt.used) || len(problems) != tt.problems {
				t.Errorf("checkExpr(%q) = %v, %q; want %v and %d problems", tt.expr, used, problems, tt.used, tt.problems)
			}
		})
	}
}
