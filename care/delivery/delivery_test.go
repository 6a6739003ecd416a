package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base, ceiling := time.Second, time.Minute
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{
		{0, time.Second},
		{1, 2 * time.Second},
		{3, 8 * time.Second},
		{5, 32 * time.Second},
		{6, time.Minute},
		{100, time.Minute},
		{1 << 30, time.Minute},
	} {
		t.Run(fmt.Sprint(tc.attempts), func(t *testing.T) {
			lo, hi := tc.want*8/10, tc.want*12/10
			spread := false
			first := Backoff(tc.attempts, base, ceiling)
			for range 50 {
				d := Backoff(tc.attempts, base, ceiling)
				if d < lo || d > hi {
					t.Fatalf("delay %s outside [%s, %s]", d, lo, hi)
				}
				spread = spread || d != first
			}
			if !spread {
				t.Fatalf("no jitter: always %s", first)
			}
		})
	}
}

func TestNewRetry(t *testing.T) {
	for _, tc := range []struct {
		base, ceiling time.Duration
		want          Retry
	}{
		{0, 0, Retry{DefaultBaseBackoff, DefaultMaxBackoff}},
		{-time.Second, -time.Second, Retry{DefaultBaseBackoff, DefaultMaxBackoff}},
		{time.Minute, 0, Retry{time.Minute, DefaultMaxBackoff}},
		{time.Hour, time.Minute, Retry{time.Hour, time.Hour}}, // Max at least Base
		{time.Second, time.Minute, Retry{time.Second, time.Minute}},
	} {
		if got := NewRetry(tc.base, tc.ceiling); got != tc.want {
			t.Errorf("NewRetry(%s, %s) = %+v, want %+v", tc.base, tc.ceiling, got, tc.want)
		}
	}
	r := Retry{Base: time.Hour, Max: time.Hour}
	if w := r.Wait(5); w < 48*time.Minute || w > 72*time.Minute {
		t.Errorf("Wait past the cap: %s, want about an hour", w)
	}
}

// newLifecycle is a Lifecycle with timeout whose log lines land in log.
func newLifecycle(timeout time.Duration, log *bytes.Buffer) *Lifecycle {
	return &Lifecycle{Name: "test", Timeout: timeout, Log: slog.New(slog.NewTextHandler(log, nil))}
}

// startOne runs l with a dispatcher that starts one delivery, which ends
// when finish is closed or its context is cancelled, and reports how it
// ended on ended. It returns once the delivery is in flight; Run's answer
// comes on ran.
func startOne(t *testing.T, l *Lifecycle, finish <-chan struct{}) (cancel context.CancelFunc, ended, ran <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	inFlight := make(chan struct{})
	end := make(chan error, 1)
	out := make(chan error, 1)
	go func() {
		out <- l.Run(ctx, func(ctx, work context.Context, wg *sync.WaitGroup) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				close(inFlight)
				select {
				case <-finish:
					end <- nil
				case <-work.Done():
					end <- work.Err()
				}
			}()
			<-ctx.Done()
		})
	}()
	<-inFlight
	return cancel, end, out
}

func TestLifecycleRunFinishesInFlight(t *testing.T) {
	var log bytes.Buffer
	l := newLifecycle(time.Hour, &log)
	finish := make(chan struct{})
	cancel, ended, ran := startOne(t, l, finish)
	cancel()
	close(finish)
	if err := <-ended; err != nil {
		t.Fatalf("the delivery in flight was cancelled: %v", err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := l.Drain(context.Background()); err != nil {
		t.Fatalf("Drain after Run returned: %v", err)
	}
	err := l.Run(context.Background(), func(context.Context, context.Context, *sync.WaitGroup) {
		t.Error("a second Run dispatched")
	})
	if !errors.Is(err, ErrRunTwice) || !strings.HasPrefix(err.Error(), "test: ") {
		t.Fatalf("second Run: %v, want test: ErrRunTwice", err)
	}
	if log.Len() != 0 {
		t.Errorf("logged %q", log.String())
	}
}

func TestLifecycleRunTimeoutCancels(t *testing.T) {
	var log bytes.Buffer
	l := newLifecycle(time.Millisecond, &log)
	cancel, ended, ran := startOne(t, l, nil)
	cancel()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the delivery ended with %v, want it cancelled", err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(log.String(), "test: drain timeout") {
		t.Errorf("no warning logged: %q", log.String())
	}
}

func TestLifecycleDrain(t *testing.T) {
	var never Lifecycle
	if err := never.Drain(context.Background()); err != nil {
		t.Fatalf("Drain without Run: %v", err)
	}

	var log bytes.Buffer
	l := newLifecycle(time.Hour, &log)
	cancel, ended, ran := startOne(t, l, nil)
	cancel()
	dctx, dcancel := context.WithCancel(context.Background())
	dcancel()
	if err := l.Drain(dctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain: %v, want its context's error", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the delivery ended with %v, want it cancelled by Drain", err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestSleepWakes(t *testing.T) {
	fired := func() chan struct{} { c := make(chan struct{}, 1); c <- struct{}{}; return c }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name         string
		ctx          context.Context
		d            time.Duration
		signal, wake chan struct{}
	}{
		{"signal", context.Background(), time.Hour, fired(), nil},
		{"wake", context.Background(), time.Hour, nil, fired()},
		{"context", cancelled, time.Hour, nil, nil},
		{"due already", context.Background(), -time.Second, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			go func() { Sleep(tc.ctx, tc.d, tc.signal, tc.wake); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("Sleep did not return")
			}
		})
	}
}
