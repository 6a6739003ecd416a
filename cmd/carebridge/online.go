package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

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
// tokens, for `mapping check --online`: as the connected user whose
// Salesforce username is as (describe then says what that user may
// create), else with the default token, else any healthy one. It opens the
// data directory, so the daemon must not be running on it.
func onlineDescriber(ctx context.Context, cfg *config.Config, as string, stderr io.Writer) (mapping.Describer, func(), error) {
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
	var conn *tokens.Conn
	if as != "" {
		conn, err = userConn(ctx, pool, as)
	} else {
		conn, err = pool.Background(ctx)
	}
	if err != nil {
		store.Close()
		if errors.Is(err, tokens.ErrNoHealthyToken) {
			return nil, nil, errors.New("no healthy Salesforce token in " + cfg.DataDir + ": connect Salesforce first")
		}
		return nil, nil, err
	}
	return connector.Describer{Client: conn.Client}, func() { store.Close() }, nil
}

// userConn is the personal token of the Salesforce user named username.
func userConn(ctx context.Context, pool *tokens.Pool, username string) (*tokens.Conn, error) {
	var known []string
	for _, info := range pool.Status().Users {
		if !strings.EqualFold(info.SFUsername, username) {
			known = append(known, info.SFUsername)
			continue
		}
		conn, err := pool.ForUser(ctx, info.UserID)
		if err != nil || conn.Info.Kind != tokens.KindUser || conn.Info.UserID != info.UserID {
			return nil, fmt.Errorf("--as %s: that user's token is not healthy: they must connect again", username)
		}
		return conn, nil
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("--as %s: no user has connected a personal Salesforce token", username)
	}
	return nil, fmt.Errorf("--as %s: no personal token of that Salesforce user (connected: %s)", username, strings.Join(known, ", "))
}
