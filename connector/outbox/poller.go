package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// Poller defaults.
const (
	DefaultPollInterval = 30 * time.Second
	// DefaultPollIntervalWithEvents is the safety-net interval while a
	// change stream is up.
	DefaultPollIntervalWithEvents = 5 * time.Minute
	DefaultOverlap                = time.Minute
	DefaultInitialLookback        = time.Hour
)

// The poller's keys in its KV namespace.
const (
	watermarkKey        = "status_poll_watermark"
	deletedWatermarkKey = "deleted_poll_watermark"
)

// codeInvalidReplicationDate is Salesforce's refusal of a getDeleted
// window (start too close to end or to now, or too old).
const codeInvalidReplicationDate = "INVALID_REPLICATION_DATE"

// deletedMargin keeps a deleted-records window this far inside the 15 days
// Salesforce answers for, so a daemon that was down longer asks for what
// it still can rather than being refused forever.
const deletedMargin = 24 * time.Hour

// maxApplyAttempts bounds how often one Salesforce change is decided again
// because the Care case changed under it.
const maxApplyAttempts = 5

var (
	// errCaseChanged aborts applying a Salesforce value when the Care case
	// changed since it was read; the change is decided again.
	errCaseChanged = care.Errorf(care.CodeConflict, "the case changed while a Salesforce status was applied")
	// errTooManyConflicts stops a poll that could not apply a change; the
	// watermark stays before it and the next poll reads it again.
	errTooManyConflicts = errors.New("the case kept changing while a Salesforce status was applied")
	// apiName is a Salesforce object or field API name.
	apiName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// PollerOptions configure a Poller.
type PollerOptions struct {
	// Store is the Care store (required).
	Store PollStore
	// KV keeps the watermark (required): store.KV(outbox.Namespace).
	KV KV
	// Tokens hands out background connections (required).
	Tokens Tokens
	// Mapping returns the mapping in use (required). The poller works only
	// while its status mode is bidirectional.
	Mapping func() *mapping.Mapping
	// Policy applies Salesforce statuses to Care cases
	// (SetStatusFromSalesforce).
	Policy care.Policy
	// Deliverer, when set, keeps the poller and the deliverer off the same
	// case at the same time, so a status delivery in flight is never
	// raced by the value it replaces.
	Deliverer *Deliverer
	// Budget throttles background work; share the Deliverer's. Nil: a
	// private Budget with the defaults.
	Budget *Budget
	// Metrics; share the Deliverer's. Nil records nothing.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Interval between polls (salesforce.poll_interval; default 30s).
	Interval time.Duration
	// IntervalWithEvents is the interval between polls while a change
	// stream is up (SetChangeStream(true)): the poller is then a safety
	// net (salesforce.poll_interval_with_events; default 5m).
	IntervalWithEvents time.Duration
	// Overlap is how far before the watermark each query starts again, so
	// a change committed late with an earlier SystemModstamp is not missed
	// (default 1m).
	Overlap time.Duration
	// InitialLookback is how far before Salesforce's clock the first poll
	// ever looks (default 1h).
	InitialLookback time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Poller carries Salesforce status changes to Care: one SOQL query per
// interval (per 300 linked cases) that reads the linked cases only, on
// SystemModstamp; and it notices deleted Salesforce cases. Build it with
// NewPoller; all methods are safe for concurrent use.
type Poller struct {
	store     PollStore
	kv        KV
	tokens    Tokens
	mapping   func() *mapping.Mapping
	policy    care.Policy
	deliverer *Deliverer
	budget    *Budget
	metrics   *Metrics
	log       *slog.Logger
	interval  time.Duration
	netEvery  time.Duration // the interval while the change stream is up
	overlap   time.Duration
	lookback  time.Duration
	now       func() time.Time

	pollMu sync.Mutex // one poll at a time
	wm     *watermark // nil until loaded

	seenMu sync.Mutex           // polls and change events both handle changes
	seen   map[string]time.Time // the newest change handled of each record

	streamUp atomic.Bool
	wake     chan struct{} // a change stream went up or down

	// sfOffset is Salesforce's clock less ours, from the Date of the last
	// getDeleted answer (haveOffset); under pollMu.
	sfOffset   time.Duration
	haveOffset bool
	// deletedAskAt is when getDeleted may be asked again after Salesforce
	// refused a window as not over yet (our clock); under pollMu.
	deletedAskAt time.Time
	// lapseAfter is the last linked case whose cleared external id field
	// a poll checked, lapseNext the one this poll checks up to (see
	// lapseChunk); under pollMu.
	lapseAfter, lapseNext string

	mu   sync.Mutex
	last time.Time
}

// NewPoller checks opts and returns a Poller.
func NewPoller(opts PollerOptions) (*Poller, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("outbox: poller Store is required")
	case opts.KV == nil:
		return nil, errors.New("outbox: poller KV is required")
	case opts.Tokens == nil:
		return nil, errors.New("outbox: poller Tokens is required")
	case opts.Mapping == nil:
		return nil, errors.New("outbox: poller Mapping is required")
	}
	p := &Poller{
		store: opts.Store, kv: opts.KV, tokens: opts.Tokens, mapping: opts.Mapping, policy: opts.Policy,
		deliverer: opts.Deliverer, budget: opts.Budget, metrics: opts.Metrics, log: opts.Logger,
		interval: opts.Interval, netEvery: opts.IntervalWithEvents, overlap: opts.Overlap, lookback: opts.InitialLookback, now: opts.Now,
		seen: map[string]time.Time{}, wake: make(chan struct{}, 1),
	}
	if p.budget == nil {
		p.budget = NewBudget(BudgetOptions{})
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if p.interval <= 0 {
		p.interval = DefaultPollInterval
	}
	if p.netEvery <= 0 {
		p.netEvery = DefaultPollIntervalWithEvents
	}
	if p.overlap <= 0 {
		p.overlap = DefaultOverlap
	}
	if p.lookback <= 0 {
		p.lookback = DefaultInitialLookback
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// LastPollAt is when the last poll succeeded (zero: never since start).
func (p *Poller) LastPollAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Run polls every interval (IntervalWithEvents while a change stream is
// up) until ctx ends, and returns nil then. It polls
// only in bidirectional status mode, waits while no token is healthy
// (polling pauses) and while the API budget is spent.
func (p *Poller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		start := time.Now()
		if m := p.mapping(); m != nil && m.Status.Bidirectional() {
			if p.tokens.WaitHealthy(ctx) != nil {
				return nil
			}
			if _, err := p.budget.Wait(ctx); err != nil {
				return nil
			}
			start = time.Now()
			res, err := p.Poll(ctx)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				p.log.Warn("outbox: status poll failed", "err", err)
			default:
				p.log.Debug("outbox: status poll", slog.Int("calls", res.Pages), slog.Int("checks", res.Checks), slog.Int("records", res.Records),
					slog.Int("applied", res.Applied), slog.Int("skipped_newer", res.SkippedNewer), slog.Int("deleted", res.Deleted),
					slog.Int("restored", res.Restored), slog.Int("keys_refused", res.KeysRefused))
			}
		}
		if p.waitNext(ctx, start) != nil {
			return nil
		}
	}
	return nil
}

// PollResult tells what one poll did.
type PollResult struct {
	// Skipped is true when no query was made: the status mode is not
	// bidirectional, or no case is linked.
	Skipped bool
	// Pages is the number of query calls (one, plus queryMore pages when
	// many records changed).
	Pages int
	// Checks is the number of query calls asking Salesforce which linked
	// cases carry the case external id field (checkCarried: once per
	// field, for links that do not say).
	Checks int
	// Records is the number of changed Salesforce cases read (rows
	// answered; the linked cases only).
	Records int
	// Deleted counts Care cases whose Salesforce case was found deleted.
	Deleted int
	// Applied counts Care cases changed; Recorded counts Salesforce values
	// recorded on a case without changing Care (unmapped, or refused by
	// the rules).
	Applied  int
	Recorded int
	// SkippedNewer counts Salesforce changes not applied because a newer
	// Care change of the case is on its way to Salesforce; Superseded
	// counts pending Care status updates dropped because a later
	// Salesforce change won.
	SkippedNewer int
	Superseded   int
	// Restored counts linked cases whose case external id field a
	// Salesforce user had cleared or changed and the poll wrote back;
	// KeysRefused those whose write-back Salesforce refused (named by Id
	// from then on).
	Restored    int
	KeysRefused int
}

// watermark is the position of the last change read: its SystemModstamp,
// with the record Id as tie-break.
type watermark struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}

func (w watermark) before(at time.Time, id string) bool {
	return w.At.Before(at) || (w.At.Equal(at) && w.ID < id)
}

// sfChange is one record the query returned.
type sfChange struct {
	id    string
	value string
	at    time.Time
}

// Poll reads the linked Salesforce cases changed since the watermark (less
// the overlap), one query per 300 linked cases, and applies their status
// to the Care cases; a linked case whose case external id field a user
// cleared in Salesforce is still read, and the field written back
// (poller_lapsed.go). Then it looks for deleted Salesforce cases. Changes
// already applied are not applied twice; values the daemon wrote are not
// taken back. It is what Run does every interval.
func (p *Poller) Poll(ctx context.Context) (PollResult, error) {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	var res PollResult
	m := p.mapping()
	if m == nil || !m.Status.Bidirectional() {
		res.Skipped = true
		return res, nil
	}
	object, field := caseObject(m), statusField(m)
	if !apiName.MatchString(object) || !apiName.MatchString(field) {
		return res, fmt.Errorf("outbox: poll: %q.%q is not a Salesforce API name", object, field)
	}
	linked, err := p.store.LinkedSalesforceCases(ctx)
	if err != nil {
		return res, fmt.Errorf("outbox: poll: %w", err)
	}
	if len(linked) == 0 {
		res.Skipped = true
		p.succeeded()
		return res, nil
	}
	wm, err := p.watermark(ctx)
	if err != nil {
		return res, err
	}
	err = p.tokens.DoBackground(ctx, func(conn *tokens.Conn) error {
		res = PollResult{} // another token starts over
		defer p.budget.ObserveClient(conn.Client)
		start := wm
		if start.At.IsZero() {
			// The first poll: Salesforce's clock, not ours, places it.
			at, err := p.salesforceNow(ctx, conn.Client, object)
			if err != nil {
				return err
			}
			start.At = at
		}
		named, err := p.checkCarried(ctx, conn.Client, m, linked, &res)
		if err != nil {
			return err
		}
		p.lapseNext = p.lapseAfter
		next, keys, err := p.readChanges(ctx, conn.Client, m, start, wm.At.IsZero(), named, &res)
		if err == nil && next != wm {
			if serr := p.saveWatermark(ctx, next); serr != nil {
				return serr
			}
			wm = next
		}
		if err != nil {
			return err
		}
		settled, err := p.restoreKeys(ctx, conn.Client, m, keys, &res)
		if err != nil {
			return err
		}
		if settled {
			p.lapseAfter = p.lapseNext
		}
		return p.findDeleted(ctx, conn.Client, object, wm.At, &res)
	})
	if err != nil {
		if salesforce.LongWait(err) {
			p.budget.LimitExceeded()
		}
		return res, fmt.Errorf("outbox: poll: %w", err)
	}
	p.prune()
	p.succeeded()
	return res, nil
}

// readChanges queries the linked cases changed since the watermark, in
// chunks of Id IN (…), and handles each change. SystemModstamp has whole
// seconds in a real org: the query starts the overlap before the
// watermark (>=, so the watermark's own second is read again) and the seen
// changes keep a change from being applied twice. It returns the newest
// change read, which becomes the watermark only once every chunk was read:
// a later chunk may hold older changes. first: start is Salesforce's clock
// (no watermark yet), read from the lookback before it. keys are the
// records read with the case external id field, and its value (see
// restoreKeys).
func (p *Poller) readChanges(ctx context.Context, client *salesforce.Client, m *mapping.Mapping, start watermark, first bool,
	linked []care.LinkedSalesforceCase, res *PollResult) (next watermark, keys []readKey, err error) {
	object, field := caseObject(m), statusField(m)
	from := start.At.Add(-p.overlap)
	if first {
		from = start.At.Add(-p.lookback)
	}
	// The case external id field is read where a linked case was written
	// by it (so the org has it), to find the cases whose key was cleared.
	fields, keyField := "Id, "+field, caseExternalIDField(m)
	if keyField == "" || strings.EqualFold(keyField, field) ||
		!slices.ContainsFunc(linked, func(l care.LinkedSalesforceCase) bool { return strings.EqualFold(l.ExternalIDField, keyField) }) {
		keyField = ""
	} else {
		fields += ", " + keyField
	}
	next = start
	for filter := range linkedFilters(m, linked, p.lapseChunk) {
		soql := fmt.Sprintf("SELECT %s, SystemModstamp FROM %s WHERE %s ORDER BY SystemModstamp, Id",
			fields, object, filter.where(salesforce.SOQLTime(from)))
		err := client.QueryPages(ctx, soql, func(page *salesforce.QueryResult) error {
			p.budget.ObserveClient(client)
			res.Pages++
			res.Records += len(page.Records)
			for _, rec := range page.Records {
				ch, ok := readChange(rec, field)
				if !ok {
					p.log.Warn("outbox: poll: a record without Id or SystemModstamp", "object", object)
					continue
				}
				if err := p.consider(ctx, m, ch, res); err != nil {
					return err
				}
				if keyField != "" {
					keys = append(keys, readKey{id: ch.id, value: recordString(rec, keyField)})
				}
				if next.before(ch.at, ch.id) {
					next = watermark{At: ch.at, ID: ch.id}
				}
			}
			return nil
		})
		if err != nil {
			return start, nil, err
		}
	}
	return next, keys, nil
}

// salesforceNow reads Salesforce's clock: the newest SystemModstamp of the
// object (one row). An org without a record of it has nothing to miss yet:
// the local clock stands in until the first record exists.
func (p *Poller) salesforceNow(ctx context.Context, client *salesforce.Client, object string) (time.Time, error) {
	recs, err := client.Query(ctx, fmt.Sprintf("SELECT SystemModstamp FROM %s ORDER BY SystemModstamp DESC LIMIT 1", object))
	p.budget.ObserveClient(client)
	if err != nil {
		return time.Time{}, err
	}
	if len(recs) == 0 {
		return p.now(), nil
	}
	at, err := recs[0].Time("SystemModstamp")
	if err != nil {
		return time.Time{}, fmt.Errorf("newest SystemModstamp: %w", err)
	}
	return at, nil
}

func (p *Poller) succeeded() {
	now := p.now()
	p.mu.Lock()
	p.last = now
	p.mu.Unlock()
	p.metrics.polled(now)
}

// recordString reads a field of a queried record, in any spelling of its
// name.
func recordString(rec salesforce.Record, field string) string {
	if _, ok := rec[field]; !ok {
		for k := range rec {
			if strings.EqualFold(k, field) {
				return rec.String(k)
			}
		}
	}
	return rec.String(field)
}

// readChange reads the Id, the status field (any spelling) and the
// SystemModstamp of a queried record.
func readChange(rec salesforce.Record, field string) (sfChange, bool) {
	ch := sfChange{id: rec.ID(), value: recordString(rec, field)}
	at, err := rec.Time("SystemModstamp")
	if err != nil || ch.id == "" {
		return ch, false
	}
	ch.at = at
	return ch, true
}
