package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrRunTwice is (wrapped) Run's answer when it was called before.
var ErrRunTwice = errors.New("Run called twice")

// Lifecycle is the Run/Drain contract of an outbox worker (GUIDE
// "Lifecycle"): Run dispatches until its context ends, then starts nothing
// new and waits for the deliveries in flight up to a deadline, cancelling
// them past it; Drain waits for Run to return, cancelling the deliveries
// when its own context ends first. A cancelled delivery leaves its entry
// in the outbox, so it is made again after the restart. Set its fields
// before Run; it must not be copied after first use.
type Lifecycle struct {
	// Name starts Run's error and log lines ("outbox", "publish").
	Name string
	// Timeout bounds the wait for the deliveries in flight once Run's
	// context ended (not positive: DefaultDrainTimeout).
	Timeout time.Duration
	// Log takes the warning of a drain cut short (nil: none).
	Log *slog.Logger

	started  atomic.Bool
	doneOnce sync.Once
	done     chan struct{}
	mu       sync.Mutex
	abort    context.CancelFunc
}

func (l *Lifecycle) doneCh() chan struct{} {
	l.doneOnce.Do(func() { l.done = make(chan struct{}) })
	return l.done
}

// Run calls dispatch, which starts deliveries on work (a context that
// outlives ctx) counted in wg until ctx ends, and then waits for them up
// to Timeout. Past it, work is cancelled (with a warning on Log) and Run
// waits for the rest. It returns nil once every delivery has stopped. Run
// may be called once; a second call returns ErrRunTwice.
func (l *Lifecycle) Run(ctx context.Context, dispatch func(ctx, work context.Context, wg *sync.WaitGroup)) error {
	if !l.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: %w", l.Name, ErrRunTwice)
	}
	defer close(l.doneCh())
	work, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	l.mu.Lock()
	l.abort = abort
	l.mu.Unlock()

	var wg sync.WaitGroup
	dispatch(ctx, work, &wg)

	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultDrainTimeout
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		if l.Log != nil {
			l.Log.Warn(l.Name + ": drain timeout; cancelling deliveries in flight (they are made again later)")
		}
		abort()
		<-drained
	}
	return nil
}

// Drain waits for Run to return after its context ended. When ctx ends
// first, the deliveries still in flight are cancelled and Drain returns
// ctx's error once Run has returned. It returns nil at once when Run was
// never started.
func (l *Lifecycle) Drain(ctx context.Context) error {
	if !l.started.Load() {
		return nil
	}
	done := l.doneCh()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	if l.abort != nil {
		l.abort()
	}
	l.mu.Unlock()
	<-done
	return ctx.Err()
}

// Sleep is a worker's idle wait: d, or until ctx ends, signal fires (the
// store recorded or requeued an entry) or wake fires (a delivery
// finished). A nil channel never fires.
func Sleep(ctx context.Context, d time.Duration, signal, wake <-chan struct{}) {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-signal:
	case <-wake:
	case <-t.C:
	}
}
