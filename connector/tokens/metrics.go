package tokens

import (
	"fmt"

	"github.com/carebridge/carebridge/care/metricreg"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the token metrics of SPEC §7.
type metrics struct {
	up      prometheus.Gauge
	healthy *prometheus.GaugeVec
	refresh *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carebridge_salesforce_connection_up",
			Help: "1 while at least one Salesforce token is healthy, else 0.",
		}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "carebridge_salesforce_token_healthy",
			Help: "1 when the Salesforce token is healthy, 0 when it expired; kind is default or user, user the Care user id.",
		}, []string{"kind", "user"}),
		refresh: metricreg.NewResultCounter(prometheus.CounterOpts{
			Name: "carebridge_salesforce_token_refresh_total",
			Help: "Salesforce token renewals (refresh-token grants and JWT re-grants), by result.",
		}),
	}
	if err := metricreg.Register(reg, "token", m.up, m.healthy, m.refresh); err != nil {
		return nil, fmt.Errorf("tokens: %w (one pool per registry)", err)
	}
	return m, nil
}

// set moves the health series from old to rec (either may be nil): a
// removed entry, or a default token with a new holder, loses its series.
func (m *metrics) set(old, rec *record) {
	if old != nil && (rec == nil || old.metricUser() != rec.metricUser()) {
		m.healthy.DeleteLabelValues(string(old.Kind), old.metricUser())
	}
	if rec != nil {
		v := 0.0
		if rec.Healthy {
			v = 1
		}
		m.healthy.WithLabelValues(string(rec.Kind), rec.metricUser()).Set(v)
	}
}

func (m *metrics) setUp(s State) {
	if s == Connected {
		m.up.Set(1)
	} else {
		m.up.Set(0)
	}
}

func (m *metrics) refreshed(err error) {
	m.refresh.WithLabelValues(metricreg.Result(err == nil)).Inc()
}
