package mapping

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/testlog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const (
	goodV1 = "version: 1\ncase:\n  object: Case\n  fields:\n    Subject: customer.name\n"
	goodV2 = "version: 1\ncase:\n  object: Case\n  fields:\n    Subject: customer.username\n"
	badV3  = "version: 1\ncase:\n  object: Case\n  fields:\n    Subject: customer.nmae\n"
)

type holderEnv struct {
	h   *Holder
	mt  *Metrics
	log *testlog.Logs
}

func newHolderEnv(t *testing.T, path string) holderEnv {
	t.Helper()
	mt, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	buf := &testlog.Logs{}
	h := NewHolder(path, HolderOptions{Logger: slog.New(slog.NewJSONHandler(buf, nil)), Metrics: mt, Interval: 5 * time.Millisecond})
	return holderEnv{h: h, mt: mt, log: buf}
}

// holderWith writes content to a new mapping file and holds it (not yet
// loaded).
func holderWith(t *testing.T, content string) (holderEnv, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mapping.yaml")
	write(t, path, content)
	return newHolderEnv(t, path), path
}

func (e holderEnv) counts(t *testing.T) (ok, bad, valid float64) {
	t.Helper()
	return testutil.ToFloat64(e.mt.reloads.WithLabelValues("ok")), testutil.ToFloat64(e.mt.reloads.WithLabelValues("error")), testutil.ToFloat64(e.mt.valid)
}

func (e holderEnv) wantCounts(t *testing.T, ok, bad, valid float64) {
	t.Helper()
	gotOK, gotBad, gotValid := e.counts(t)
	if gotOK != ok || gotBad != bad || gotValid != valid {
		t.Errorf("reloads ok=%v error=%v valid=%v; want %v %v %v", gotOK, gotBad, gotValid, ok, bad, valid)
	}
}

func subject(t *testing.T, m *Mapping) string {
	t.Helper()
	if m == nil {
		t.Fatal("no mapping loaded")
	}
	f, _ := m.Case.Field("Subject")
	return f.Value.From.Name
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHolderNoFile(t *testing.T) {
	e := newHolderEnv(t, "")
	if err := e.h.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.h.Current() != nil || !e.h.Ready() || e.h.Report() != nil {
		t.Error("a holder without file must hold nothing and be ready")
	}
	e.wantCounts(t, 0, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.h.Run(ctx); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestHolderReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mapping.yaml")
	e := newHolderEnv(t, path)
	ctx := context.Background()

	// A missing file at start: nothing loaded, not ready, counted.
	if err := e.h.Reload(ctx); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Reload of a missing file = %v", err)
	}
	if e.h.Ready() {
		t.Error("ready without a mapping")
	}
	e.wantCounts(t, 0, 1, 0)

	write(t, path, goodV1)
	if err := e.h.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	first := e.h.Current()
	if subject(t, first) != "customer.name" || !e.h.Ready() || !e.h.Report().OK() {
		t.Fatal("good mapping not loaded")
	}
	e.wantCounts(t, 1, 1, 1)

	write(t, path, badV3)
	err := e.h.Reload(ctx)
	var pe *ProblemsError
	if !errors.As(err, &pe) || !strings.Contains(pe.Problems[0].String(), "mapping.yaml:5:14: case.Subject: unknown source path") {
		t.Fatalf("Reload of a bad mapping = %v", err)
	}
	if e.h.Current() != first {
		t.Error("a rejected mapping replaced the good one")
	}
	st := e.h.Status()
	if st.Valid || !st.Loaded || st.LastError == "" || st.Report.OK() || st.Source != goodV1 {
		t.Errorf("status after rejection: %+v", st)
	}
	if !strings.Contains(e.log.String(), `"msg":"mapping rejected"`) || !strings.Contains(e.log.String(), "customer.nmae") {
		t.Errorf("rejection not logged with its problems: %s", e.log.String())
	}
	e.wantCounts(t, 1, 2, 0)

	write(t, path, goodV2)
	if err := e.h.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if subject(t, e.h.Current()) != "customer.username" || !e.h.Status().Valid {
		t.Error("the fixed mapping did not load")
	}
	e.wantCounts(t, 2, 2, 1)
}

func TestHolderPoll(t *testing.T) {
	e, path := holderWith(t, goodV1)
	ctx := context.Background()

	e.h.poll(ctx)
	e.wantCounts(t, 1, 0, 1)
	e.h.poll(ctx) // unchanged: no reload
	e.wantCounts(t, 1, 0, 1)

	write(t, path, badV3)
	e.h.poll(ctx)
	e.h.poll(ctx) // the same bad content counts once
	e.wantCounts(t, 1, 1, 0)
	if subject(t, e.h.Current()) != "customer.name" {
		t.Error("old mapping not kept")
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	e.h.poll(ctx)
	e.h.poll(ctx)
	e.wantCounts(t, 1, 2, 0)

	write(t, path, goodV2)
	e.h.poll(ctx)
	e.wantCounts(t, 2, 2, 1)
	if subject(t, e.h.Current()) != "customer.username" {
		t.Error("new mapping not loaded")
	}
}

// TestHolderConfigMapSwap reproduces how the kubelet updates a mounted
// ConfigMap: the file is a symlink into ..data, itself a symlink to a
// timestamped directory, and an update atomically renames a new ..data
// symlink over the old one.
func TestHolderConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := 0
	publish := func(content string) {
		t.Helper()
		version++
		ts := filepath.Join(dir, "..2025_07_31_12_00_0"+string(rune('0'+version)))
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(ts, "mapping.yaml"), content)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish(goodV1)
	path := filepath.Join(dir, "mapping.yaml")
	if err := os.Symlink(filepath.Join("..data", "mapping.yaml"), path); err != nil {
		t.Fatal(err)
	}
	e := newHolderEnv(t, path)
	ctx := context.Background()
	e.h.poll(ctx)
	if subject(t, e.h.Current()) != "customer.name" {
		t.Fatal("initial mapping not loaded")
	}

	publish(goodV2)
	e.h.poll(ctx)
	if subject(t, e.h.Current()) != "customer.username" {
		t.Error("symlink swap not seen")
	}
	publish(badV3)
	e.h.poll(ctx)
	if subject(t, e.h.Current()) != "customer.username" || e.h.Status().Valid {
		t.Error("a bad swapped-in mapping was not rejected")
	}
	e.wantCounts(t, 2, 1, 0)
}

// TestHolderRun lets Run notice an edit on its own.
func TestHolderRun(t *testing.T) {
	e, path := holderWith(t, goodV1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.h.Run(ctx) }()

	waitFor(t, func() bool { return e.h.Current() != nil })
	write(t, path, goodV2)
	waitFor(t, func() bool {
		m := e.h.Current()
		f, _ := m.Case.Field("Subject")
		return f.Value.From.Name == "customer.username"
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// waitFor polls cond until it holds; it fails after a generous deadline
// (no timing is asserted).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition never held")
		case <-tick.C:
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	mt, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering twice must fail, not panic")
	}
	// Fixed series exist at 0 from the start.
	if n := testutil.CollectAndCount(mt.reloads); n != 2 {
		t.Errorf("%d reload series, want 2", n)
	}
	m := mustParse(t, "s.yaml", shortMapping).Instrument(mt)
	if n := testutil.CollectAndCount(mt.truncations); n != 8 {
		t.Errorf("%d truncation series after Instrument, want one per mapped field (8)", n)
	}
	if _, err := m.Preview(ObjectCase, sampleInput(), shortInfo()); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(mt.truncations.WithLabelValues("Ticket__c", "Subject__c")); v != 0 {
		t.Errorf("Preview counted %v truncations", v)
	}
	for range 2 {
		if _, err := m.Render(ObjectCase, sampleInput(), shortInfo()); err != nil {
			t.Fatal(err)
		}
	}
	for field, want := range map[string]float64{"Subject__c": 2, "Digest__c": 2, "Emoji__c": 2} {
		if v := testutil.ToFloat64(mt.truncations.WithLabelValues("Ticket__c", field)); v != want {
			t.Errorf("%s: %v truncations, want %v", field, v, want)
		}
	}
	// An override's spelling of a field name is not a label of its own:
	// the cut is counted under describe's name.
	in := sampleInput()
	in.Overrides = map[string]any{"sUBJECT__C": strings.Repeat("long ", 10)}
	r, err := m.Render(ObjectCase, in, shortInfo())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Fields["Subject__c"]; !ok || len(r.Fields) != 8 {
		t.Errorf("override not stored under describe's name: %v", r.Fields)
	}
	if v := testutil.ToFloat64(mt.truncations.WithLabelValues("Ticket__c", "Subject__c")); v != 3 {
		t.Errorf("Subject__c: %v truncations, want 3", v)
	}
	if n := testutil.CollectAndCount(mt.truncations); n != 8 {
		t.Errorf("%d truncation series, want 8 (no series for the override's spelling)", n)
	}
	// Rendering without a describe cuts nothing and counts nothing more.
	if _, err := m.Render(ObjectCase, sampleInput(), nil); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(mt.truncations.WithLabelValues("Ticket__c", "Subject__c")); v != 3 {
		t.Errorf("Subject__c: %v truncations, want 3", v)
	}
}
