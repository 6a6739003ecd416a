package bolt

import (
	"context"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// The publish outbox (SPEC §16): every reply, recorded in the reply's
// transaction while publishing is on, waits here for the publisher.
//
//	publish           entry id (global order) → publishEntry JSON (pending and failed)
//	publish_pending   entry id → case id, next attempt (pending entries only)
//	publish_messages  message seq → entry id
//	publish_counts    "pending" | "failed" → count, kept in every transaction
//	                  that moves an entry, so the gauges read two keys
//
// A sent entry leaves the outbox; the message keeps its delivery state
// (care.Message.Delivery) and the platform id the publisher answered.

var (
	bucketPublish         = []byte("publish")
	bucketPublishPending  = []byte("publish_pending")
	bucketPublishMessages = []byte("publish_messages")
	bucketPublishCounts   = []byte("publish_counts")
)

// publishEntry is one reply in the publish outbox.
type publishEntry struct {
	ID         uint64             `json:"id"`
	DeliveryID string             `json:"delivery_id"`
	CaseID     int64              `json:"case_id"`
	MessageSeq uint64             `json:"message_seq"`
	InReplyTo  string             `json:"in_reply_to,omitempty"`
	State      care.DeliveryState `json:"state"`
	Attempts   int                `json:"attempts"` // since the last requeue: the backoff's step
	NextAt     time.Time          `json:"next_attempt_at"`
	CreatedAt  time.Time          `json:"created_at"`
}

// addPublishCount moves the count of entries in state which (countPending,
// countFailed) by d.
func addPublishCount(tx *bbolt.Tx, which []byte, d int64) error {
	return addCount(tx.Bucket(bucketPublishCounts), which, d)
}

// movePublishCount counts an entry that left state from for state to.
func movePublishCount(tx *bbolt.Tx, from, to []byte) error {
	if err := addPublishCount(tx, from, -1); err != nil {
		return err
	}
	return addPublishCount(tx, to, 1)
}

// migratePublishCounts counts the publish outbox once, for a store
// written before publish_counts existed.
func migratePublishCounts(tx *bbolt.Tx) error {
	counts := tx.Bucket(bucketPublishCounts)
	if counts.Get(countPending) != nil {
		return nil
	}
	pending := int64(tx.Bucket(bucketPublishPending).Stats().KeyN)
	failed := int64(tx.Bucket(bucketPublish).Stats().KeyN) - pending
	if err := counts.Put(countPending, i64(pending)); err != nil {
		return err
	}
	return counts.Put(countFailed, i64(max(failed, 0)))
}

// putPublishEntry stores e and keeps the pending index in step with it.
func putPublishEntry(tx *bbolt.Tx, e *publishEntry) error {
	if err := putJSON(tx.Bucket(bucketPublish), u64(e.ID), e); err != nil {
		return err
	}
	return setPending(tx, bucketPublishPending, e.ID, e.CaseID, e.NextAt, e.State == care.DeliveryPending)
}

func getPublishEntry(tx *bbolt.Tx, id uint64) (*publishEntry, bool, error) {
	var e publishEntry
	ok, err := getJSON(tx.Bucket(bucketPublish), u64(id), &e)
	return &e, ok, err
}

// enqueuePublish records m, just stored under seq, for the publisher when
// it is a reply and publishing is on; m's stored record gains its pending
// delivery. It runs in the reply's transaction.
func (s *Store) enqueuePublish(tx *bbolt.Tx, m *care.Message, seq uint64, now time.Time) error {
	if !s.publishing || !m.Publishes() {
		return nil
	}
	b := tx.Bucket(bucketPublish)
	b.FillPercent = appendFill
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	e := publishEntry{ID: id, DeliveryID: care.NewExternalKey(now), CaseID: m.CaseID, MessageSeq: seq,
		State: care.DeliveryPending, NextAt: now, CreatedAt: now}
	prior, err := latestMessages(tx, m.CaseID, nil, 1, 0, func(p *care.Message) bool {
		return p.Direction == care.Inbound && p.Kind == care.KindMessage && p.ExternalID != ""
	})
	if err != nil {
		return err
	}
	if len(prior) > 0 {
		e.InReplyTo = prior[0].ExternalID
	}
	if err := putPublishEntry(tx, &e); err != nil {
		return err
	}
	if err := addPublishCount(tx, countPending, 1); err != nil {
		return err
	}
	if err := tx.Bucket(bucketPublishMessages).Put(u64(seq), u64(id)); err != nil {
		return err
	}
	m.Delivery = &care.Delivery{State: care.DeliveryPending}
	return putJSON(tx.Bucket(bucketMessages), u64(seq), m)
}

// PublishSignal receives a value after a reply was recorded or requeued,
// so the publisher need not poll.
func (s *Store) PublishSignal() <-chan struct{} { return s.publishSignal }

// signalPublisher wakes the publisher when m waits for it.
func (s *Store) signalPublisher(m *care.Message) {
	if m == nil || m.Delivery == nil || m.Delivery.State != care.DeliveryPending {
		return
	}
	select {
	case s.publishSignal <- struct{}{}:
	default:
	}
}

// PublishDue returns up to max replies the publisher may send at now,
// oldest first, at most one per case: a case's reply waits until the one
// before it was sent or failed, and a case busy reports (in delivery) is
// skipped.
func (s *Store) PublishDue(ctx context.Context, now time.Time, max int, busy func(caseID int64) bool) ([]care.Publication, error) {
	var out []care.Publication
	err := s.view(func(tx *bbolt.Tx) error {
		for _, h := range dueHeads(tx, bucketPublishPending, now, max, 1, busy) {
			p, err := s.publication(tx, h.id)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// publication assembles what the publisher sends for entry id.
func (s *Store) publication(tx *bbolt.Tx, id uint64) (care.Publication, error) {
	e, ok, err := getPublishEntry(tx, id)
	if err != nil || !ok {
		return care.Publication{}, orNotFound(err, "publish entry %d not found", id)
	}
	m, err := getMessage(tx, e.MessageSeq)
	if err != nil {
		return care.Publication{}, err
	}
	cust, err := findCustomer(tx, m.CustomerID)
	if err != nil {
		return care.Publication{}, err
	}
	p := care.Publication{ID: e.ID, DeliveryID: e.DeliveryID, CaseID: e.CaseID, Message: *m,
		InReplyTo: e.InReplyTo, Attempts: e.Attempts, CreatedAt: e.CreatedAt}
	if cust != nil {
		p.Customer = *cust
	}
	return p, nil
}

func orNotFound(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return care.Errorf(care.CodeNotFound, format, args...)
}

// NextPublishAttempt returns when the earliest pending reply becomes due
// (zero when there is none).
func (s *Store) NextPublishAttempt(ctx context.Context) (time.Time, error) {
	return s.nextAttempt(bucketPublishPending)
}

// PublishSent records the publisher's acceptance of entry id: the entry
// leaves the outbox and the message is sent, with externalID (when given
// and not already another message's on its platform) as its platform id.
// An entry already gone (recorded twice) is no error.
func (s *Store) PublishSent(ctx context.Context, id uint64, externalID string) error {
	return s.settlePublish(ctx, id, func(tx *bbolt.Tx, e *publishEntry, m *care.Message, d *care.Delivery) error {
		d.State, d.Error = care.DeliverySent, ""
		if externalID != "" && m.ExternalID == "" {
			key := externalKey(m.Platform, externalID)
			if tx.Bucket(bucketExternalIDs).Get(key) == nil {
				m.ExternalID = externalID
				ext := externalEntry{seq: e.MessageSeq, caseID: m.CaseID, event: care.EventAppended}
				if err := tx.Bucket(bucketExternalIDs).Put(key, ext.bytes()); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bucketPublish).Delete(u64(e.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPublishPending).Delete(u64(e.ID)); err != nil {
			return err
		}
		if err := addPublishCount(tx, countPending, -1); err != nil {
			return err
		}
		return tx.Bucket(bucketPublishMessages).Delete(u64(e.MessageSeq))
	})
}

// PublishRetry schedules entry id for another attempt at next, noting the
// transient error that stopped this one.
func (s *Store) PublishRetry(ctx context.Context, id uint64, next time.Time, reason string) error {
	return s.settlePublish(ctx, id, func(tx *bbolt.Tx, e *publishEntry, _ *care.Message, d *care.Delivery) error {
		e.Attempts++
		e.NextAt = next
		d.Error = clipDeliveryError(reason)
		return putPublishEntry(tx, e)
	})
}

// PublishFail fails entry id with the publisher's refusal: it waits for a
// person to retry it (RetryDelivery).
func (s *Store) PublishFail(ctx context.Context, id uint64, reason string) error {
	return s.settlePublish(ctx, id, func(tx *bbolt.Tx, e *publishEntry, _ *care.Message, d *care.Delivery) error {
		e.Attempts++
		e.State = care.DeliveryFailed
		d.State, d.Error = care.DeliveryFailed, clipDeliveryError(reason)
		if err := movePublishCount(tx, countPending, countFailed); err != nil {
			return err
		}
		return putPublishEntry(tx, e)
	})
}

// settlePublish records an attempt's outcome on a pending entry and its
// message in one transaction. An entry no longer pending (settled twice)
// is left alone.
func (s *Store) settlePublish(ctx context.Context, id uint64, fn func(tx *bbolt.Tx, e *publishEntry, m *care.Message, d *care.Delivery) error) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		e, ok, err := getPublishEntry(tx, id)
		if err != nil || !ok || e.State != care.DeliveryPending {
			return err
		}
		m, err := getMessage(tx, e.MessageSeq)
		if err != nil {
			return err
		}
		d := care.Delivery{State: care.DeliveryPending}
		if m.Delivery != nil {
			d = *m.Delivery
		}
		d.Attempts++
		if err := fn(tx, e, m, &d); err != nil {
			return err
		}
		m.Delivery = &d
		if err := putJSON(tx.Bucket(bucketMessages), u64(e.MessageSeq), m); err != nil {
			return err
		}
		return s.recordDelivery(tx, e.CaseID)
	})
}

// recordDelivery tells OnCommit (the console's live feed) that a reply of
// the case changed its delivery: a case.updated event without a change to
// the case, on which an open case page refreshes its messages.
func (s *Store) recordDelivery(tx *bbolt.Tx, caseID int64) error {
	c, err := getCase(tx, caseID)
	if err != nil {
		return err
	}
	s.record(care.Change{Before: c, After: *c})
	return nil
}

// clipDeliveryError bounds an error kept on a delivery to
// care.MaxDeliveryError bytes, cut on a character boundary.
func clipDeliveryError(s string) string {
	if len(s) <= care.MaxDeliveryError {
		return s
	}
	cut := care.MaxDeliveryError
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}

// RetryDelivery requeues a reply the publisher refused, due at once: the
// case's assignee or a supervisor may (403 otherwise); a reply not failed
// is a conflict. Every attempt keeps the reply's delivery id.
func (s *Store) RetryDelivery(ctx context.Context, actor care.User, caseID int64, messageID string) (care.Message, error) {
	var out care.Message
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		c, err := getCase(tx, caseID)
		if err != nil {
			return err
		}
		if err := care.CheckRetryDelivery(actor, c); err != nil {
			return err
		}
		seq, ok := s.messageSeq(messageID)
		var m *care.Message
		if ok {
			m, err = getMessage(tx, seq)
		}
		if !ok || care.IsNotFound(err) || (err == nil && m.CaseID != caseID) {
			return care.Errorf(care.CodeNotFound, "message %s not found in case %d", messageID, caseID)
		}
		if err != nil {
			return err
		}
		v := tx.Bucket(bucketPublishMessages).Get(u64(seq))
		if m.Delivery == nil || m.Delivery.State != care.DeliveryFailed || len(v) != 8 {
			return care.Errorf(care.CodeConflict, "message %s is not a failed reply", messageID)
		}
		e, ok, err := getPublishEntry(tx, getU64(v))
		if err != nil || !ok {
			return orNotFound(err, "publish entry of message %s not found", messageID)
		}
		now := s.now()
		e.State, e.Attempts, e.NextAt = care.DeliveryPending, 0, now
		if err := putPublishEntry(tx, e); err != nil {
			return err
		}
		if err := movePublishCount(tx, countFailed, countPending); err != nil {
			return err
		}
		m.Delivery.State = care.DeliveryPending
		if err := putJSON(tx.Bucket(bucketMessages), u64(seq), m); err != nil {
			return err
		}
		out = *m
		s.record(care.Change{Actor: actor, Before: c, After: *c})
		return nil
	})
	if err == nil {
		s.signalPublisher(&out)
	}
	return out, err
}

// PublishStats counts the replies waiting for the publisher and those it
// refused, and ages the oldest waiting one: two counter keys and the
// first key of the pending index read, however long the outbox (a
// scrape's gauges). Entry ids grow with time, so the first pending entry
// is the reply written longest ago of those still waiting.
func (s *Store) PublishStats(ctx context.Context) (care.PublishStats, error) {
	return s.queueStats(bucketPublishCounts, bucketPublishPending, func(tx *bbolt.Tx, id uint64) (time.Time, error) {
		e, ok, err := getPublishEntry(tx, id)
		if err != nil || !ok {
			return time.Time{}, orNotFound(err, "publish entry %d not found", id)
		}
		return e.CreatedAt, nil
	})
}
