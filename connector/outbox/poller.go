package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// Poller defaults.
const (
	DefaultPollInterval    = 30 * time.Second
	DefaultOverlap         = time.Minute
	DefaultInitialLookback = time.Hour
)

// watermarkKey is the poller's key in its KV namespace.
const watermarkKey = "status_poll_watermark"

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
	// Overlap is how far before the watermark each query starts again, so
	// a change committed late with an earlier SystemModstamp is not missed
	// (default 1m).
	Overlap time.Duration
	// InitialLookback is how far back the first poll ever looks (default
	// 1h).
	InitialLookback time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Poller carries Salesforce status changes to Care: one SOQL query per
// interval for every linked case at once, on SystemModstamp. Build it with
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
	overlap   time.Duration
	lookback  time.Duration
	now       func() time.Time

	pollMu sync.Mutex // one poll at a time
	wm     *watermark // nil until loaded
	seen   map[string]time.Time

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
		interval: opts.Interval, overlap: opts.Overlap, lookback: opts.InitialLookback, now: opts.Now,
		seen: map[string]time.Time{},
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

// Run polls every interval until ctx ends, and returns nil then. It polls
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
				p.log.Debug("outbox: status poll", slog.Int("calls", res.Pages), slog.Int("records", res.Records),
					slog.Int("applied", res.Applied), slog.Int("skipped_newer", res.SkippedNewer))
			}
		}
		if sleepCtx(ctx, p.interval-time.Since(start)) != nil {
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
	// Records is the number of changed Salesforce cases read.
	Records int
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

// Poll reads the Salesforce cases changed since the watermark (less the
// overlap) with one query, and applies their status to the linked Care
// cases. Changes already applied are not applied twice; values the daemon
// wrote are not taken back. It is what Run does every interval.
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
	linked, err := p.store.LinkedCaseCount(ctx)
	if err != nil {
		return res, fmt.Errorf("outbox: poll: %w", err)
	}
	if linked == 0 {
		res.Skipped = true
		p.succeeded()
		return res, nil
	}
	wm, err := p.watermark(ctx)
	if err != nil {
		return res, err
	}
	queried := p.now()
	from := queried.Add(-p.lookback)
	if !wm.At.IsZero() {
		from = wm.At.Add(-p.overlap)
	}
	soql := fmt.Sprintf("SELECT Id, %s, SystemModstamp FROM %s WHERE SystemModstamp >= %s ORDER BY SystemModstamp, Id",
		field, object, salesforce.SOQLTime(from))

	err = p.tokens.DoBackground(ctx, func(conn *tokens.Conn) error {
		res = PollResult{} // another token starts over
		err := conn.Client.QueryPages(ctx, soql, func(page *salesforce.QueryResult) error {
			p.budget.ObserveClient(conn.Client)
			res.Pages++
			res.Records += len(page.Records)
			next := wm
			var err error
			for _, rec := range page.Records {
				ch, ok := readChange(rec, field)
				if !ok {
					p.log.Warn("outbox: poll: a record without Id or SystemModstamp", "object", object)
					continue
				}
				if err = p.consider(ctx, m, ch, &res); err != nil {
					break
				}
				if next.before(ch.at, ch.id) {
					next = watermark{At: ch.at, ID: ch.id}
				}
			}
			if next != wm {
				if serr := p.saveWatermark(ctx, next); serr != nil {
					return serr
				}
				wm = next
			}
			return err
		})
		p.budget.ObserveClient(conn.Client)
		return err
	})
	if err != nil {
		if salesforce.LongWait(err) {
			p.budget.LimitExceeded()
		}
		return res, fmt.Errorf("outbox: poll: %w", err)
	}
	if wm.At.IsZero() {
		// Nothing changed in the lookback: start from the query's time
		// (the overlap covers the clock difference).
		if err := p.saveWatermark(ctx, watermark{At: queried}); err != nil {
			return res, err
		}
	}
	p.prune()
	p.succeeded()
	return res, nil
}

func (p *Poller) succeeded() {
	now := p.now()
	p.mu.Lock()
	p.last = now
	p.mu.Unlock()
	p.metrics.polled(now)
}

// readChange reads the Id, the status field (any spelling) and the
// SystemModstamp of a queried record.
func readChange(rec salesforce.Record, field string) (sfChange, bool) {
	ch := sfChange{id: rec.ID()}
	ch.value = rec.String(field)
	if _, ok := rec[field]; !ok {
		for k := range rec {
			if strings.EqualFold(k, field) {
				ch.value = rec.String(k)
			}
		}
	}
	at, err := rec.Time("SystemModstamp")
	if err != nil || ch.id == "" {
		return ch, false
	}
	ch.at = at
	return ch, true
}

func (p *Poller) watermark(ctx context.Context) (watermark, error) {
	if p.wm != nil {
		return *p.wm, nil
	}
	b, err := p.kv.Get(ctx, watermarkKey)
	if err != nil {
		return watermark{}, fmt.Errorf("outbox: read poll watermark: %w", err)
	}
	var wm watermark
	if b != nil {
		if err := json.Unmarshal(b, &wm); err != nil {
			p.log.Warn("outbox: unreadable poll watermark; starting over", "err", err)
			wm = watermark{}
		}
	}
	p.wm = &wm
	return wm, nil
}

func (p *Poller) saveWatermark(ctx context.Context, wm watermark) error {
	b, err := json.Marshal(wm)
	if err != nil {
		return err
	}
	if err := p.kv.Put(context.WithoutCancel(ctx), watermarkKey, b); err != nil {
		return fmt.Errorf("outbox: save poll watermark: %w", err)
	}
	p.wm = &wm
	return nil
}

// prune forgets the changes that fell out of the overlap window.
func (p *Poller) prune() {
	if p.wm == nil {
		return
	}
	cut := p.wm.At.Add(-p.overlap)
	for id, at := range p.seen {
		if at.Before(cut) {
			delete(p.seen, id)
		}
	}
}

// consider handles one changed record.
func (p *Poller) consider(ctx context.Context, m *mapping.Mapping, ch sfChange, res *PollResult) error {
	if at, ok := p.seen[ch.id]; ok && at.Equal(ch.at) {
		return nil // read again in the overlap: already handled
	}
	c, err := p.store.CaseBySalesforceID(ctx, ch.id)
	switch {
	case care.IsNotFound(err):
		// Not a case of ours.
	case err != nil:
		return fmt.Errorf("case of %s: %w", ch.id, err)
	case ch.value == c.Salesforce.Status:
		// What we wrote, or read already.
	default:
		if err := p.apply(ctx, m, c, ch, res); err != nil {
			return err
		}
	}
	p.seen[ch.id] = ch.at
	return nil
}

// apply applies a Salesforce value to its Care case, with the case claimed
// from the deliverer, deciding again when the case changes meanwhile.
func (p *Poller) apply(ctx context.Context, m *mapping.Mapping, c care.Case, ch sfChange, res *PollResult) error {
	id := c.ID
	for range maxApplyAttempts {
		release, waited, err := p.deliverer.claim(ctx, id)
		if err != nil {
			return err
		}
		done, err := p.applyClaimed(ctx, m, c, ch, waited, res)
		release()
		if err != nil || done {
			return err
		}
		if c, err = p.store.Case(ctx, care.User{}, id); err != nil {
			return fmt.Errorf("case %d: %w", id, err)
		}
	}
	return errTooManyConflicts
}

// applyClaimed decides and applies one change; done is false when the case
// changed meanwhile and the change must be decided again.
func (p *Poller) applyClaimed(ctx context.Context, m *mapping.Mapping, seen care.Case, ch sfChange, waited bool, res *PollResult) (done bool, err error) {
	cur, err := p.store.Case(ctx, care.User{}, seen.ID)
	if err != nil {
		return false, fmt.Errorf("case %d: %w", seen.ID, err)
	}
	if waited && cur.Salesforce.Status != seen.Salesforce.Status {
		// A status delivery ended while we waited: Salesforce has a newer
		// value than the query read, and the next poll reads it back.
		return true, nil
	}
	if ch.value == cur.Salesforce.Status {
		return true, nil
	}
	// Of two changes the later wins: a status update of Care's still on
	// its way is newer unless Salesforce changed after it was made.
	pending, err := p.pendingStatus(ctx, cur.ID)
	if err != nil {
		return false, err
	}
	if len(pending) > 0 {
		var newest time.Time
		ids := make([]uint64, 0, len(pending))
		for _, e := range pending {
			if e.Value == ch.value {
				res.SkippedNewer++ // that value is on its way
				return true, nil
			}
			if e.CreatedAt.After(newest) {
				newest = e.CreatedAt
			}
			ids = append(ids, e.ID)
		}
		if !ch.at.After(newest) {
			res.SkippedNewer++
			return true, nil
		}
		if err := p.store.OutboxDone(ctx, ids); err != nil {
			return false, fmt.Errorf("supersede status updates of case %d: %w", cur.ID, err)
		}
		res.Superseded += len(ids)
		p.log.Info("outbox: a later Salesforce status replaces Care's pending update",
			slog.Int64("case", cur.ID), slog.String("value", ch.value), slog.Int("superseded", len(ids)))
	}

	upd, mapped := m.Status.CareUpdateFor(ch.value)
	var refused error
	changed := false
	_, err = p.store.ApplyFromSalesforce(ctx, cur.ID, func(c *care.Case, now time.Time) error {
		refused, changed = nil, false
		if !c.UpdatedAt.Equal(cur.UpdatedAt) || c.Status != cur.Status || c.Salesforce != cur.Salesforce {
			return errCaseChanged
		}
		c.Salesforce.Status = ch.value
		switch {
		case !mapped:
		case upd.Field != "":
			if v, ok := c.Fields[upd.Field]; !ok || v != upd.Value {
				if c.Fields == nil {
					c.Fields = map[string]string{}
				}
				c.Fields[upd.Field] = upd.Value
				changed = true
			}
		default:
			before := c.Status
			if err := p.policy.SetStatusFromSalesforce(c, upd.Status, now); err != nil {
				refused = err
				return nil
			}
			changed = c.Status != before
		}
		return nil
	})
	switch {
	case errors.Is(err, errCaseChanged):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("apply Salesforce status to case %d: %w", cur.ID, err)
	}
	if refused != nil {
		p.log.Info("outbox: Salesforce status not applied to the Care case", slog.Int64("case", cur.ID),
			slog.String("value", ch.value), slog.String("reason", refused.Error()))
	}
	if changed {
		res.Applied++
		p.metrics.statusSynced(DirectionFromSalesforce, p.now().Sub(ch.at))
	} else {
		res.Recorded++
	}
	return true, nil
}

// endOfTime is after every retry time: with it OutboxDue returns a case's
// whole pending queue.
var endOfTime = time.Unix(0, math.MaxInt64)

// pendingStatus lists the case's status updates waiting in the outbox. It
// reads the case's pending queue as OutboxDue gives it with every entry
// due and every other case busy: the store then decodes this case's
// entries alone, skipping the rest of a backlog in its compact index.
func (p *Poller) pendingStatus(ctx context.Context, caseID int64) ([]care.OutboxEntry, error) {
	queue, err := p.store.OutboxDue(ctx, endOfTime, math.MaxInt, func(id int64) bool { return id != caseID })
	if err != nil {
		return nil, fmt.Errorf("pending status updates of case %d: %w", caseID, err)
	}
	var out []care.OutboxEntry
	for _, e := range queue {
		if e.Kind == care.OpSetStatus {
			out = append(out, e)
		}
	}
	return out, nil
}
