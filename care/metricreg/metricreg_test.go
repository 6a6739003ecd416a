package metricreg

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	newGauge := func() prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "carebridge_test_up", Help: "test"})
	}
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "carebridge_test_total", Help: "test"})
	if err := Register(reg, "test", newGauge(), counter); err != nil {
		t.Fatal(err)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 2 {
		t.Fatalf("gathered %d families, %v", len(mfs), err)
	}

	err := Register(reg, "test", newGauge())
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) || !strings.HasPrefix(err.Error(), "register test metrics: ") {
		t.Errorf("registering twice: %v", err)
	}

	if err := Register(nil, "test", newGauge(), newGauge()); err != nil {
		t.Errorf("a nil registerer: %v", err)
	}
}
