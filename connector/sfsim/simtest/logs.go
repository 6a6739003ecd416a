package simtest

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// Logs collects the JSON log lines of a test world from many goroutines.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

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
