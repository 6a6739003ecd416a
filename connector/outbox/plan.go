package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/mapping"
)

// unitKind is what a unit of delivery does.
type unitKind int

const (
	unitMessages unitKind = iota // one sObject Collections upsert of message records
	unitStatus                   // one sObject Collections update of case statuses
	unitEscalate                 // one automatic escalation
	numUnitKinds
)

func (k unitKind) String() string {
	switch k {
	case unitMessages:
		return "messages"
	case unitStatus:
		return "status"
	default:
		return "escalate"
	}
}

// caseRun is the head of one case's queue that a unit delivers: a run of
// consecutive entries of one kind (message pushes and backfills, status
// updates) or one escalation.
type caseRun struct {
	caseID  int64
	sfCase  string // the linked Salesforce case id
	entries []care.OutboxEntry
	// msgs are each entry's messages (message runs); prep holds an error
	// per entry that makes it undeliverable before any call (nil: fine).
	msgs    [][]care.Message
	prep    []error
	records int    // distinct message records (message runs)
	value   string // the status to set: the run's last value (status runs)
}

// ready is when the run's oldest entry became deliverable.
func (r *caseRun) ready() time.Time {
	var t time.Time
	for i, e := range r.entries {
		at := e.CreatedAt
		if e.NextAttemptAt.After(at) {
			at = e.NextAttemptAt
		}
		if i == 0 || at.Before(t) {
			t = at
		}
	}
	return t
}

// unit is one delivery: a batch of case runs for one call, or one
// escalation.
type unit struct {
	kind    unitKind
	m       *mapping.Mapping
	runs    []*caseRun
	records int
	closed  bool // a run did not fit: the batch is as full as it gets
	partial bool // started as a small batch (see DelivererOptions.Linger)
}

// kindOf is the unit kind that delivers an operation.
func kindOf(op care.OpKind) (unitKind, bool) {
	switch op {
	case care.OpBackfill, care.OpPushMessage:
		return unitMessages, true
	case care.OpSetStatus:
		return unitStatus, true
	case care.OpEscalate:
		return unitEscalate, true
	}
	return 0, false
}

// errNotLinked marks entries of a case without a Salesforce case.
var errNotLinked = errors.New("the case has no Salesforce case")

// plan reads the due entries and packs them into units: each case's head
// run, message runs of many cases into upserts of up to BatchSize records,
// status runs into updates, escalations alone. It returns the units to
// start now (their cases claimed), or none and when to look again (zero:
// when something wakes the dispatcher). probe limits the round to one unit
// (one slot).
func (d *Deliverer) plan(ctx context.Context, m *mapping.Mapping, probe bool) ([]*unit, time.Time, error) {
	free, busy, epoch, partialInFlight := d.snapshot()
	if free <= 0 {
		return nil, time.Time{}, nil
	}
	if probe {
		free = 1
	}
	now := d.now()
	due, err := d.store.OutboxDue(ctx, now, d.scan, func(id int64) bool { return busy[id] })
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("outbox due: %w", err)
	}
	var order []int64
	byCase := map[int64][]care.OutboxEntry{}
	for _, e := range due {
		if _, ok := byCase[e.CaseID]; !ok {
			order = append(order, e.CaseID)
		}
		byCase[e.CaseID] = append(byCase[e.CaseID], e)
	}

	var bins [numUnitKinds][]*unit
	var units []*unit
	slots := free
	place := func(kind unitKind, r *caseRun, size int) bool {
		for _, u := range bins[kind] {
			if u.records+size <= d.batch {
				u.runs, u.records = append(u.runs, r), u.records+size
				return true
			}
		}
		for _, u := range bins[kind] {
			u.closed = true // as full as the backlog makes it
		}
		if slots == 0 {
			return false
		}
		slots--
		u := &unit{kind: kind, m: m, runs: []*caseRun{r}, records: size}
		bins[kind] = append(bins[kind], u)
		units = append(units, u)
		return true
	}
	// room reports whether a unit of kind could still take a run: a new
	// one, or one no run was refused by yet. Once a run did not fit and no
	// unit can be opened the kind is done for this round, so the rest of
	// the due list is not loaded only to be turned away.
	room := func(kind unitKind) bool {
		if slots > 0 {
			return true
		}
		for _, u := range bins[kind] {
			if !u.closed && u.records < d.batch {
				return true
			}
		}
		return false
	}
	for _, id := range order {
		es := byCase[id]
		if k, ok := kindOf(es[0].Kind); ok && !room(k) {
			continue // nothing more fits this round
		}
		switch es[0].Kind {
		case care.OpEscalate:
			if slots > 0 {
				slots--
				units = append(units, &unit{kind: unitEscalate, m: m, runs: []*caseRun{{caseID: id, entries: es[:1]}}})
			}
		case care.OpBackfill, care.OpPushMessage:
			r, err := d.messageRun(ctx, id, es)
			if err != nil {
				return nil, time.Time{}, err
			}
			place(unitMessages, r, r.records)
		case care.OpSetStatus:
			r, err := d.statusRun(ctx, id, es)
			if err != nil {
				return nil, time.Time{}, err
			}
			place(unitStatus, r, 1)
		default:
			// Nothing delivers an unknown operation; keep it for a person.
			if err := d.store.OutboxFail(context.WithoutCancel(ctx), []uint64{es[0].ID},
				fmt.Sprintf("unknown outbox operation %q", es[0].Kind)); err != nil {
				return nil, time.Time{}, err
			}
		}
	}

	// A small batch (under three quarters full, and refused by no run for
	// want of room) waits a little for company, one in flight per kind, so
	// a trickle of messages still fills Collections calls.
	var wakeAt time.Time
	startPartial := partialInFlight
	start := units[:0]
	for _, u := range units {
		if u.kind == unitEscalate || u.records >= d.full || u.closed {
			start = append(start, u)
			continue
		}
		oldest := u.runs[0].ready()
		for _, r := range u.runs[1:] {
			if t := r.ready(); t.Before(oldest) {
				oldest = t
			}
		}
		switch {
		case startPartial[u.kind]:
			// Held: the small batch in flight wakes us when it ends.
		case now.Before(oldest.Add(d.linger)):
			if at := oldest.Add(d.linger); wakeAt.IsZero() || at.Before(wakeAt) {
				wakeAt = at
			}
		default:
			u.partial = true
			startPartial[u.kind] = true
			start = append(start, u)
		}
	}
	if len(start) == 0 {
		return nil, wakeAt, nil
	}
	taken, ok := d.take(start, epoch)
	if !ok {
		return nil, now, nil // a claim ended meanwhile: plan again
	}
	return taken, wakeAt, nil
}

// messageRun loads the head run of message pushes and backfills of a case:
// the case's Salesforce id and each entry's messages, up to BatchSize
// distinct records.
func (d *Deliverer) messageRun(ctx context.Context, caseID int64, es []care.OutboxEntry) (*caseRun, error) {
	r := &caseRun{caseID: caseID}
	c, caseErr := d.store.Case(ctx, care.User{}, caseID)
	notFound := care.IsNotFound(caseErr)
	if caseErr != nil && !notFound {
		return nil, fmt.Errorf("load case %d: %w", caseID, caseErr)
	}
	r.sfCase = c.Salesforce.CaseID
	seen := map[string]bool{}
	for _, e := range es {
		if e.Kind != care.OpBackfill && e.Kind != care.OpPushMessage {
			break
		}
		var msgs []care.Message
		var prep error
		switch {
		case notFound:
			prep = fmt.Errorf("case %d: %w", caseID, caseErr)
		case r.sfCase == "":
			prep = fmt.Errorf("case %d: %w", caseID, errNotLinked)
		case c.Salesforce.DeletedAt != nil:
			prep = fmt.Errorf("case %d: %w", caseID, errRecordDeleted)
		case e.Kind == care.OpBackfill:
			var err error
			msgs, err = d.store.RecentMessages(ctx, caseID, BackfillMessages)
			if err != nil {
				return nil, fmt.Errorf("load messages of case %d: %w", caseID, err)
			}
		default:
			msg, err := d.store.Message(ctx, e.MessageID)
			switch {
			case care.IsNotFound(err):
				prep = fmt.Errorf("message %s: %w", e.MessageID, err)
			case err != nil:
				return nil, fmt.Errorf("load message %s: %w", e.MessageID, err)
			default:
				msgs = []care.Message{msg}
			}
		}
		n := 0
		for _, msg := range msgs {
			if !seen[msg.ID] {
				n++
			}
		}
		if len(r.entries) > 0 && r.records+n > d.batch {
			break
		}
		for _, msg := range msgs {
			seen[msg.ID] = true
		}
		r.entries = append(r.entries, e)
		r.msgs = append(r.msgs, msgs)
		r.prep = append(r.prep, prep)
		r.records += n
	}
	return r, nil
}

// statusRun loads the head run of status updates of a case; only its last
// value is sent.
func (d *Deliverer) statusRun(ctx context.Context, caseID int64, es []care.OutboxEntry) (*caseRun, error) {
	r := &caseRun{caseID: caseID}
	for _, e := range es {
		if e.Kind != care.OpSetStatus {
			break
		}
		r.entries = append(r.entries, e)
		r.value = e.Value
	}
	c, err := d.store.Case(ctx, care.User{}, caseID)
	var prep error
	switch {
	case care.IsNotFound(err):
		prep = fmt.Errorf("case %d: %w", caseID, err)
	case err != nil:
		return nil, fmt.Errorf("load case %d: %w", caseID, err)
	case c.Salesforce.CaseID == "":
		prep = fmt.Errorf("case %d: %w", caseID, errNotLinked)
	case c.Salesforce.DeletedAt != nil:
		prep = fmt.Errorf("case %d: %w", caseID, errRecordDeleted)
	case r.value == "":
		prep = fmt.Errorf("case %d: status update without a value", caseID)
	}
	r.sfCase = c.Salesforce.CaseID
	r.prep = make([]error, len(r.entries))
	if prep != nil {
		for i := range r.prep {
			r.prep[i] = prep
		}
	}
	return r, nil
}
