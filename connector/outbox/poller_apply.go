package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/mapping"
)

// consider handles one changed record. A record read again (the overlap,
// or a change event and a poll of the same change) changes nothing: the
// case already holds its value. Whether it was handled before is not
// asked: the org's stamps have whole seconds, so a record the daemon
// wrote since can read back with the stamp and value it had when it was
// passed over (Care's update was newer then) and must be decided again.
func (p *Poller) consider(ctx context.Context, m *mapping.Mapping, ch sfChange, res *PollResult) error {
	c, err := p.store.CaseBySalesforceID(ctx, ch.id)
	switch {
	case care.IsNotFound(err):
		// Not a case of ours.
	case err != nil:
		return fmt.Errorf("case of %s: %w", ch.id, err)
	case ch.value == c.Salesforce.Status:
		// What we wrote, or read already.
	case c.Salesforce.DeletedAt != nil:
		// Found deleted earlier (and restored since): the link is over.
	default:
		if err := p.apply(ctx, m, c, ch, res); err != nil {
			return err
		}
	}
	p.saw(ch)
	return nil
}

// seenOf returns the time of the newest change handled of a record.
func (p *Poller) seenOf(id string) (time.Time, bool) {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	at, ok := p.seen[id]
	return at, ok
}

// saw records a change as handled, unless a later one of the record was.
func (p *Poller) saw(ch sfChange) {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	if at, ok := p.seen[ch.id]; !ok || !at.After(ch.at) {
		p.seen[ch.id] = ch.at
	}
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

// pending lists the case's entries waiting in the outbox. It reads the
// case's pending queue as OutboxDue gives it with every entry due and
// every other case busy: the store then decodes this case's entries alone,
// skipping the rest of a backlog in its compact index.
func (p *Poller) pending(ctx context.Context, caseID int64) ([]care.OutboxEntry, error) {
	queue, err := p.store.OutboxDue(ctx, endOfTime, math.MaxInt, func(id int64) bool { return id != caseID })
	if err != nil {
		return nil, fmt.Errorf("pending work of case %d: %w", caseID, err)
	}
	return queue, nil
}

// pendingStatus lists the case's status updates waiting in the outbox.
func (p *Poller) pendingStatus(ctx context.Context, caseID int64) ([]care.OutboxEntry, error) {
	queue, err := p.pending(ctx, caseID)
	if err != nil {
		return nil, err
	}
	var out []care.OutboxEntry
	for _, e := range queue {
		if e.Kind == care.OpSetStatus {
			out = append(out, e)
		}
	}
	return out, nil
}
