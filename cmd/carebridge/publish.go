package main

import (
	"context"
	"log/slog"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/publish"
	"github.com/carebridge/carebridge/config"
	"github.com/prometheus/client_golang/prometheus"
)

// newPublisher builds the publisher of replies (SPEC §16) when
// publishing.webhook_url is set; nil otherwise.
func newPublisher(cfg *config.Config, store *bolt.Store, reg prometheus.Registerer, logger *slog.Logger) (*publish.Publisher, error) {
	if !cfg.Publishing.Enabled() {
		return nil, nil
	}
	secret, err := cfg.PublishingSecret()
	if err != nil {
		return nil, err
	}
	return publish.New(publish.Options{Store: store, URL: cfg.Publishing.WebhookURL, Secret: []byte(secret.Reveal()),
		Registerer: reg, Logger: logger})
}

// runPublisher starts the publisher, if any, until ctx ends.
func (d *daemon) runPublisher(ctx context.Context) {
	if d.publisher != nil {
		go d.publisher.Run(ctx)
	}
}

// drainPublisher waits for the replies in flight up to ctx's deadline;
// those cut short stay in the publish outbox for the next start.
func (d *daemon) drainPublisher(ctx context.Context) {
	if d.publisher == nil {
		return
	}
	if err := d.publisher.Drain(ctx); err != nil {
		d.log.Warn("replies still in flight at the deadline stay in the publish outbox", "err", err)
	}
}
