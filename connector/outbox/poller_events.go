package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
)

// Change is one change of a Salesforce case that a change event carried
// (SPEC §15): the status field's value after it, at its commit time.
type Change struct {
	// SalesforceID is the Salesforce case id.
	SalesforceID string
	// Status is the value of the mapping's status field after the change.
	Status string
	// At is the change's commit timestamp, Salesforce's clock.
	At time.Time
}

// StatusField names the Salesforce object linked cases live in and the
// field their status is read from; ok is false while the mapping's status
// mode is not bidirectional, when no Salesforce status is applied.
func (p *Poller) StatusField() (object, field string, ok bool) {
	m := p.mapping()
	if m == nil || !m.Status.Bidirectional() {
		return "", "", false
	}
	return caseObject(m), statusField(m), true
}

// ApplyChange applies one Salesforce status change from a change event by
// the poller's own path: the same maps, no ping-pong (a value the case
// already holds, which is every value the daemon wrote, changes nothing
// and queues nothing), the later of two changes wins. A case that is not
// linked costs one index lookup and no Salesforce call. Applying a change
// again is harmless, so a change event delivered twice is applied once.
// It holds no store transaction across a network call and makes none.
func (p *Poller) ApplyChange(ctx context.Context, ch Change) (PollResult, error) {
	var res PollResult
	m := p.mapping()
	if m == nil || !m.Status.Bidirectional() {
		res.Skipped = true
		return res, nil
	}
	if at, ok := p.seenOf(ch.SalesforceID); ok && at.After(ch.At) {
		res.SkippedNewer++ // a later change of the record was handled
		return res, nil
	}
	if err := p.consider(ctx, m, sfChange{id: ch.SalesforceID, value: ch.Status, at: ch.At}, &res); err != nil {
		return res, fmt.Errorf("outbox: apply change of %s: %w", ch.SalesforceID, err)
	}
	return res, nil
}

// ApplyDeleted records that the Salesforce case id was deleted at at, as
// the poll's deleted-records check does: the linked Care case gains
// salesforce.deleted_at and its waiting Salesforce work fails. A case not
// linked, or marked already, changes nothing.
func (p *Poller) ApplyDeleted(ctx context.Context, id string, at time.Time) (PollResult, error) {
	var res PollResult
	if err := p.markDeleted(ctx, salesforce.DeletedRecord{ID: id, DeletedDate: at}, &res); err != nil {
		return res, fmt.Errorf("outbox: apply delete of %s: %w", id, err)
	}
	return res, nil
}

// SetChangeStream tells the poller whether a change stream delivers
// Salesforce changes: while it is up the poller runs every
// IntervalWithEvents as a safety net, while it is down every Interval.
func (p *Poller) SetChangeStream(up bool) {
	if p.streamUp.Swap(up) != up {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// currentInterval is the interval between polls now.
func (p *Poller) currentInterval() time.Duration {
	if p.streamUp.Load() {
		return p.netEvery
	}
	return p.interval
}

// waitNext waits until the current interval has passed since start,
// measuring again when the change stream goes up or down.
func (p *Poller) waitNext(ctx context.Context, start time.Time) error {
	for {
		d := p.currentInterval() - time.Since(start)
		if d <= 0 {
			return ctx.Err()
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
			return nil
		case <-p.wake:
			t.Stop()
		}
	}
}
