package delivery

import (
	"context"
	"errors"
	"fmt"
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

// startOne runs l with a dispatcher that starts one delivery, which ends
// when finish is closed or its context is cancelled, and reports how it
// ended on ended. It returns once the delivery is in flight; Run's answer
// comes on ran.
func startOne(t *testing.T, l *Lifecycle, timeout time.Duration, finish <-chan struct{}) (cancel context.CancelFunc, ended <-chan error, ran <-chan runResult) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	inFlight := make(chan struct{})
	end := make(chan error, 1)
	out := make(chan runResult, 1)
	go func() {
		timedOut, err := l.Run(ctx, timeout, func(ctx, work context.Context, wg *sync.WaitGroup) {
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
		out <- runResult{timedOut, err}
	}()
	<-inFlight
	return cancel, end, out
}

type runResult struct {
	timedOut bool
	err      error
}

func TestLifecycleRunFinishesInFlight(t *testing.T) {
	var l Lifecycle
	finish := make(chan struct{})
	cancel, ended, ran := startOne(t, &l, time.Hour, finish)
	cancel()
	close(finish)
	if err := <-ended; err != nil {
		t.Fatalf("the delivery in flight was cancelled: %v", err)
	}
	if r := <-ran; r.timedOut || r.err != nil {
		t.Fatalf("Run: %+v", r)
	}
	if err := l.Drain(context.Background()); err != nil {
		t.Fatalf("Drain after Run returned: %v", err)
	}
	if _, err := l.Run(context.Background(), time.Hour, func(context.Context, context.Context, *sync.WaitGroup) {
		t.Error("a second Run dispatched")
	}); !errors.Is(err, ErrRunTwice) {
		t.Fatalf("second Run: %v, want ErrRunTwice", err)
	}
}

func TestLifecycleRunTimeoutCancels(t *testing.T) {
	var l Lifecycle
	cancel, ended, ran := startOne(t, &l, time.Millisecond, nil)
	cancel()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the delivery ended with %v, want it cancelled", err)
	}
	if r := <-ran; !r.timedOut || r.err != nil {
		t.Fatalf("Run: %+v, want timed out", r)
	}
}

func TestLifecycleDrain(t *testing.T) {
	var never Lifecycle
	if err := never.Drain(context.Background()); err != nil {
		t.Fatalf("Drain without Run: %v", err)
	}

	var l Lifecycle
	cancel, ended, ran := startOne(t, &l, time.Hour, nil)
	cancel()
	dctx, dcancel := context.WithCancel(context.Background())
	dcancel()
	if err := l.Drain(dctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain: %v, want its context's error", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the delivery ended with %v, want it cancelled by Drain", err)
	}
	if r := <-ran; r.err != nil {
		t.Fatalf("Run: %+v", r)
	}
}
