package changeevents

import (
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/care/metricreg"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports the change-event metrics of SPEC §15:
//
//	carebridge_change_events_received_total,
//	carebridge_change_event_lag_seconds (commit to applied),
//	carebridge_change_stream_up,
//
// and carebridge_change_event_gaps_total: the gap events Salesforce sent
// instead of a change's values, each read by a catch-up poll. Applied
// changes count in carebridge_status_sync_total through the
// poller's apply path. A nil *Metrics records nothing.
type Metrics struct {
	received prometheus.Counter
	gaps     prometheus.Counter
	lag      prometheus.Histogram
	up       *streamGauge
}

// lagBuckets span an event handled at once to a stream that caught up.
var lagBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// NewMetrics registers the metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebridge_change_events_received_total",
			Help: "Salesforce change events received over the Pub/Sub API.",
		}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebridge_change_event_gaps_total",
			Help: "Salesforce gap events (GAP_CREATE, GAP_UPDATE, GAP_DELETE, GAP_UNDELETE, GAP_OVERFLOW): " +
				"changes sent without their values, each read by a catch-up poll.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "carebridge_change_event_lag_seconds",
			Help:    "Time from a Salesforce change's commit to its change event being applied to Care.",
			Buckets: lagBuckets,
		}),
		up: &streamGauge{},
	}
	if err := metricreg.Register(reg, "change event", m.received, m.gaps, m.lag, m.up); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) eventsReceived(n int) {
	if m != nil && n > 0 {
		m.received.Add(float64(n))
	}
}

func (m *Metrics) gapSeen() {
	if m != nil {
		m.gaps.Inc()
	}
}

func (m *Metrics) applied(lag time.Duration) {
	if m != nil {
		m.lag.Observe(max(lag, 0).Seconds())
	}
}

func (m *Metrics) streamUp(up bool) {
	if m != nil {
		v := streamDown
		if up {
			v = streamUp
		}
		m.up.state.Store(v)
	}
}

// streamIdle withdraws carebridge_change_stream_up: there is no stream to
// hold (the status sync is not bidirectional), so no alert should fire.
func (m *Metrics) streamIdle() {
	if m != nil {
		m.up.state.Store(streamIdle)
	}
}

// States of the change stream gauge.
const (
	streamDown int32 = iota // exported 0: from the start until subscribed
	streamUp                // exported 1
	streamIdle              // not exported
)

var streamUpDesc = prometheus.NewDesc("carebridge_change_stream_up",
	"1 while the Salesforce change stream is subscribed, 0 while the poller carries changes instead; "+
		"absent while there is no stream to hold (status sync not bidirectional).", nil, nil)

// streamGauge is carebridge_change_stream_up, absent while idle.
type streamGauge struct{ state atomic.Int32 }

func (g *streamGauge) Describe(ch chan<- *prometheus.Desc) { ch <- streamUpDesc }

func (g *streamGauge) Collect(ch chan<- prometheus.Metric) {
	st := g.state.Load()
	if st == streamIdle {
		return
	}
	ch <- prometheus.MustNewConstMetric(streamUpDesc, prometheus.GaugeValue, float64(st))
}
