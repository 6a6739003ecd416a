package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

var (
	// errNotContinuous fails pushes once the mapping stops pushing messages.
	errNotContinuous = errors.New("the mapping does not push messages (messages.mode is not continuous)")
	// errNoEscalator fails escalations when the daemon has no escalator.
	errNoEscalator = errors.New("automatic escalation is not available")
	// errNoResult stands in for a failed record without an error.
	errNoResult = errors.New("Salesforce refused the record without an error")
)

// outcome is how one entry's delivery ended: err nil when Salesforce took
// it.
type outcome struct {
	entry care.OutboxEntry
	run   *caseRun
	msgs  []care.Message
	err   error
}

// deliver runs one unit on the work context and records each entry's
// outcome.
func (d *Deliverer) deliver(ctx context.Context, u *unit) {
	start := time.Now()
	var outs []outcome
	switch u.kind {
	case unitMessages:
		outs = d.deliverMessages(ctx, u)
	case unitStatus:
		outs = d.deliverStatus(ctx, u)
	default:
		outs = d.deliverEscalate(ctx, u)
	}
	ok := 0
	for _, o := range outs {
		if o.err == nil {
			ok++
		}
	}
	d.log.Debug("outbox: delivered", slog.String("kind", u.kind.String()), slog.Int("cases", len(u.runs)),
		slog.Int("records", u.records), slog.Int("entries", len(outs)), slog.Int("ok", ok),
		slog.Duration("took", time.Since(start)))
}

// deliverMessages upserts the unit's message records in one sObject
// Collections call and completes the entries Salesforce took.
func (d *Deliverer) deliverMessages(ctx context.Context, u *unit) []outcome {
	m := u.m
	var (
		records []map[string]any
		recOf   [][][]int // run, entry → record indices
		errs    [][]error // run, entry → error before the call
		results []salesforce.SaveResult
	)
	callErr := d.tokens.DoBackground(ctx, func(conn *tokens.Conn) error {
		records, results = nil, nil
		recOf, errs = make([][][]int, len(u.runs)), make([][]error, len(u.runs))
		need := false
		for ri, r := range u.runs {
			recOf[ri] = make([][]int, len(r.entries))
			errs[ri] = make([]error, len(r.entries))
			for ei := range r.entries {
				errs[ri][ei] = r.prep[ei]
				if m.MessagesMode() != mapping.MessagesContinuous && errs[ri][ei] == nil {
					errs[ri][ei] = errNotContinuous
				}
				need = need || (errs[ri][ei] == nil && len(r.msgs[ei]) > 0)
			}
		}
		if !need {
			return nil
		}
		mm := m.Messages
		info, err := d.describe(ctx, conn.Client, mm.Object)
		d.budget.ObserveClient(conn.Client)
		if err != nil {
			return fmt.Errorf("describe %s: %w", mm.Object, err)
		}
		idx := map[string]int{}
		for ri, r := range u.runs {
			for ei := range r.entries {
				if errs[ri][ei] != nil {
					continue
				}
				for _, msg := range r.msgs[ei] {
					if j, ok := idx[msg.ID]; ok {
						recOf[ri][ei] = append(recOf[ri][ei], j)
						continue
					}
					rec, err := m.RenderMessage(msg, r.sfCase, info)
					if err != nil {
						errs[ri][ei] = err
						break
					}
					idx[msg.ID] = len(records)
					recOf[ri][ei] = append(recOf[ri][ei], len(records))
					records = append(records, rec.Fields)
				}
			}
		}
		if len(records) == 0 {
			return nil
		}
		results, err = conn.Client.CollectionsUpsert(ctx, mm.Object, mm.ExternalIDField, records, false)
		d.budget.ObserveClient(conn.Client)
		return err
	})

	var outs []outcome
	for ri, r := range u.runs {
		for ei, e := range r.entries {
			var err error
			if errs != nil {
				err = errs[ri][ei]
			}
			if err == nil && callErr != nil {
				err = callErr
			}
			if err == nil && recOf != nil {
				err = worst(results, recOf[ri][ei])
			}
			outs = append(outs, outcome{entry: e, run: r, msgs: r.msgs[ei], err: err})
		}
	}
	done := d.settle(ctx, outs)
	if callErr == nil {
		pushed := 0
		for _, res := range results {
			if res.Success {
				pushed++
			}
		}
		d.metrics.messagesPushed(pushed)
	}
	if len(done) == 0 {
		return outs
	}
	ids := make([]uint64, len(done))
	for i, o := range done {
		ids[i] = o.entry.ID
	}
	if err := d.store.OutboxDone(context.WithoutCancel(ctx), ids); err != nil {
		d.log.Error("outbox: completing delivered entries (they will be delivered again)", "err", err)
		return outs
	}
	now := d.now()
	for _, o := range done {
		if o.entry.Kind == care.OpPushMessage {
			for _, msg := range o.msgs {
				d.metrics.observePushLag(now.Sub(msg.CreatedAt))
			}
		}
	}
	return outs
}

// worst is the outcome of an entry from its records' results: the first
// error that is not retryable, else the first retryable one, else nil.
func worst(results []salesforce.SaveResult, idx []int) error {
	var retry error
	for _, j := range idx {
		if j >= len(results) || results[j].Success {
			continue
		}
		err := results[j].Err
		if err == nil {
			err = errNoResult
		}
		if salesforce.Classify(err) == salesforce.NotRetryable {
			return err
		}
		if retry == nil {
			retry = err
		}
	}
	return retry
}

// caseObject is the Salesforce object linked cases live in.
func caseObject(m *mapping.Mapping) string {
	if m != nil && m.Case != nil && m.Case.Object != "" {
		return m.Case.Object
	}
	return "Case"
}

// statusField is the Salesforce field the status sync writes and reads.
func statusField(m *mapping.Mapping) string {
	if m != nil && m.Status != nil && m.Status.SalesforceField != "" {
		return m.Status.SalesforceField
	}
	return "Status"
}

// deliverStatus sets the status of the unit's cases in one sObject
// Collections update and records each value on its Care case.
func (d *Deliverer) deliverStatus(ctx context.Context, u *unit) []outcome {
	object, field := caseObject(u.m), statusField(u.m)
	recOf := make([]int, len(u.runs))
	var results []salesforce.SaveResult
	callErr := d.tokens.DoBackground(ctx, func(conn *tokens.Conn) error {
		var records []map[string]any
		results = nil
		for i, r := range u.runs {
			recOf[i] = -1
			if r.prep[0] == nil {
				recOf[i] = len(records)
				records = append(records, map[string]any{"Id": r.sfCase, field: r.value})
			}
		}
		if len(records) == 0 {
			return nil
		}
		var err error
		results, err = conn.Client.CollectionsUpdate(ctx, object, records, false)
		d.budget.ObserveClient(conn.Client)
		return err
	})
	var outs []outcome
	for i, r := range u.runs {
		err := r.prep[0]
		if err == nil {
			err = callErr
		}
		if err == nil {
			err = worst(results, []int{recOf[i]})
		}
		for _, e := range r.entries {
			outs = append(outs, outcome{entry: e, run: r, err: err})
		}
	}
	done := d.settle(ctx, outs)
	byRun := map[*caseRun][]uint64{}
	var order []*caseRun
	for _, o := range done {
		if _, ok := byRun[o.run]; !ok {
			order = append(order, o.run)
		}
		byRun[o.run] = append(byRun[o.run], o.entry.ID)
	}
	for _, r := range order {
		value := r.value
		_, err := d.store.OutboxDoneWith(context.WithoutCancel(ctx), byRun[r], r.caseID, func(c *care.Case) {
			c.Salesforce.Status = value
		})
		if err != nil {
			d.log.Error("outbox: recording a delivered status (it will be sent again)", "case", r.caseID, "err", err)
			continue
		}
		last := r.entries[len(r.entries)-1]
		d.metrics.statusSynced(DirectionToSalesforce, d.now().Sub(last.CreatedAt))
	}
	return outs
}

// deliverEscalate runs one automatic escalation. The escalator takes a
// case linked already (an earlier run succeeded before the entry was
// completed) as done.
func (d *Deliverer) deliverEscalate(ctx context.Context, u *unit) []outcome {
	r := u.runs[0]
	e := r.entries[0]
	err := errNoEscalator
	if d.escalator != nil {
		err = d.escalator.EscalateAutomatically(ctx, r.caseID, e.Actor)
	}
	outs := []outcome{{entry: e, run: r, err: err}}
	if done := d.settle(ctx, outs); len(done) > 0 {
		if err := d.store.OutboxDone(context.WithoutCancel(ctx), []uint64{e.ID}); err != nil {
			d.log.Error("outbox: completing an escalation", "case", r.caseID, "err", err)
		}
	}
	return outs
}

// settle records the outcome of entries that did not succeed: retryable
// ones are scheduled again with backoff, refused ones move to failed with
// Salesforce's message; entries refused for want of a token (Auth) or of
// API quota (REQUEST_LIMIT_EXCEEDED), or whose delivery was cancelled by
// a shutdown, are left as they are, their attempt not counted, while the
// deliverer parks or pauses. It returns the successful outcomes for the
// caller to complete.
func (d *Deliverer) settle(ctx context.Context, outs []outcome) []outcome {
	store := context.WithoutCancel(ctx)
	var done []outcome
	retry := map[int][]uint64{}
	retryMsg := map[int]string{}
	var retryOrder []int
	fail := map[string][]uint64{}
	var failOrder []string
	parked, paused := false, false
	for _, o := range outs {
		if o.err == nil {
			done = append(done, o)
			continue
		}
		cls := salesforce.Classify(o.err)
		switch {
		case ctx.Err() != nil && cls != salesforce.NotRetryable:
			// Cancelled by a shutdown: the call's fate is unknown and
			// delivering again is safe.
		case salesforce.LongWait(o.err):
			paused = true
		case cls == salesforce.Auth:
			parked = true
		case cls == salesforce.Retryable:
			a := o.entry.Attempts
			if _, ok := retry[a]; !ok {
				retryOrder = append(retryOrder, a)
				retryMsg[a] = errorText(o.err)
			}
			retry[a] = append(retry[a], o.entry.ID)
		default:
			msg := errorText(o.err)
			if _, ok := fail[msg]; !ok {
				failOrder = append(failOrder, msg)
			}
			fail[msg] = append(fail[msg], o.entry.ID)
			d.log.Warn("outbox: Salesforce refused an operation; it waits in failed",
				slog.Uint64("entry", o.entry.ID), slog.Int64("case", o.entry.CaseID),
				slog.String("kind", string(o.entry.Kind)), slog.String("error", msg))
		}
	}
	if len(done) > 0 {
		d.parks.Store(0)
	}
	if parked {
		d.park()
	}
	if paused {
		d.log.Warn("outbox: Salesforce's daily API quota is spent; background work pauses")
		d.budget.LimitExceeded()
	}
	for _, a := range retryOrder {
		next := d.now().Add(d.retry.Wait(a))
		if err := d.store.OutboxRetry(store, retry[a], next, retryMsg[a]); err != nil {
			d.log.Error("outbox: scheduling a retry", "err", err)
		}
		d.log.Debug("outbox: retry scheduled", slog.Int("entries", len(retry[a])), slog.Int("attempts", a+1),
			slog.Time("next", next), slog.String("error", retryMsg[a]))
	}
	for _, msg := range failOrder {
		if err := d.store.OutboxFail(store, fail[msg], msg); err != nil {
			d.log.Error("outbox: moving refused entries to failed", "err", err)
		}
	}
	return done
}
