package bolt

import (
	"github.com/carebridge/carebridge/care"
	"github.com/prometheus/client_golang/prometheus"
)

var casesDesc = prometheus.NewDesc("carebridge_cases", "Care cases by status.", []string{"status"}, nil)

// Collector exports carebridge_cases{status}, read from the store's status
// counts at each scrape; every status is exported, at 0 when empty.
func (s *Store) Collector() prometheus.Collector { return casesCollector{s} }

type casesCollector struct{ s *Store }

func (c casesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- casesDesc }

func (c casesCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.s.StatusCounts()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(casesDesc, err)
		return
	}
	for _, st := range care.Statuses {
		ch <- prometheus.MustNewConstMetric(casesDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
