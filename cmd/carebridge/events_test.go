package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/config"
)

// The drain ends open event streams at once: a console left open does not
// hold a shutdown for its whole deadline.
func TestShutdownEndsEventStreams(t *testing.T) {
	_, addr, stop := serveInProcess(t, storeConfig(t, "data", ""))
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer sue-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line, _ := bufio.NewReader(res.Body).ReadString('\n')
	if res.StatusCode != 200 || !strings.HasPrefix(line, "retry:") {
		t.Fatalf("events: %d %q", res.StatusCode, line)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(shutdownGrace - 5*time.Second):
		t.Fatal("shutdown waits for an open event stream")
	}
	if _, err := io.ReadAll(res.Body); err != nil {
		t.Logf("stream ended with %v", err)
	}
}

// serveInProcess runs the daemon of cfgFile (loaded with environ) in this
// process until the test ends or stop is called (stop returns what run
// returned).
func serveInProcess(t *testing.T, cfgFile string, environ ...string) (d *daemon, addr string, stop func() error) {
	t.Helper()
	cfg, err := config.Load(cfgFile, environ)
	if err != nil {
		t.Fatal(err)
	}
	d, err = newDaemon(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- d.run(ctx, func(addr string) { addrc <- addr }) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { stop() })
	select {
	case addr = <-addrc:
	case err := <-done:
		done <- err // for stop
		t.Fatalf("daemon: %v", err)
	}
	return d, addr, stop
}
