package main

import (
	"context"
	"errors"
	"io"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/mapping"
)

// onlineDescriber connects to the configured org with the daemon's stored
// default token, for `mapping check --online`.
func onlineDescriber(ctx context.Context, cfg *config.Config, stderr io.Writer) (mapping.Describer, func(), error) {
	return nil, nil, errors.New("not available yet: the Salesforce token pool is not wired in")
}
