package deploy

import (
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/publish"
	"github.com/carebridge/carebridge/connector/testworld"
	dto "github.com/prometheus/client_model/go"
)

// TestPublisherExportsWhatDeployReads cross-checks the names the alerts
// and the dashboard are checked against (specMetrics) with what the reply
// publisher registers: every carebridge_replies_ metric it exports is
// known here with its type, and every one known here is exported, so a
// rename on either side fails here rather than leaving an alert without a
// series.
func TestPublisherExportsWhatDeployReads(t *testing.T) {
	w := testworld.New(t, testworld.WithStore(func(o *bolt.Options) { o.Publishing = true }))
	if _, err := publish.New(publish.Options{Store: w.Store, URL: "http://127.0.0.1:9/replies", Registerer: w.Registry}); err != nil {
		t.Fatal(err)
	}
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	types := map[dto.MetricType]metricType{dto.MetricType_GAUGE: gauge, dto.MetricType_COUNTER: counter, dto.MetricType_HISTOGRAM: histogram}
	const prefix = "carebridge_replies_"
	exported := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		exported[name] = true
		spec, ok := specMetrics[name]
		if !ok {
			t.Errorf("the publisher exports %s, which deploy does not know (specMetrics)", name)
			continue
		}
		if typ, ok := types[mf.GetType()]; !ok || typ != spec.typ {
			t.Errorf("%s is a %v; deploy expects another type", name, mf.GetType())
		}
	}
	for name := range specMetrics {
		if strings.HasPrefix(name, prefix) && !exported[name] {
			t.Errorf("deploy reads %s, which the publisher does not export", name)
		}
	}
}
