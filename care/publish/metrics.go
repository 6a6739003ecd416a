package publish

import (
	"context"
	"time"

	"github.com/carebridge/carebridge/care/metricreg"
	"github.com/prometheus/client_golang/prometheus"
)

// The publisher's metrics (SPEC §16):
//
//	carebridge_replies_published_total{result} (sent, retry, failed),
//	carebridge_replies_pending, carebridge_replies_failed (gauges read
//	from the store's publish outbox at each scrape: counters the store
//	keeps in its transactions, never a walk of the outbox).
//
// An SRE sees a publisher that is down: replies pending while none is
// sent (the alert CarebridgeRepliesStuck), or refused replies waiting for
// a person.

// statsTimeout bounds the store read behind the gauges.
const statsTimeout = 5 * time.Second

var (
	pendingDesc = prometheus.NewDesc("carebridge_replies_pending",
		"Agents' replies waiting for the publisher (new, or retried after it was unreachable or busy).", nil, nil)
	failedDesc = prometheus.NewDesc("carebridge_replies_failed",
		"Agents' replies the publisher refused, waiting for a person to retry them.", nil, nil)
)

// newMetrics registers carebridge_replies_published_total (every result
// exported at 0 from the start) and the outbox gauges read from stats on
// reg (nil: none), and answers the counter.
func newMetrics(reg prometheus.Registerer, stats Store) (*prometheus.CounterVec, error) {
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebridge_replies_published_total",
		Help: "Attempts to publish a reply, by result: sent, retry (the publisher was unreachable or busy), failed (refused).",
	}, []string{"result"})
	for _, r := range []string{ResultSent, ResultRetry, ResultFailed} {
		results.WithLabelValues(r)
	}
	if err := metricreg.Register(reg, "publish", results, statsCollector{stats}); err != nil {
		return nil, err
	}
	return results, nil
}

// statsCollector reads the publish outbox gauges at each scrape.
type statsCollector struct{ src Store }

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- failedDesc
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	pending, failed, err := c.src.PublishStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		ch <- prometheus.NewInvalidMetric(failedDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, float64(failed))
}
