package outbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/care/delivery"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/mapping"
)

// Deliverer defaults.
const (
	DefaultWorkers = 4
	DefaultLinger  = 250 * time.Millisecond
	// BackfillMessages is how many of a case's latest messages a backfill
	// pushes (SPEC §6).
	BackfillMessages = 100
)

// Auth parking: after WaitHealthy returns, wait this much (doubling while
// deliveries keep being refused for their token) before trying again.
const (
	parkBase = 500 * time.Millisecond
	parkMax  = time.Minute
)

// DescribeFunc describes a Salesforce object for the mapping, through c
// (whose describe cache it should use).
type DescribeFunc func(ctx context.Context, c *salesforce.Client, object string) (*mapping.ObjectInfo, error)

// DelivererOptions configure a Deliverer.
type DelivererOptions struct {
	// Store holds the outbox (required).
	Store Store
	// Tokens hands out background connections (required).
	Tokens Tokens
	// Mapping returns the mapping in use (required; e.g. holder.Current).
	// While it returns nil nothing is delivered.
	Mapping func() *mapping.Mapping
	// Escalator creates the Salesforce case of automatic escalations; nil
	// fails escalate entries with an explanation.
	Escalator Escalator
	// Budget throttles background work; share one with the Poller. Nil: a
	// private Budget with the defaults.
	Budget *Budget
	// Metrics records pushes and status syncs; share one with the Poller.
	// Nil records nothing.
	Metrics *Metrics
	// Describe describes the message object for rendering; nil uses
	// connector.Describer (cached by the client).
	Describe DescribeFunc
	// Logger; nil discards.
	Logger *slog.Logger

	// Workers is how many deliveries run at once, each for different cases
	// (default 4).
	Workers int
	// BatchSize is the most records per sObject Collections call (default
	// and maximum 200).
	BatchSize int
	// Linger is how long a small batch (under three quarters of BatchSize)
	// waits for company before it goes (default 250ms). A small batch also
	// waits while another small batch of its kind is in flight.
	Linger time.Duration
	// BaseBackoff and MaxBackoff shape the retry schedule of an entry:
	// exponential from BaseBackoff (default 1s) with ±20% jitter, capped
	// at MaxBackoff (default 10m).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// DrainTimeout bounds how long Run waits for deliveries in flight
	// after its context ends (default 10s); Drain can cut it short.
	DrainTimeout time.Duration
	// IdleCheck is the longest the deliverer sleeps without looking at the
	// outbox when nothing wakes it (default 5s).
	IdleCheck time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Deliverer delivers the outbox to Salesforce. Build it with NewDeliverer
// and run it with Run; all methods are safe for concurrent use.
type Deliverer struct {
	store     Store
	tokens    Tokens
	mapping   func() *mapping.Mapping
	escalator Escalator
	budget    *Budget
	metrics   *Metrics
	describe  DescribeFunc
	log       *slog.Logger
	workers   int
	batch     int
	full      int // records that make a batch worth sending at once
	scan      int // entries read from the outbox per round
	linger    time.Duration
	retry     delivery.Retry
	idleCheck time.Duration
	now       func() time.Time

	mu       sync.Mutex
	busy     map[int64]bool // cases in delivery (or claimed by the poller)
	released chan struct{}  // closed and replaced whenever a case is released
	epoch    uint64         // bumped when a claim from outside the dispatcher ends
	inflight int
	partial  [numUnitKinds]bool // a small batch of that kind is in flight

	wake   chan struct{} // a delivery finished or a claim ended
	parked atomic.Bool   // a delivery found no usable token
	parks  atomic.Int64  // parking episodes since the last answered delivery

	run delivery.Lifecycle
}

// NewDeliverer checks opts and returns a Deliverer.
func NewDeliverer(opts DelivererOptions) (*Deliverer, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("outbox: Store is required")
	case opts.Tokens == nil:
		return nil, errors.New("outbox: Tokens is required")
	case opts.Mapping == nil:
		return nil, errors.New("outbox: Mapping is required")
	}
	d := &Deliverer{
		store: opts.Store, tokens: opts.Tokens, mapping: opts.Mapping, escalator: opts.Escalator,
		budget: opts.Budget, metrics: opts.Metrics, describe: opts.Describe, log: opts.Logger,
		workers: opts.Workers, batch: opts.BatchSize, linger: opts.Linger, idleCheck: opts.IdleCheck, now: opts.Now,
		retry: delivery.NewRetry(opts.BaseBackoff, opts.MaxBackoff), run: delivery.Lifecycle{Name: "outbox", Timeout: opts.DrainTimeout},
		busy: map[int64]bool{}, released: make(chan struct{}), wake: make(chan struct{}, 1),
	}
	if d.budget == nil {
		d.budget = NewBudget(BudgetOptions{})
	}
	if d.describe == nil {
		d.describe = func(ctx context.Context, c *salesforce.Client, object string) (*mapping.ObjectInfo, error) {
			return connector.Describer{Client: c}.Describe(ctx, object)
		}
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d.run.Log = d.log
	if d.workers <= 0 {
		d.workers = DefaultWorkers
	}
	if d.batch <= 0 || d.batch > salesforce.MaxCollectionRecords {
		d.batch = salesforce.MaxCollectionRecords
	}
	d.batch = max(d.batch, BackfillMessages) // a backfill goes in one call
	d.full = d.batch * 3 / 4
	d.scan = max(d.batch*d.workers*4, 1000)
	if d.linger < 0 {
		d.linger = 0
	} else if d.linger == 0 {
		d.linger = DefaultLinger
	}
	if d.idleCheck <= 0 {
		d.idleCheck = delivery.DefaultIdleCheck
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// Run delivers the outbox until ctx ends. Then it starts nothing new and
// waits for the deliveries in flight: they run on their own context and
// record Salesforce's answer, until DrainTimeout passes or Drain's context
// ends, when they are cancelled. An entry leaves the outbox only after
// Salesforce answered, so a cancelled delivery is simply made again after
// the restart (upserts by external id make that safe). Run returns nil
// once every goroutine it started has stopped; it may be called once.
func (d *Deliverer) Run(ctx context.Context) error {
	return d.run.Run(ctx, d.loop)
}

// Drain waits for Run to return after its context was cancelled. When ctx
// ends first, the deliveries still in flight are cancelled (their entries
// stay in the outbox) and Drain returns ctx's error once Run has returned.
// Drain returns nil at once when Run was never started.
func (d *Deliverer) Drain(ctx context.Context) error { return d.run.Drain(ctx) }

// loop is the dispatcher: it plans rounds of deliveries and starts them on
// worker goroutines until ctx ends.
func (d *Deliverer) loop(ctx, work context.Context, wg *sync.WaitGroup) {
	for ctx.Err() == nil {
		if d.parked.Load() {
			d.log.Info("outbox: no usable Salesforce token; deliveries wait for a healthy one")
			if d.tokens.WaitHealthy(ctx) != nil {
				return
			}
			if sleepCtx(ctx, delivery.Backoff(int(d.parks.Load())-1, parkBase, parkMax)) != nil {
				return
			}
			d.parked.Store(false)
			continue
		}
		probe, err := d.budget.Wait(ctx)
		if err != nil {
			return
		}
		m := d.mapping()
		if m == nil {
			d.idle(ctx, time.Time{})
			continue
		}
		units, wakeAt, err := d.plan(ctx, m, probe)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Error("outbox: reading the outbox", "err", err)
			if sleepCtx(ctx, d.idleCheck) != nil {
				return
			}
			continue
		}
		if len(units) == 0 {
			d.idle(ctx, wakeAt)
			continue
		}
		for _, u := range units {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer d.finish(u)
				d.deliver(work, u)
			}()
		}
	}
}

// idle waits until something may have become deliverable: new entries, a
// delivery finishing, a claim ending, the next retry time, wakeAt, or the
// idle check.
func (d *Deliverer) idle(ctx context.Context, wakeAt time.Time) {
	now := d.now()
	next := now.Add(d.idleCheck)
	if !wakeAt.IsZero() && wakeAt.Before(next) {
		next = wakeAt
	}
	d.mu.Lock()
	inflight := d.inflight
	d.mu.Unlock()
	if inflight == 0 { // else a finishing delivery wakes us
		if t, err := d.store.NextOutboxAttempt(ctx); err == nil && t.After(now) && t.Before(next) {
			next = t
		}
	}
	delivery.Sleep(ctx, next.Sub(now), d.store.OutboxSignal(), d.wake)
}

func (d *Deliverer) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// finish releases a delivered unit's cases.
func (d *Deliverer) finish(u *unit) {
	d.mu.Lock()
	for _, r := range u.runs {
		delete(d.busy, r.caseID)
	}
	d.inflight--
	if u.partial {
		d.partial[u.kind] = false
	}
	close(d.released)
	d.released = make(chan struct{})
	d.mu.Unlock()
	d.signal()
}

// claim marks a case busy for a caller outside the dispatcher (the
// poller), waiting while a delivery of it is in flight. waited reports
// whether it had to wait. A nil Deliverer claims nothing.
func (d *Deliverer) claim(ctx context.Context, caseID int64) (release func(), waited bool, err error) {
	if d == nil {
		return func() {}, false, nil
	}
	for {
		d.mu.Lock()
		if !d.busy[caseID] {
			d.busy[caseID] = true
			d.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { d.unclaim(caseID) }) }, waited, nil
		}
		ch := d.released
		d.mu.Unlock()
		waited = true
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, waited, ctx.Err()
		}
	}
}

func (d *Deliverer) unclaim(caseID int64) {
	d.mu.Lock()
	delete(d.busy, caseID)
	d.epoch++
	close(d.released)
	d.released = make(chan struct{})
	d.mu.Unlock()
	d.signal()
}

// snapshot returns what planning needs under the lock.
func (d *Deliverer) snapshot() (free int, busy map[int64]bool, epoch uint64, partial [numUnitKinds]bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.workers - d.inflight, maps.Clone(d.busy), d.epoch, d.partial
}

// take claims the cases of units for delivery. It takes nothing and
// returns false when a claim from outside the dispatcher ended since the
// snapshot at epoch (the plan may be stale); units with a case busy now
// are left out.
func (d *Deliverer) take(units []*unit, epoch uint64) ([]*unit, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.epoch != epoch {
		return nil, false
	}
	out := units[:0]
next:
	for _, u := range units {
		for _, r := range u.runs {
			if d.busy[r.caseID] {
				continue next
			}
		}
		for _, r := range u.runs {
			d.busy[r.caseID] = true
		}
		d.inflight++
		if u.partial {
			d.partial[u.kind] = true
		}
		out = append(out, u)
	}
	return out, true
}

// park notes that a delivery found no usable token.
func (d *Deliverer) park() {
	if d.parked.CompareAndSwap(false, true) {
		d.parks.Add(1)
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
