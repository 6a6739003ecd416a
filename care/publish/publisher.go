// Package publish sends agents' replies to the customer (SPEC §16): a
// worker that takes the replies the store recorded in its publish outbox
// and POSTs each, signed, to the publisher's webhook, in order per case,
// with backoff, storing the platform id the publisher answers.
package publish

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/delivery"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is the publish outbox (care/bolt.Store implements it).
type Store interface {
	// PublishDue returns up to max replies due at now, at most one per
	// case (the oldest), none of a case busy reports.
	PublishDue(ctx context.Context, now time.Time, max int, busy func(caseID int64) bool) ([]care.Publication, error)
	// NextPublishAttempt is when the earliest pending reply is due (zero:
	// none).
	NextPublishAttempt(ctx context.Context) (time.Time, error)
	PublishSent(ctx context.Context, id uint64, externalID string) error
	PublishRetry(ctx context.Context, id uint64, next time.Time, reason string) error
	PublishFail(ctx context.Context, id uint64, reason string) error
	// PublishSignal receives a value when a reply was recorded or requeued.
	PublishSignal() <-chan struct{}
	// PublishStats counts the replies pending and failed and ages the
	// oldest pending one, cheaply: it backs the gauges at every scrape
	// (metrics.go).
	PublishStats(ctx context.Context) (care.PublishStats, error)
}

// Values of the result label of carebridge_replies_published_total.
const (
	ResultSent   = "sent"
	ResultRetry  = "retry"
	ResultFailed = "failed"
)

// Defaults of Options.
const (
	DefaultWorkers = 16
	DefaultTimeout = 10 * time.Second
)

// Options configure a Publisher.
type Options struct {
	Store Store  // required
	URL   string // the webhook (required)
	// Secret signs every delivery (X-Carebridge-Signature).
	Secret []byte
	// Client sends the deliveries; nil: a client of its own with Timeout.
	// Redirects are never followed.
	Client *http.Client
	// Registerer takes carebridge_replies_published_total and the
	// gauges carebridge_replies_pending, carebridge_replies_failed and
	// carebridge_replies_oldest_pending_age_seconds (metrics.go); nil
	// registers nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger // nil discards

	Workers int           // deliveries at once, each of another case (default 16)
	Timeout time.Duration // one request (default 10s)
	// BaseBackoff and MaxBackoff shape the retries of one reply:
	// exponential from BaseBackoff (default 1s), ±20% jitter, capped at
	// MaxBackoff (default 10m). A Retry-After within MaxBackoff is obeyed.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// DrainTimeout bounds how long Run waits for deliveries in flight
	// after its context ends (default 10s).
	DrainTimeout time.Duration
	// IdleCheck is the longest Run sleeps without looking at the outbox
	// (default 5s).
	IdleCheck time.Duration
	Now       func() time.Time // the clock (default time.Now)
}

// Publisher delivers the publish outbox. Build it with New and run it with
// Run (or Flush, in tests and tools).
type Publisher struct {
	store   Store
	url     string
	secret  []byte
	client  *http.Client
	log     *slog.Logger
	results *prometheus.CounterVec
	workers int
	timeout time.Duration
	retry   delivery.Retry
	idle    time.Duration
	now     func() time.Time

	mu   sync.Mutex
	busy map[int64]bool // cases with a delivery in flight
	wake chan struct{}  // a delivery finished

	run delivery.Lifecycle
}

// New checks opts and builds a Publisher, registering its metrics.
func New(opts Options) (*Publisher, error) {
	if opts.Store == nil {
		return nil, errors.New("publish: Store is required")
	}
	if opts.URL == "" {
		return nil, errNoURL
	}
	p := &Publisher{store: opts.Store, url: opts.URL, secret: opts.Secret, client: opts.Client, log: opts.Logger,
		workers: opts.Workers, timeout: opts.Timeout, retry: delivery.NewRetry(opts.BaseBackoff, opts.MaxBackoff),
		idle: opts.IdleCheck, now: opts.Now, run: delivery.Lifecycle{Name: "publish", Timeout: opts.DrainTimeout},
		busy: map[int64]bool{}, wake: make(chan struct{}, 1)}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if p.idle <= 0 {
		p.idle = delivery.DefaultIdleCheck
	}
	if p.workers <= 0 {
		p.workers = DefaultWorkers
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.run.Log = p.log
	if p.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = p.workers
		tr.ResponseHeaderTimeout = p.timeout
		p.client = &http.Client{Transport: tr, Timeout: p.timeout}
	}
	noRedirect := *p.client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p.client = &noRedirect
	var err error
	if p.results, err = newMetrics(opts.Registerer, opts.Store); err != nil {
		return nil, err
	}
	return p, nil
}

// Run delivers until ctx ends, then waits for the deliveries in flight up
// to DrainTimeout (or Drain's context), cancelling them past it. A reply
// leaves the outbox only once its answer is stored, so a delivery cut
// short is made again after the restart with the same delivery_id. Run
// may be called once.
func (p *Publisher) Run(ctx context.Context) error {
	return p.run.Run(ctx, func(ctx, work context.Context, wg *sync.WaitGroup) {
		for ctx.Err() == nil {
			p.dispatch(work, wg, nil)
			p.sleep(ctx)
		}
	})
}

// Drain waits for Run to return after its context ended; when ctx ends
// first the deliveries in flight are cancelled (their replies stay in the
// outbox). It returns at once when Run never started.
func (p *Publisher) Drain(ctx context.Context) error { return p.run.Drain(ctx) }

// sleep waits for a reason to look at the outbox again: a new reply, a
// delivery done, the next due time, IdleCheck, or ctx's end.
func (p *Publisher) sleep(ctx context.Context) {
	wait := p.idle
	if p.inflight() < p.workers {
		if next, err := p.store.NextPublishAttempt(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(next.Sub(p.now()), 0))
		}
	}
	if wait <= 0 {
		// Due now but every case due is busy: wait for one to finish.
		wait = p.idle
	}
	delivery.Sleep(ctx, wait, p.store.PublishSignal(), p.wake)
}

func (p *Publisher) inflight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.busy)
}

func (p *Publisher) isBusy(caseID int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy[caseID]
}

// dispatch starts a delivery for every due reply a free worker can take
// (skip: ids not to start again, nil for none) and answers how many it
// started.
func (p *Publisher) dispatch(ctx context.Context, wg *sync.WaitGroup, skip map[uint64]bool) int {
	free := p.workers - p.inflight()
	if free <= 0 {
		return 0
	}
	due, err := p.store.PublishDue(ctx, p.now(), free+len(skip), p.isBusy)
	if err != nil {
		p.log.Error("publish: read the outbox", "err", err)
		return 0
	}
	started := 0
	for _, pub := range due {
		if skip[pub.ID] || started == free {
			continue
		}
		p.mu.Lock()
		p.busy[pub.CaseID] = true
		p.mu.Unlock()
		if skip != nil {
			skip[pub.ID] = true
		}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.deliver(ctx, pub)
			p.mu.Lock()
			delete(p.busy, pub.CaseID)
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}()
	}
	return started
}

// Flush delivers what is due now, reply after reply per case, until
// nothing due is left that it has not tried in this call, and answers how
// many attempts it made. It is Run's work without the waiting: for tests
// (with an injected clock) and tools.
func (p *Publisher) Flush(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	tried := map[uint64]bool{}
	for {
		n := p.dispatch(ctx, &wg, tried)
		if n == 0 && p.inflight() == 0 {
			break
		}
		if n == 0 {
			select {
			case <-p.wake:
			case <-ctx.Done():
				wg.Wait()
				return len(tried), ctx.Err()
			}
		}
	}
	wg.Wait()
	return len(tried), ctx.Err()
}

// deliver makes one attempt and stores its outcome.
func (p *Publisher) deliver(ctx context.Context, pub care.Publication) {
	res := p.post(ctx, pub)
	if ctx.Err() != nil && res.outcome != outcomeSent {
		return // cut short by the shutdown: the reply stays due
	}
	var err error
	switch res.outcome {
	case outcomeSent:
		err = p.store.PublishSent(ctx, pub.ID, res.externalID)
	case outcomeRetry:
		wait := p.retry.Wait(pub.Attempts)
		if res.retryAfter > 0 {
			wait = min(max(wait, res.retryAfter), p.retry.Max)
		}
		err = p.store.PublishRetry(ctx, pub.ID, p.now().Add(wait), res.reason)
		p.log.Warn("publish: reply not delivered, retrying", "case_id", pub.CaseID, "message_id", pub.Message.ID,
			"attempts", pub.Attempts+1, "retry_in", wait.String(), "reason", res.reason)
	case outcomeRefused:
		err = p.store.PublishFail(ctx, pub.ID, res.reason)
		p.log.Error("publish: the publisher refused a reply", "case_id", pub.CaseID, "message_id", pub.Message.ID,
			"reason", res.reason)
	}
	p.results.WithLabelValues(res.outcome.String()).Inc()
	if err != nil {
		// The answer is lost: the reply is sent again (same delivery_id).
		p.log.Error("publish: store the publisher's answer", "case_id", pub.CaseID, "message_id", pub.Message.ID, "err", err)
	}
}
