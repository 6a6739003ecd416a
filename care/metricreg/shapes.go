package metricreg

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The values of a "result" label: the operation succeeded or failed.
const (
	ResultOK    = "ok"
	ResultError = "error"
)

// Result is the result label value of an operation that succeeded when ok.
func Result(ok bool) string {
	if ok {
		return ResultOK
	}
	return ResultError
}

// NewCounterVec returns a counter by one label whose values come from a
// closed set, each value's series exported at 0 from the start, so that a
// rate or an alert sees every series before the first count.
func NewCounterVec(opts prometheus.CounterOpts, label string, values ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(opts, []string{label})
	for _, v := range values {
		c.WithLabelValues(v)
	}
	return c
}

// NewResultCounter returns a counter by result (ResultOK, ResultError),
// both series exported at 0 from the start.
func NewResultCounter(opts prometheus.CounterOpts) *prometheus.CounterVec {
	return NewCounterVec(opts, "result", ResultOK, ResultError)
}

// NewScrapedGauges returns a collector of gauges read at each scrape: read,
// bounded by timeout, answers one value per desc, in order (usually
// counters a store keeps, never a walk). A failed read, or an answer of
// the wrong length, exports every gauge as invalid, so the scrape names
// the failure instead of showing stale or zero values.
func NewScrapedGauges(timeout time.Duration, read func(ctx context.Context) ([]float64, error), descs ...*prometheus.Desc) prometheus.Collector {
	return scrapedGauges{timeout: timeout, read: read, descs: descs}
}

type scrapedGauges struct {
	timeout time.Duration
	read    func(ctx context.Context) ([]float64, error)
	descs   []*prometheus.Desc
}

func (g scrapedGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range g.descs {
		ch <- d
	}
}

func (g scrapedGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	vals, err := g.read(ctx)
	if err == nil && len(vals) != len(g.descs) {
		err = fmt.Errorf("read %d gauge values for %d gauges", len(vals), len(g.descs))
	}
	for i, d := range g.descs {
		if err != nil {
			ch <- prometheus.NewInvalidMetric(d, err)
			continue
		}
		m, merr := prometheus.NewConstMetric(d, prometheus.GaugeValue, vals[i])
		if merr != nil {
			m = prometheus.NewInvalidMetric(d, merr)
		}
		ch <- m
	}
}
