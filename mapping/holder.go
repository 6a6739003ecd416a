package mapping

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// DefaultPollInterval is how often Run looks at the mapping file.
const DefaultPollInterval = time.Second

// HolderOptions configure a Holder.
type HolderOptions struct {
	Logger   *slog.Logger  // nil: discard
	Metrics  *Metrics      // nil: no metrics
	Interval time.Duration // how often Run polls; 0: DefaultPollInterval
}

// Holder holds the mapping in use and reloads it: on Reload (SIGHUP) and,
// in Run, when the file's content changes. The file is read through
// symlinks, so a Kubernetes ConfigMap update (an atomic swap of the ..data
// symlink) is seen like an edit. A new mapping is validated first and only
// swapped in when valid; an invalid one is logged, counted
// (carebridge_mapping_reloads_total{result="error"}), sets
// carebridge_mapping_valid to 0 until a good one arrives, and the last good
// mapping stays in use.
//
// With no file configured (path ""), Current is nil, so nothing is sent to
// Salesforce, and the mapping counts as valid (carebridge_mapping_valid 1,
// Ready true): there is nothing wrong to fix.
type Holder struct {
	path     string
	log      *slog.Logger
	metrics  *Metrics
	interval time.Duration

	loadMu sync.Mutex // one load at a time
	seen   string     // the file state last looked at: a content hash or a read error

	mu       sync.RWMutex
	cur      *Mapping
	report   *Report
	loadedAt time.Time
	lastErr  error
}

// NewHolder returns a Holder for the mapping file at path ("" for none).
// Nothing is read until Reload or Run.
func NewHolder(path string, opts HolderOptions) *Holder {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultPollInterval
	}
	return &Holder{path: path, log: opts.Logger, metrics: opts.Metrics, interval: opts.Interval}
}

// Path is the mapping file's path, "" when none is configured.
func (h *Holder) Path() string { return h.path }

// Current is the mapping in use: nil when no file is configured or none
// has loaded yet. It is instrumented with the Holder's metrics.
func (h *Holder) Current() *Mapping {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cur
}

// Report is the report of the last load attempt, good or rejected (nil
// before the first, and when the file could not be read).
func (h *Holder) Report() *Report {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.report
}

// Status describes the holder for GET /api/v1/mapping and readiness.
type Status struct {
	File     string    `json:"file"`
	Loaded   bool      `json:"loaded"`
	LoadedAt time.Time `json:"loaded_at,omitzero"`
	// Valid is false after a rejected load, until a good one.
	Valid     bool     `json:"valid"`
	LastError string   `json:"last_error,omitempty"`
	Report    *Report  `json:"report"`
	Mapping   *Mapping `json:"mapping"`
	Source    string   `json:"source,omitempty"`
}

// Status returns a snapshot of the holder.
func (h *Holder) Status() Status {
	h.mu.RLock()
	defer h.mu.RUnlock()
	st := Status{File: h.path, Loaded: h.cur != nil, LoadedAt: h.loadedAt, Valid: h.lastErr == nil, Report: h.report, Mapping: h.cur}
	if h.lastErr != nil {
		st.LastError = h.lastErr.Error()
	}
	if h.cur != nil {
		st.Source = string(h.cur.Source())
	}
	return st
}

// Ready reports whether the mapping is loaded (or none is configured).
func (h *Holder) Ready() bool {
	return h.path == "" || h.Current() != nil
}

// Reload reads and validates the file and swaps it in when valid. An
// invalid mapping returns a *ProblemsError and keeps the mapping in use.
func (h *Holder) Reload(ctx context.Context) error {
	if h.path == "" {
		return nil
	}
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	data, err := yamlsafe.ReadFile(h.path)
	return h.load(ctx, data, err)
}

// Run polls the file every interval and reloads it when its content
// changed, until ctx ends. It returns nil on cancellation.
func (h *Holder) Run(ctx context.Context) error {
	if h.path == "" {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		h.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll reloads when the file's content (or readability) changed since it
// was last looked at.
func (h *Holder) poll(ctx context.Context) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	data, err := yamlsafe.ReadFile(h.path)
	if state(data, err) == h.seen {
		return
	}
	_ = h.load(ctx, data, err) // logged and counted in load
}

func state(data []byte, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// load validates data (or reports readErr) and swaps it in; loadMu held.
func (h *Holder) load(ctx context.Context, data []byte, readErr error) error {
	h.seen = state(data, readErr)
	if readErr != nil {
		err := fmt.Errorf("read mapping: %w", readErr)
		h.reject(err, nil)
		return err
	}
	rep, m, err := Check(ctx, h.path, data, nil)
	if err != nil {
		h.reject(err, nil)
		return err
	}
	if m == nil {
		err := &ProblemsError{Problems: rep.Problems}
		h.reject(err, rep)
		return err
	}
	m = m.Instrument(h.metrics)
	h.mu.Lock()
	h.cur, h.report, h.loadedAt, h.lastErr = m, rep, time.Now(), nil
	h.mu.Unlock()
	h.metrics.loaded(true)
	h.log.Info("mapping loaded", slog.String("file", h.path), slog.String("sha256", h.seen[:12]))
	return nil
}

func (h *Holder) reject(err error, rep *Report) {
	h.mu.Lock()
	h.lastErr = err
	if rep != nil {
		h.report = rep
	}
	inUse := h.cur != nil
	h.mu.Unlock()
	h.metrics.loaded(false)
	attrs := []any{slog.String("file", h.path), slog.Bool("previous_in_use", inUse)}
	if rep != nil {
		attrs = append(attrs, slog.Any("problems", rep.Lines()))
	} else {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	h.log.Error("mapping rejected", attrs...)
}
