package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
)

// Budget defaults (SPEC §2 salesforce.background_budget).
const (
	DefaultBackgroundBudget = 0.9
	DefaultBudgetCheck      = time.Minute
)

// Budget keeps background work (message pushes, status updates, polling)
// within a share of the org's daily API allocation, read from the
// Sforce-Limit-Info header of every answer. Once the usage passes the
// share, or Salesforce answers REQUEST_LIMIT_EXCEEDED, background work
// waits: every check interval one caller goes ahead as a probe, and its
// answer tells whether the usage is back under the share. Agent actions do
// not go through the Budget and carry on.
//
// One Budget is shared by the Deliverer and the Poller. It is safe for
// concurrent use.
type Budget struct {
	share float64
	every time.Duration
	now   func() time.Time

	mu          sync.Mutex
	info        salesforce.LimitInfo
	pausedUntil time.Time // zero: not paused
	exceeded    bool      // the pause came from REQUEST_LIMIT_EXCEEDED
	changed     chan struct{}
}

// BudgetOptions configure a Budget.
type BudgetOptions struct {
	// Share of the daily allocation background work may use (default
	// 0.9). Values outside (0, 1] take the default.
	Share float64
	// CheckEvery is how often a paused budget lets one call through to
	// learn the usage again (default 1m).
	CheckEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewBudget returns a Budget.
func NewBudget(opts BudgetOptions) *Budget {
	if opts.Share <= 0 || opts.Share > 1 {
		opts.Share = DefaultBackgroundBudget
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = DefaultBudgetCheck
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Budget{share: opts.Share, every: opts.CheckEvery, now: opts.Now, changed: make(chan struct{})}
}

// notifyLocked wakes the waiters; b.mu held.
func (b *Budget) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// Wait blocks while background work is paused, until ctx ends. When a
// pause runs out, one caller returns with probe true and the pause is
// extended by a check interval for the others: the probe should make one
// call and report its usage with Observe, which ends the pause when the
// usage is back under the share.
func (b *Budget) Wait(ctx context.Context) (probe bool, err error) {
	for {
		b.mu.Lock()
		if b.pausedUntil.IsZero() {
			b.mu.Unlock()
			return false, ctx.Err()
		}
		now := b.now()
		if !now.Before(b.pausedUntil) {
			b.pausedUntil = now.Add(b.every)
			b.mu.Unlock()
			return true, ctx.Err()
		}
		d, ch := b.pausedUntil.Sub(now), b.changed
		b.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-ch:
			t.Stop()
		case <-t.C:
		}
	}
}

// Observe records the API usage an answer reported (ok false: none). Past
// the share it pauses background work for a check interval; under it, it
// ends a pause.
func (b *Budget) Observe(l salesforce.LimitInfo, ok bool) {
	if !ok || l.Max <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.info = l
	if l.Fraction() > b.share || l.Used >= l.Max {
		if b.pausedUntil.IsZero() {
			b.pausedUntil = b.now().Add(b.every)
			b.notifyLocked()
		}
		return
	}
	if !b.pausedUntil.IsZero() {
		b.pausedUntil, b.exceeded = time.Time{}, false
		b.notifyLocked()
	}
}

// ObserveClient records the usage of c's latest answer.
func (b *Budget) ObserveClient(c *salesforce.Client) {
	if c != nil {
		b.Observe(c.LastLimitInfo())
	}
}

// LimitExceeded pauses background work for a check interval: Salesforce
// answered REQUEST_LIMIT_EXCEEDED for the daily quota.
func (b *Budget) LimitExceeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	until := b.now().Add(b.every)
	if b.pausedUntil.Before(until) {
		b.pausedUntil = until
	}
	b.exceeded = true
	b.notifyLocked()
}

// BudgetState is a snapshot of a Budget.
type BudgetState struct {
	Share float64
	// Usage is the last usage observed (zero before the first).
	Usage salesforce.LimitInfo
	// Paused is true while background work waits; Exceeded when the pause
	// came from a REQUEST_LIMIT_EXCEEDED answer.
	Paused   bool
	Exceeded bool
}

// State returns a snapshot.
func (b *Budget) State() BudgetState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BudgetState{Share: b.share, Usage: b.info, Paused: !b.pausedUntil.IsZero(), Exceeded: b.exceeded}
}

// Observer returns a salesforce.Observer for the clients' Options.Metrics
// (the token pool's client options): every answer, agent calls included,
// then keeps the budget current, and everything is passed on to next
// (the request metrics; may be nil).
func (b *Budget) Observer(next salesforce.Observer) salesforce.Observer {
	return budgetObserver{b: b, next: next}
}

type budgetObserver struct {
	b    *Budget
	next salesforce.Observer
}

func (o budgetObserver) ObserveRequest(op salesforce.Operation, code int, d time.Duration) {
	if o.next != nil {
		o.next.ObserveRequest(op, code, d)
	}
}

func (o budgetObserver) ObserveLimit(l salesforce.LimitInfo) {
	o.b.Observe(l, true)
	if o.next != nil {
		o.next.ObserveLimit(l)
	}
}
