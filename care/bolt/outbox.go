package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The outbox: Salesforce side effects recorded in the same transaction as
// the Care change that caused them, delivered later by the connector.
//
//	outbox          entry id (global order) → OutboxEntry JSON (pending and failed)
//	outbox_pending  entry id → case id, next attempt (pending entries only)
//	outbox_counts   "pending" | "failed" → count
//
// The due list and the next attempt are read from outbox_pending, 16 bytes
// an entry, so a backlog of many thousand entries (a long Salesforce outage)
// is scanned without decoding them.

var (
	bucketOutbox        = []byte("outbox")
	bucketOutboxPending = []byte("outbox_pending")
	bucketOutboxCounts  = []byte("outbox_counts")
)

// putEntry stores e and keeps the pending index in step with its state.
func putEntry(tx *bbolt.Tx, e *care.OutboxEntry) error {
	if err := putJSON(tx.Bucket(bucketOutbox), u64(e.ID), e); err != nil {
		return err
	}
	return setPending(tx, bucketOutboxPending, e.ID, e.CaseID, e.NextAttemptAt, e.State == care.OutboxPending)
}

// pendingHead is what the pending index keeps of an entry.
type pendingHead struct {
	id     uint64
	caseID int64
	next   uint64 // care.TimeKey of the next attempt
}

func readHead(k, v []byte) (pendingHead, bool) {
	if len(k) != 8 || len(v) != 16 {
		return pendingHead{}, false
	}
	return pendingHead{id: getU64(k), caseID: int64(getU64(v[:8])), next: getU64(v[8:])}, true
}

// rebuildPendingIndex makes the pending index from the entries, for a
// store written before the index existed (or damaged by hand).
func rebuildPendingIndex(tx *bbolt.Tx) error {
	if err := tx.DeleteBucket(bucketOutboxPending); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	if _, err := tx.CreateBucket(bucketOutboxPending); err != nil {
		return err
	}
	return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
		var e care.OutboxEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		if e.State != care.OutboxPending {
			return nil
		}
		return putEntry(tx, &e)
	})
}

var (
	countPending = []byte(care.OutboxPending)
	countFailed  = []byte(care.OutboxFailed)
)

func addOutboxCount(tx *bbolt.Tx, which []byte, d int64) error {
	return addCount(tx.Bucket(bucketOutboxCounts), which, d)
}

// OutboxSignal receives a value after commits that recorded or requeued
// outbox entries, so the deliverer need not poll.
func (s *Store) OutboxSignal() <-chan struct{} { return s.outboxSignal }

func (s *Store) signalOutbox() {
	select {
	case s.outboxSignal <- struct{}{}:
	default:
	}
}

// enqueue records ops as pending outbox entries.
func (s *Store) enqueue(tx *bbolt.Tx, ops []care.OutboxOp, now time.Time) error {
	if len(ops) == 0 {
		return nil
	}
	s.enqueued.Store(true)
	b := tx.Bucket(bucketOutbox)
	b.FillPercent = appendFill
	for _, op := range ops {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e := care.OutboxEntry{ID: seq, OutboxOp: op, State: care.OutboxPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := putEntry(tx, &e); err != nil {
			return err
		}
		if err := addOutboxCount(tx, countPending, 1); err != nil {
			return err
		}
	}
	return nil
}

// effectsOf decides a change's side effects. The Salesforce status they
// ask for is noted on after (WantStatus), so that the next change compares
// against it rather than against a value still on its way. Call it before
// after is stored, and enqueue the ops in the same transaction.
func (s *Store) effectsOf(ch care.Change, after *care.Case) []care.OutboxOp {
	if s.effects == nil {
		return nil
	}
	ops := s.effects.Effects(ch)
	for _, op := range ops {
		if op.Kind == care.OpSetStatus && op.CaseID == after.ID {
			after.Salesforce.WantStatus = op.Value
		}
	}
	return ops
}

func getEntry(tx *bbolt.Tx, id uint64) (*care.OutboxEntry, error) {
	return getRecord[care.OutboxEntry](tx, bucketOutbox, u64(id), "outbox entry %d not found", id)
}

// OutboxDue returns up to max pending entries that may be delivered at now,
// oldest first, keeping each case's order: for every case only the entries
// before its first entry that is not yet due (or whose case busy reports as
// in delivery) are returned, so a case's entries form a prefix of its queue.
func (s *Store) OutboxDue(ctx context.Context, now time.Time, max int, busy func(caseID int64) bool) ([]care.OutboxEntry, error) {
	var out []care.OutboxEntry
	err := s.view(func(tx *bbolt.Tx) error {
		for _, h := range dueHeads(tx, bucketOutboxPending, now, max, 0, busy) {
			e, err := getEntry(tx, h.id)
			if err != nil {
				return err
			}
			out = append(out, *e)
		}
		return nil
	})
	return out, err
}

// NextOutboxAttempt returns when the earliest pending entry becomes due
// (zero when there is none).
func (s *Store) NextOutboxAttempt(ctx context.Context) (time.Time, error) {
	return s.nextAttempt(bucketOutboxPending)
}

// OutboxDone removes delivered entries.
func (s *Store) OutboxDone(ctx context.Context, ids []uint64) error {
	return s.update(ctx, func(tx *bbolt.Tx) error { return s.removeEntries(tx, ids) })
}

func (s *Store) removeEntries(tx *bbolt.Tx, ids []uint64) error {
	b := tx.Bucket(bucketOutbox)
	for _, id := range ids {
		e, err := getEntry(tx, id)
		if care.IsNotFound(err) {
			continue // delivered twice: already gone
		}
		if err != nil {
			return err
		}
		if err := b.Delete(u64(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutboxPending).Delete(u64(id)); err != nil {
			return err
		}
		if err := addOutboxCount(tx, []byte(e.State), -1); err != nil {
			return err
		}
	}
	return nil
}

// OutboxDoneWith removes delivered entries and changes their case in the
// same transaction (recording the Salesforce case an escalation created, or
// the status it wrote); the change's own side effects are recorded too.
func (s *Store) OutboxDoneWith(ctx context.Context, ids []uint64, caseID int64, fn func(c *care.Case)) (care.Case, error) {
	c, _, err := s.modifyCase(ctx, care.User{}, caseID, func(tx *bbolt.Tx, c *care.Case, now time.Time) (*care.Message, error) {
		// Existence of every entry is not a domain check: an entry already
		// delivered is simply skipped by removeEntries.
		fn(c)
		c.UpdatedAt = now
		return nil, nil
	}, func(tx *bbolt.Tx) error { return s.removeEntries(tx, ids) })
	return c, err
}

// OutboxRetry schedules entries for another attempt at next, recording the
// error that stopped this one.
func (s *Store) OutboxRetry(ctx context.Context, ids []uint64, next time.Time, msg string) error {
	return s.updateEntries(ctx, ids, func(e *care.OutboxEntry, now time.Time) {
		e.Attempts++
		e.NextAttemptAt = next
		e.LastError = msg
	})
}

// OutboxFail moves entries to failed: Salesforce refused them and only a
// person (after fixing the mapping) can retry them.
func (s *Store) OutboxFail(ctx context.Context, ids []uint64, msg string) error {
	return s.updateEntries(ctx, ids, func(e *care.OutboxEntry, now time.Time) {
		e.Attempts++
		e.State = care.OutboxFailed
		e.LastError = msg
	})
}

// OutboxRequeue makes a failed entry pending again, due at once.
func (s *Store) OutboxRequeue(ctx context.Context, id uint64) (care.OutboxEntry, error) {
	var out care.OutboxEntry
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		e, err := getEntry(tx, id)
		if err != nil {
			return err
		}
		if e.State != care.OutboxFailed {
			return care.Errorf(care.CodeConflict, "outbox entry %d is %s, not failed", id, e.State)
		}
		now := s.now()
		e.State, e.Attempts, e.NextAttemptAt, e.UpdatedAt = care.OutboxPending, 0, now, now
		s.enqueued.Store(true)
		if err := putEntry(tx, e); err != nil {
			return err
		}
		if err := addOutboxCount(tx, countFailed, -1); err != nil {
			return err
		}
		out = *e
		return addOutboxCount(tx, countPending, 1)
	})
	return out, err
}

func (s *Store) updateEntries(ctx context.Context, ids []uint64, fn func(e *care.OutboxEntry, now time.Time)) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		now := s.now()
		for _, id := range ids {
			e, err := getEntry(tx, id)
			if care.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			was := e.State
			fn(e, now)
			e.UpdatedAt = now
			if err := putEntry(tx, e); err != nil {
				return err
			}
			if was != e.State {
				if err := addOutboxCount(tx, []byte(was), -1); err != nil {
					return err
				}
				if err := addOutboxCount(tx, []byte(e.State), 1); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// OutboxList returns up to limit entries in a state, oldest first.
func (s *Store) OutboxList(ctx context.Context, state care.OutboxState, limit int) ([]care.OutboxEntry, error) {
	out := []care.OutboxEntry{}
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var e care.OutboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if e.State == state {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// OutboxStats counts pending and failed entries and ages the oldest pending.
func (s *Store) OutboxStats(ctx context.Context) (care.OutboxStats, error) {
	return s.queueStats(bucketOutboxCounts, bucketOutboxPending, func(tx *bbolt.Tx, id uint64) (time.Time, error) {
		e, err := getEntry(tx, id)
		return e.CreatedAt, err
	})
}

// queueStats reads a queue's pending and failed counters from the bucket
// counts and the age of its oldest pending entry: the first key of the
// bucket pending (entry ids grow with time), written at written(id). One
// read transaction; the same work whatever the backlog.
func (s *Store) queueStats(counts, pending []byte, written func(tx *bbolt.Tx, id uint64) (time.Time, error)) (care.QueueStats, error) {
	var st care.QueueStats
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(counts)
		if v := c.Get(countPending); v != nil {
			st.Pending = int64(getU64(v))
		}
		if v := c.Get(countFailed); v != nil {
			st.Failed = int64(getU64(v))
		}
		k, _ := tx.Bucket(pending).Cursor().First()
		if k == nil {
			return nil
		}
		at, err := written(tx, getU64(k))
		if err != nil {
			return err
		}
		st.OldestAge = max(s.now().Sub(at), 0)
		return nil
	})
	return st, err
}

// RecentMessages returns up to n of a case's latest messages (notes left
// out), oldest first: what a backfill pushes.
func (s *Store) RecentMessages(ctx context.Context, caseID int64, n int) ([]care.Message, error) {
	return viewGet(s, func(tx *bbolt.Tx) ([]care.Message, error) {
		return latestMessages(tx, caseID, nil, n, 0, func(m *care.Message) bool { return m.Kind != care.KindNote })
	})
}

// Message returns one message by id.
func (s *Store) Message(ctx context.Context, id string) (care.Message, error) {
	seq, ok := s.messageSeq(id)
	if !ok {
		return care.Message{}, care.Errorf(care.CodeNotFound, "message %s not found", id)
	}
	return viewRecord(s, func(tx *bbolt.Tx) (*care.Message, error) { return getMessage(tx, seq) })
}
