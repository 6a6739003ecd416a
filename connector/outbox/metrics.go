package outbox

import (
	"context"
	"time"

	"github.com/carebridge/carebridge/care/metricreg"
	"github.com/prometheus/client_golang/prometheus"
)

// Directions of the status sync, the label values of
// carebridge_status_sync_total and carebridge_status_sync_lag_seconds.
const (
	DirectionToSalesforce   = "to_salesforce"
	DirectionFromSalesforce = "from_salesforce"
)

// Results of a case external id write-back, the label values of
// carebridge_case_keys_restored_total.
const (
	KeyRestored = "restored"
	KeyRefused  = "refused"
)

// directions are both directions, exported at 0 from the start.
var directions = []string{DirectionToSalesforce, DirectionFromSalesforce}

// statsTimeout bounds the store read behind the outbox gauges.
const statsTimeout = 5 * time.Second

// Metrics exports the sync metrics of SPEC §7:
//
//	carebridge_outbox_pending, carebridge_outbox_failed,
//	carebridge_outbox_oldest_age_seconds (gauges read from the store),
//	carebridge_messages_pushed_total,
//	carebridge_status_sync_total{direction},
//	carebridge_poll_last_success_timestamp_seconds,
//	carebridge_push_lag_seconds,
//	carebridge_status_sync_lag_seconds{direction},
//	carebridge_case_keys_restored_total{result}.
//
// Both directions and both results are exported at 0 from the start. One Metrics is shared
// by the Deliverer and the Poller; a nil *Metrics records nothing.
type Metrics struct {
	pushed     prometheus.Counter
	statusSync *prometheus.CounterVec
	lastPoll   prometheus.Gauge
	pushLag    prometheus.Histogram
	statusLag  *prometheus.HistogramVec
	keys       *prometheus.CounterVec
}

// lagBuckets span a fast push (tens of milliseconds) to a long outage.
var lagBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600}

// NewMetrics registers the metrics with reg. stats, when not nil, backs
// the outbox gauges (read at each scrape).
func NewMetrics(reg prometheus.Registerer, stats StatsSource) (*Metrics, error) {
	m := &Metrics{
		pushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebridge_messages_pushed_total",
			Help: "Message records Salesforce accepted (pushes and backfills).",
		}),
		statusSync: metricreg.NewCounterVec(prometheus.CounterOpts{
			Name: "carebridge_status_sync_total",
			Help: "Status changes carried between Care and Salesforce, by direction.",
		}, "direction", directions...),
		lastPoll: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carebridge_poll_last_success_timestamp_seconds",
			Help: "Unix time of the last successful Salesforce status poll (0: none yet).",
		}),
		pushLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "carebridge_push_lag_seconds",
			Help:    "Time from a message entering Care to Salesforce accepting its record.",
			Buckets: lagBuckets,
		}),
		statusLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "carebridge_status_sync_lag_seconds",
			Help:    "Time from a status change on one side to it being applied on the other, by direction.",
			Buckets: lagBuckets,
		}, []string{"direction"}),
		keys: metricreg.NewCounterVec(prometheus.CounterOpts{
			Name: "carebridge_case_keys_restored_total",
			Help: "Case external ids a Salesforce user cleared or changed that carebridge wrote back (restored) or Salesforce refused (refused).",
		}, "result", KeyRestored, KeyRefused),
	}
	for _, d := range directions {
		m.statusLag.WithLabelValues(d)
	}
	cs := []prometheus.Collector{m.pushed, m.statusSync, m.lastPoll, m.pushLag, m.statusLag, m.keys}
	if stats != nil {
		cs = append(cs, statsGauges(stats))
	}
	if err := metricreg.Register(reg, "outbox", cs...); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) messagesPushed(n int) {
	if m != nil && n > 0 {
		m.pushed.Add(float64(n))
	}
}

func (m *Metrics) observePushLag(d time.Duration) {
	if m != nil {
		m.pushLag.Observe(max(d, 0).Seconds())
	}
}

func (m *Metrics) statusSynced(direction string, lag time.Duration) {
	if m != nil {
		m.statusSync.WithLabelValues(direction).Inc()
		m.statusLag.WithLabelValues(direction).Observe(max(lag, 0).Seconds())
	}
}

func (m *Metrics) keyRestored(result string) {
	if m != nil {
		m.keys.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) polled(at time.Time) {
	if m != nil {
		m.lastPoll.Set(float64(at.UnixNano()) / 1e9)
	}
}

var (
	pendingDesc = prometheus.NewDesc("carebridge_outbox_pending",
		"Salesforce operations waiting in the outbox.", nil, nil)
	failedDesc = prometheus.NewDesc("carebridge_outbox_failed",
		"Salesforce operations Salesforce refused, waiting for a person.", nil, nil)
	oldestDesc = prometheus.NewDesc("carebridge_outbox_oldest_age_seconds",
		"Age of the oldest pending outbox operation (0 when none).", nil, nil)
)

// statsGauges reads the outbox gauges from the store at each scrape.
func statsGauges(src StatsSource) prometheus.Collector {
	return metricreg.NewScrapedGauges(statsTimeout, func(ctx context.Context) ([]float64, error) {
		st, err := src.OutboxStats(ctx)
		if err != nil {
			return nil, err
		}
		return []float64{float64(st.Pending), float64(st.Failed), st.OldestAge.Seconds()}, nil
	}, pendingDesc, failedDesc, oldestDesc)
}
