package mapping

import (
	"github.com/carebridge/carebridge/care/metricreg"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the mapping metrics of SPEC §7. A nil *Metrics counts
// nothing.
type Metrics struct {
	truncations *prometheus.CounterVec
	valid       prometheus.Gauge
	reloads     *prometheus.CounterVec
}

// NewMetrics creates the mapping metrics and registers them on reg. The
// reload series (result ok and error) start at 0 and the mapping counts as
// valid until a load fails.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		truncations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebridge_mapping_truncations_total",
			Help: "Values shortened to fit a Salesforce field's length, by object and field.",
		}, []string{"object", "field"}),
		valid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carebridge_mapping_valid",
			Help: "1 while the last mapping load succeeded (or no mapping is configured), 0 after a rejected one.",
		}),
		reloads: metricreg.NewResultCounter(prometheus.CounterOpts{
			Name: "carebridge_mapping_reloads_total",
			Help: "Mapping loads and reloads by result (ok, error).",
		}),
	}
	if err := metricreg.Register(reg, "mapping", m.truncations, m.valid, m.reloads); err != nil {
		return nil, err
	}
	m.valid.Set(1)
	return m, nil
}

// truncated counts one shortened value.
func (m *Metrics) truncated(object, field string) {
	if m != nil {
		m.truncations.WithLabelValues(object, field).Inc()
	}
}

// loaded records the result of a load or reload.
func (m *Metrics) loaded(ok bool) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(metricreg.Result(ok)).Inc()
	if ok {
		m.valid.Set(1)
	} else {
		m.valid.Set(0)
	}
}

// prepare exports the truncation series of every field the mapping renders
// at 0, so that dashboards see them before the first cut. The label set is
// bounded by the mapping file.
func (m *Metrics) prepare(mp *Mapping) {
	if m == nil || mp == nil {
		return
	}
	for _, obj := range []Object{ObjectContact, ObjectCase, ObjectLead, ObjectMessages} {
		sec := mp.Section(obj)
		if sec == nil || sec.Object == "" {
			continue
		}
		for _, f := range sec.Fields {
			m.truncations.WithLabelValues(sec.Object, f.Name)
		}
	}
}
