package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/carebridge/carebridge/config"
)

// healthcheckCmd is `carebridge healthcheck [--url URL | --config FILE]
// [--ready]`: GET /healthz (or /readyz) of a running daemon, exit 0 when it
// answers 200, else 1 with the reason. It is the probe of images that have
// no shell or curl.
func healthcheckCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("healthcheck", stderr)
	base := fs.String("url", "", "the daemon's base `URL` (default: http:// + the config's listen, with 127.0.0.1 for an any-address host)")
	cfgPath := fs.String("config", "", "config `FILE` whose listen address to ask (default: built-in defaults and CAREBRIDGE_LISTEN)")
	ready := fs.Bool("ready", false, "ask /readyz (store open, mapping loaded) instead of /healthz")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this `DURATION`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("healthcheck takes no arguments")
	}
	if *base != "" && *cfgPath != "" {
		return usageErr("healthcheck takes --url or --config, not both")
	}
	if *base == "" {
		cfg, err := config.Load(*cfgPath, environ)
		if err != nil {
			return err
		}
		*base = listenURL(cfg.Listen)
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErr("--url must be an http(s) URL, got %q", *base)
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	target := strings.TrimRight(u.String(), "/") + path
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: *timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", target, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: %s: %s", target, res.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: OK\n", target)
	return nil
}

// listenURL is the URL to reach a daemon listening on addr from the same
// host: an any-address or empty host is asked on 127.0.0.1.
func listenURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
