package simtest

import (
	"slices"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/expect"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Eventually waits until cond holds, failing tb after timeout. It checks
// the outcome of work other goroutines do; it asserts nothing about how
// long that takes.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			tb.Fatalf("not reached within %s: %s", timeout, what)
		case <-tick.C:
		}
	}
}

// Metric returns the value of the series of name with exactly labels in
// reg (a gauge's or counter's value, a histogram's count), and whether it
// exists.
func Metric(tb testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsAre(m, labels) {
				return value(m), true
			}
		}
	}
	return 0, false
}

func labelsAre(m *dto.Metric, labels map[string]string) bool {
	if len(m.GetLabel()) != len(labels) {
		return false
	}
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// NoSecrets fails tb for every secret that stands in clear in one of the
// places (what → its bytes: logs, a store file, an answer), naming only
// the secret's first characters; an empty secret fails too, as a sign the
// test collected nothing.
func NoSecrets(tb testing.TB, secrets []string, places map[string][]byte) {
	tb.Helper()
	if slices.Contains(secrets, "") {
		tb.Fatal("empty secret collected")
	}
	for where, data := range places {
		expect.NoSecret(tb, where, string(data), secrets...)
	}
}
