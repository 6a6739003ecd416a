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
//	carebridge_replies_pending, carebridge_replies_failed,
//	carebridge_replies_oldest_pending_age_seconds (gauges read from the
//	store's publish outbox at each scrape: counters the store keeps in
//	its transactions and the first key of its pending index, never a
//	walk of the outbox).
//
// An SRE sees replies that do not reach the customers: the oldest one
// waiting for the publisher growing old (a publisher down, or one case's
// reply stuck in retries while the others go out), or refused replies
// waiting for a person (the alert CarebridgeRepliesStuck). The gauges
// come from the store, so they are right at once after a restart; the
// counter starts again at 0.

// statsTimeout bounds the store read behind the gauges.
const statsTimeout = 5 * time.Second

var (
	pendingDesc = prometheus.NewDesc("carebridge_replies_pending",
		"Agents' replies waiting for the publisher (new, or retried after it was unreachable or busy).", nil, nil)
	failedDesc = prometheus.NewDesc("carebridge_replies_failed",
		"Agents' replies the publisher refused, waiting for a person to retry them.", nil, nil)
	oldestDesc = prometheus.NewDesc("carebridge_replies_oldest_pending_age_seconds",
		"Time since the oldest reply still waiting for the publisher was written (0 when none waits).", nil, nil)
)

// newMetrics registers carebridge_replies_published_total (every result
// exported at 0 from the start) and the outbox gauges read from stats on
// reg (nil: none), and answers the counter.
func newMetrics(reg prometheus.Registerer, stats Store) (*prometheus.CounterVec, error) {
	results := metricreg.NewCounterVec(prometheus.CounterOpts{
		Name: "carebridge_replies_published_total",
		Help: "Attempts to publish a reply, by result: sent, retry (the publisher was unreachable or busy), failed (refused).",
	}, "result", ResultSent, ResultRetry, ResultFailed)
	gauges := metricreg.NewScrapedGauges(statsTimeout, func(ctx context.Context) ([]float64, error) {
		st, err := stats.PublishStats(ctx)
		return []float64{float64(st.Pending), float64(st.Failed), st.OldestAge.Seconds()}, err
	}, pendingDesc, failedDesc, oldestDesc)
	if err := metricreg.Register(reg, "publish", results, gauges); err != nil {
		return nil, err
	}
	return results, nil
}
