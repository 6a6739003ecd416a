package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/changeevents"
	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/sfapi"
	"github.com/carebridge/carebridge/connector/tokens"
)

// changesOff is the connection's changes_reason with change events off.
const changesOff = "salesforce.change_events is off"

// newChangeSubscriber builds the change-event subscriber of SPEC §15, or
// nil with salesforce.change_events: off.
func newChangeSubscriber(cfg *config.Config, pool *tokens.Pool, poller *outbox.Poller, store *bolt.Store,
	reg prometheus.Registerer, logger *slog.Logger) (*changeevents.Subscriber, error) {
	if cfg.Salesforce.ChangeEvents == config.ChangeEventsOff {
		return nil, nil
	}
	return changeevents.New(changeevents.Options{URL: cfg.Salesforce.PubSubURL, Tokens: pool, Poller: poller,
		KV: store.KV(outbox.Namespace), Registerer: reg, Logger: logger})
}

// changesStatus is the connection's "changes" and "changes_reason".
func changesStatus(s *changeevents.Subscriber) (changes, reason string) {
	if s == nil {
		return sfapi.ChangesPolling, changesOff
	}
	if up, why := s.State(); !up {
		return sfapi.ChangesPolling, why
	}
	return sfapi.ChangesEvents, ""
}

// runChanges runs the subscriber until ctx ends; the channel closes when
// it has stopped.
func (d *daemon) runChanges(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if d.changes != nil {
			d.changes.Run(ctx)
		}
	}()
	return done
}

// stopChanges waits (up to ctx) for the subscriber to stop after its
// context was cancelled, so no event is applied to a closed store, and
// closes its connection.
func (d *daemon) stopChanges(ctx context.Context, done <-chan struct{}) {
	select {
	case <-done:
	case <-ctx.Done():
		d.log.Warn("the change-event subscriber did not stop in time")
	}
	if d.changes != nil {
		d.changes.Close()
	}
}

// demoChangeEvents is the demo config's change-event keys: the simulated
// org's Pub/Sub API (the demo uses events; the poller is the safety net),
// or polling alone when the org serves none.
func demoChangeEvents(pubsubURL string) string {
	if pubsubURL == "" {
		return "  change_events: off\n"
	}
	return "  pubsub_url: " + pubsubURL + "\n"
}
