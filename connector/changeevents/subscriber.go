package changeevents

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-retry"
	"google.golang.org/grpc"

	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
)

// Defaults of a Subscriber.
const (
	// DefaultBatch is how many events one FetchRequest asks for (the
	// Pub/Sub API's most).
	DefaultBatch   = 100
	defaultMinWait = time.Second
	defaultMaxWait = 5 * time.Minute
	// idleCheck is how often a subscriber with nothing to subscribe to
	// (the status sync not bidirectional) looks again.
	idleCheck = 10 * time.Second
)

// Applier applies Salesforce changes to Care: (*outbox.Poller).
type Applier interface {
	StatusField() (object, field string, ok bool)
	ApplyChange(ctx context.Context, ch outbox.Change) (outbox.PollResult, error)
	ApplyDeleted(ctx context.Context, id string, at time.Time) (outbox.PollResult, error)
	CaseKeyField() string
	RestoreKey(ctx context.Context, k outbox.KeyChange) (outbox.PollResult, error)
	Poll(ctx context.Context) (outbox.PollResult, error)
	SetChangeStream(up bool)
}

// Tokens hands out the background token: (*tokens.Pool).
type Tokens interface {
	Background(ctx context.Context) (*tokens.Conn, error)
	Session(kind tokens.Kind, userID string) salesforce.Session
	WaitHealthy(ctx context.Context) error
	OrgID() string
}

var (
	_ Applier = (*outbox.Poller)(nil)
	_ Tokens  = (*tokens.Pool)(nil)
)

// Options configure a Subscriber.
type Options struct {
	// URL is salesforce.pubsub_url (required).
	URL string
	// Tokens hands out the token the subscription runs under (required).
	Tokens Tokens
	// Poller applies the changes and catches up by polling (required).
	Poller Applier
	// KV keeps the replay id (required): store.KV(outbox.Namespace).
	KV outbox.KV
	// Metrics, when set, records the metrics (a subscriber built again
	// over the same registry); else they are registered with Registerer
	// (nil: none).
	Metrics    *Metrics
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// Batch is how many events a FetchRequest asks for (default and most
	// 100).
	Batch int
	// MinWait and MaxWait bound the backoff between subscriptions (1s,
	// 5m).
	MinWait, MaxWait time.Duration
	// Now is the clock of the lag metric (default time.Now).
	Now func() time.Time
	// DialOptions are added to the gRPC client's (tests).
	DialOptions []grpc.DialOption
}

// Subscriber carries Salesforce case changes to Care over the Pub/Sub
// API. Build it with New, run it with Run, stop it by cancelling Run's ctx
// then Close.
type Subscriber struct {
	cc      *grpc.ClientConn
	url     string
	api     pubsubapi.PubSubClient
	tokens  Tokens
	poller  Applier
	replay  replayStore
	metrics *Metrics
	log     *slog.Logger
	batch   int
	minWait time.Duration
	maxWait time.Duration
	now     func() time.Time
	schemas *schemaCache

	mu     sync.Mutex
	up     bool
	reason string

	// pendingCatchUp: a stream ended after it was up (or the replay id
	// was gone); the next stream, once up, first polls. Run's goroutine
	// only.
	pendingCatchUp bool
}

// New checks opts and returns a Subscriber. It makes no network call.
func New(opts Options) (*Subscriber, error) {
	switch {
	case opts.Tokens == nil:
		return nil, errors.New("changeevents: Tokens is required")
	case opts.Poller == nil:
		return nil, errors.New("changeevents: Poller is required")
	case opts.KV == nil:
		return nil, errors.New("changeevents: KV is required")
	}
	cc, err := dial(opts.URL, opts.DialOptions...)
	if err != nil {
		return nil, err
	}
	m := opts.Metrics
	if m == nil {
		if m, err = NewMetrics(opts.Registerer); err != nil {
			cc.Close()
			return nil, err
		}
	}
	s := &Subscriber{
		cc: cc, url: opts.URL, api: pubsubapi.NewPubSubClient(cc), tokens: opts.Tokens, poller: opts.Poller,
		replay: replayStore{opts.KV}, metrics: m, log: opts.Logger, batch: opts.Batch,
		minWait: opts.MinWait, maxWait: opts.MaxWait, now: opts.Now, reason: "the change stream is not subscribed yet",
	}
	s.schemas = newSchemaCache(s.api)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.batch <= 0 || s.batch > DefaultBatch {
		s.batch = DefaultBatch
	}
	if s.minWait <= 0 {
		s.minWait = defaultMinWait
	}
	if s.maxWait < s.minWait {
		s.maxWait = max(defaultMaxWait, s.minWait)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Close closes the gRPC connection. Cancel Run's ctx first.
func (s *Subscriber) Close() error { return s.cc.Close() }

// State reports whether the change stream is up; when it is not, reason
// says why (safe to show: no token, no server text).
func (s *Subscriber) State() (up bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up, s.reason
}

// setUp marks the stream up or down (with why) for the connection, the
// metric and the poller's interval.
func (s *Subscriber) setUp(up bool, reason string) {
	if up {
		reason = ""
	}
	s.mu.Lock()
	was := s.up
	s.up, s.reason = up, reason
	s.mu.Unlock()
	s.metrics.streamUp(up)
	s.poller.SetChangeStream(up)
	if up != was {
		if up {
			s.log.Info("changeevents: the change stream is up; the poller is a safety net")
		} else {
			s.log.Warn("changeevents: the change stream is down; polling carries changes", "reason", reason)
		}
	}
}

// newBackoff is the wait between failed subscriptions: exponential with
// jitter, one per run of failures.
func (s *Subscriber) newBackoff() retry.Backoff {
	return retry.WithCappedDuration(s.maxWait, retry.WithJitterPercent(20, retry.NewExponential(s.minWait)))
}

// Run subscribes until ctx ends, and returns nil then. After a failure it
// subscribes again with backoff (an auth error refreshes the token and
// subscribes again at once, the first time); once a stream that had been
// up is back, a poll catches up from the watermark.
func (s *Subscriber) Run(ctx context.Context) error {
	defer s.setUp(false, "the daemon is stopping")
	backoff := s.newBackoff()
	authRetried := false
	for ctx.Err() == nil {
		object, field, ok := s.poller.StatusField()
		if !ok {
			s.setUp(false, "the mapping's status sync is not bidirectional")
			s.metrics.streamIdle()
			if sleep(ctx, idleCheck) != nil {
				return nil
			}
			continue
		}
		if _, err := s.tokens.Background(ctx); err != nil {
			s.setUp(false, "no healthy Salesforce token")
			if s.tokens.WaitHealthy(ctx) != nil {
				return nil
			}
		}
		a, err := s.subscribe(ctx, object, field)
		if ctx.Err() != nil {
			return nil
		}
		f := classify(err, true)
		s.setUp(false, reasonFor(f, err))
		s.log.Info("changeevents: subscription ended", "reason", reasonFor(f, err), "err", err)
		if a.up { // it worked a while: the next failure starts the backoff over
			backoff, authRetried = s.newBackoff(), false
		}
		if a.up || f == failReplay {
			// Changes made while the stream was failing, or past the
			// replay window, are read by a poll once the next stream is
			// up (so nothing falls between the poll and the stream). A
			// stream never up left the poller at poll_interval meanwhile.
			s.pendingCatchUp = true
		}
		if f == failAuth && !authRetried {
			authRetried = true
			s.refresh(ctx, a.use)
			continue
		}
		authRetried = false
		if f == failReplay {
			if err := s.replay.forget(ctx); err != nil {
				s.log.Error("changeevents: forget replay id", "err", err)
			}
		}
		if f == failAuth {
			s.refresh(ctx, a.use)
		}
		wait, _ := backoff.Next()
		if sleep(ctx, wait) != nil {
			return nil
		}
	}
	return nil
}

// refresh renews the subscription's access token after the Pub/Sub API
// refused it (single-flight in the pool; a rotated refresh token is
// stored first).
func (s *Subscriber) refresh(ctx context.Context, conn *tokenUse) {
	if conn == nil {
		return
	}
	if _, err := conn.session.Refresh(ctx, conn.token); err != nil {
		s.log.Warn("changeevents: token refresh after an auth error failed", "err", err)
	}
}

// catchUp polls from the watermark, so nothing changed while the stream
// was down is missed.
func (s *Subscriber) catchUp(ctx context.Context) {
	res, err := s.poller.Poll(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("changeevents: catch-up poll failed; the poller tries again", "err", err)
		return
	}
	s.log.Debug("changeevents: catch-up poll", "records", res.Records, "applied", res.Applied, "deleted", res.Deleted)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
