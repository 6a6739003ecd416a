package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
	"github.com/prometheus/client_golang/prometheus"
)

// onlineDescriber connects to the configured org with the daemon's stored
// tokens (the default, else any healthy one), for `mapping check --online`.
// It opens the data directory, so the daemon must not be running on it.
func onlineDescriber(ctx context.Context, cfg *config.Config, stderr io.Writer) (mapping.Describer, func(), error) {
	store, err := bolt.Open(cfg.DataDir, bolt.Options{Policy: care.Policy{Grace: cfg.Care.GracePeriod}})
	if err != nil {
		return nil, nil, fmt.Errorf("%w (stop the daemon, or validate online from the console)", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	key, err := tokens.LoadKey(cfg.SecretKeyEnv().Reveal(), cfg.SecretKeyPath(), logger)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	pool, err := openPool(cfg, key, store, prometheus.NewRegistry(), outbox.NewBudget(outbox.BudgetOptions{}), logger)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	conn, err := pool.Background(ctx)
	if err != nil {
		store.Close()
		if errors.Is(err, tokens.ErrNoHealthyToken) {
			return nil, nil, errors.New("no healthy Salesforce token in " + cfg.DataDir + ": connect Salesforce first")
		}
		return nil, nil, err
	}
	return connector.Describer{Client: conn.Client}, func() { store.Close() }, nil
}
