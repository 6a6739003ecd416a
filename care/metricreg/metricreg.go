// Package metricreg registers a room's Prometheus collectors on the
// registerer its constructor was given, the one way every room does it: a
// nil registerer registers nothing (a test or a tool without metrics), and
// a refusal (the same metric twice on one registry) is an error naming the
// room, never a panic.
//
// It imports nothing of the product, so every room may import it.
package metricreg

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers cs on reg in order and stops at the first refusal,
// wrapped as "register <what> metrics: …" (errors.As still finds
// prometheus.AlreadyRegisteredError). A nil reg registers nothing.
func Register(reg prometheus.Registerer, what string, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register %s metrics: %w", what, err)
		}
	}
	return nil
}
