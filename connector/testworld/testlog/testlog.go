// Package testlog is the log sink of the test worlds: the JSON lines of
// many goroutines, read back by the test. It imports no carebridge
// package, so the tests of any package (connector/salesforce's too) can
// use it; connector/sfsim/simtest and connector/testworld hand it out.
// Import it from _test.go files only.
package testlog

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// Logs collects the log lines of a test from many goroutines.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// WriteString writes s (Logs is an io.StringWriter).
func (l *Logs) WriteString(s string) (int, error) { return l.Write([]byte(s)) }

// Bytes is a copy of what was logged so far.
func (l *Logs) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// String is what was logged so far.
func (l *Logs) String() string { return string(l.Bytes()) }

// Logger is a debug-level JSON logger writing to l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// DumpOnFailure prints what was logged at the end of tb when it failed.
func (l *Logs) DumpOnFailure(tb testing.TB) {
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("logs:\n%s", l.String())
		}
	})
}
