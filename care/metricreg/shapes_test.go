package metricreg

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestResultCounter(t *testing.T) {
	c := NewResultCounter(prometheus.CounterOpts{Name: "carebridge_test_total", Help: "test"})
	if n := testutil.CollectAndCount(c); n != 2 {
		t.Fatalf("%d series before any count, want ok and error at 0", n)
	}
	c.WithLabelValues(Result(false)).Inc()
	c.WithLabelValues(Result(true)).Add(2)
	if ok, bad := testutil.ToFloat64(c.WithLabelValues(ResultOK)), testutil.ToFloat64(c.WithLabelValues(ResultError)); ok != 2 || bad != 1 {
		t.Errorf("ok %v, error %v; want 2 and 1", ok, bad)
	}
}

func TestCounterVecClosedSet(t *testing.T) {
	c := NewCounterVec(prometheus.CounterOpts{Name: "carebridge_test_total", Help: "test"}, "direction", "in", "out", "in")
	err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP carebridge_test_total test
# TYPE carebridge_test_total counter
carebridge_test_total{direction="in"} 0
carebridge_test_total{direction="out"} 0
`))
	if err != nil {
		t.Error(err)
	}
}

func TestScrapedGauges(t *testing.T) {
	pending := prometheus.NewDesc("carebridge_test_pending", "test", nil, nil)
	age := prometheus.NewDesc("carebridge_test_age_seconds", "test", nil, nil)
	var answer []float64
	var failure error
	var deadline bool
	g := NewScrapedGauges(time.Minute, func(ctx context.Context) ([]float64, error) {
		_, deadline = ctx.Deadline()
		return answer, failure
	}, pending, age)
	reg := prometheus.NewRegistry()
	if err := Register(reg, "test", g); err != nil {
		t.Fatal(err)
	}

	answer = []float64{3, 1.5}
	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP carebridge_test_age_seconds test
# TYPE carebridge_test_age_seconds gauge
carebridge_test_age_seconds 1.5
# HELP carebridge_test_pending test
# TYPE carebridge_test_pending gauge
carebridge_test_pending 3
`))
	if err != nil {
		t.Error(err)
	}
	if !deadline {
		t.Error("the read had no deadline")
	}

	for name, tc := range map[string]struct {
		answer  []float64
		failure error
	}{
		"failed read": {nil, errors.New("store closed")},
		"short read":  {[]float64{3}, nil},
	} {
		answer, failure = tc.answer, tc.failure
		if _, err := reg.Gather(); err == nil {
			t.Errorf("%s: the scrape succeeded with stale or missing gauges", name)
		}
	}
}
