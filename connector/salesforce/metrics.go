package salesforce

import (
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care/metricreg"
	"github.com/prometheus/client_golang/prometheus"
)

// Operation names a kind of Salesforce call. It is the `operation` label of
// the request metrics and comes from a fixed set (SPEC §7).
type Operation string

// The fixed set of operations.
const (
	OpToken       Operation = "token"
	OpQuery       Operation = "query" // also queryMore, retrieve by id and getUpdated
	OpSearch      Operation = "search"
	OpDescribe    Operation = "describe"
	OpCreate      Operation = "create"
	OpUpdate      Operation = "update"
	OpUpsert      Operation = "upsert"
	OpCollections Operation = "collections"
	OpComposite   Operation = "composite"
	OpDelete      Operation = "delete"
	OpRevoke      Operation = "revoke"
	OpUserInfo    Operation = "userinfo"
	OpLimits      Operation = "limits"
)

// operations lists every Operation, in a stable order.
var operations = []Operation{
	OpToken, OpQuery, OpSearch, OpDescribe, OpCreate, OpUpdate, OpUpsert,
	OpCollections, OpComposite, OpDelete, OpRevoke, OpUserInfo, OpLimits,
}

// Observer receives one event per HTTP exchange with Salesforce and the
// API usage read from each answer. *Metrics implements it; nil Observers
// are allowed wherever one is taken.
type Observer interface {
	// ObserveRequest records one HTTP exchange. code is the HTTP status,
	// or 0 when no answer arrived.
	ObserveRequest(op Operation, code int, d time.Duration)
	// ObserveLimit records the org's daily API usage.
	ObserveLimit(l LimitInfo)
}

// LimitInfo is the org's rolling 24-hour API usage, from the
// Sforce-Limit-Info response header (api-usage=Used/Max).
type LimitInfo struct {
	Used int64
	Max  int64
}

// Fraction is Used/Max, or 0 when Max is unknown.
func (l LimitInfo) Fraction() float64 {
	if l.Max <= 0 {
		return 0
	}
	return float64(l.Used) / float64(l.Max)
}

// ParseLimitInfo reads the api-usage entry of a Sforce-Limit-Info header
// value such as "api-usage=113/5000000" (other entries, e.g.
// per-app-api-usage, are ignored). ok is false when there is none.
func ParseLimitInfo(header string) (l LimitInfo, ok bool) {
	for _, part := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == ';' }) {
		key, val, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(key), "api-usage") {
			continue
		}
		usedS, maxS, found := strings.Cut(strings.TrimSpace(val), "/")
		if !found {
			return LimitInfo{}, false
		}
		used, err1 := strconv.ParseInt(strings.TrimSpace(usedS), 10, 64)
		maxV, err2 := strconv.ParseInt(strings.TrimSpace(maxS), 10, 64)
		if err1 != nil || err2 != nil || used < 0 || maxV < 0 {
			return LimitInfo{}, false
		}
		return LimitInfo{Used: used, Max: maxV}, true
	}
	return LimitInfo{}, false
}

// Metrics exports the Salesforce request metrics of SPEC §7:
// carebridge_salesforce_requests_total{operation,code},
// carebridge_salesforce_request_duration_seconds{operation},
// carebridge_salesforce_api_daily_used and carebridge_salesforce_api_daily_limit.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	dailyUsed  prometheus.Gauge
	dailyLimit prometheus.Gauge
}

// commonCodes are the status codes whose series exist from start.
var commonCodes = []int{200, 201, 204, 400, 401, 403, 404, 500, 503}

// NewMetrics registers the metrics with reg. Every operation's histogram and
// its counter for the common status codes are exported at 0 from start.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebridge_salesforce_requests_total",
			Help: "Salesforce HTTP requests by operation and HTTP status (\"error\": no answer).",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "carebridge_salesforce_request_duration_seconds",
			Help:    "Duration of Salesforce HTTP requests by operation.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"operation"}),
		dailyUsed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carebridge_salesforce_api_daily_used",
			Help: "API requests the org used in the rolling 24 hours, from Sforce-Limit-Info.",
		}),
		dailyLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carebridge_salesforce_api_daily_limit",
			Help: "The org's daily API request allocation, from Sforce-Limit-Info.",
		}),
	}
	if err := metricreg.Register(reg, "salesforce request", m.requests, m.duration, m.dailyUsed, m.dailyLimit); err != nil {
		return nil, err
	}
	for _, op := range operations {
		m.duration.WithLabelValues(string(op))
		for _, code := range commonCodes {
			m.requests.WithLabelValues(string(op), strconv.Itoa(code))
		}
	}
	return m, nil
}

// ObserveRequest counts one request and its duration.
func (m *Metrics) ObserveRequest(op Operation, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(string(op), codeLabel(code)).Inc()
	m.duration.WithLabelValues(string(op)).Observe(d.Seconds())
}

// ObserveLimit sets the daily usage gauges.
func (m *Metrics) ObserveLimit(l LimitInfo) {
	if m == nil {
		return
	}
	m.dailyUsed.Set(float64(l.Used))
	m.dailyLimit.Set(float64(l.Max))
}

func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return "error"
	}
	return strconv.Itoa(code)
}
