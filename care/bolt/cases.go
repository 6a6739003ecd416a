package bolt

import (
	"context"
	"maps"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// Ingest takes in a social message: it joins the open case of its
// (customer, profile) pair, reopening it when the case waited for the
// customer, or is kept without a case. A replay answers the first result.
func (s *Store) Ingest(ctx context.Context, actor care.User, in care.IncomingMessage) (care.IngestResult, error) {
	if actor.Role != care.RoleIntegration && actor.Role != care.RoleSupervisor {
		return care.IngestResult{}, care.Errorf(care.CodeForbidden, "only integration users and supervisors ingest messages")
	}
	now := s.now()
	if err := in.Validate(now); err != nil {
		return care.IngestResult{}, err
	}
	var res care.IngestResult
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if e, ok := lookupExternal(tx, in.Platform, in.ExternalID); ok {
			m, err := getMessage(tx, e.seq)
			if err != nil {
				return err
			}
			res = care.IngestResult{Message: *m, CaseID: e.caseID, Event: e.event}
			return nil
		}
		cust, custChanged, err := customerFor(tx, in.Platform, in.Customer, now)
		if err != nil {
			return err
		}
		var open *care.Case
		if cust.ID != 0 {
			if open, err = s.openCaseOf(tx, cust.ID, in.ProfileID, now); err != nil {
				return err
			}
		}
		if custChanged {
			if err := s.putCustomer(tx, cust); err != nil {
				return err
			}
		}
		m := s.incomingMessage(in, cust, now)
		ev := care.EventNone
		var before care.Case
		if open != nil {
			before = *open
			ev = s.policy.Join(open, m, now)
		}
		seq, err := s.putMessage(tx, m, 0, nil)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketExternalIDs).Put(externalKey(in.Platform, in.ExternalID),
			externalEntry{seq: seq, caseID: m.CaseID, event: ev}.bytes()); err != nil {
			return err
		}
		if open != nil {
			ops := s.effectsOf(care.Change{Actor: actor, Before: &before, After: *open, Message: m}, open)
			s.policy.SLA.Track(&before, open, m, now)
			if err := s.putCase(tx, &before, open); err != nil {
				return err
			}
			if err := s.enqueue(tx, ops, now); err != nil {
				return err
			}
			s.record(care.Change{Actor: actor, Before: &before, After: *open, Message: m})
		}
		res = care.IngestResult{Message: *m, CaseID: m.CaseID, Event: ev}
		return nil
	})
	return res, err
}

// Escalate makes a Care case of a Community message, or adds the message to
// the open case of its pair.
func (s *Store) Escalate(ctx context.Context, actor care.User, in care.EscalateInput) (care.EscalateResult, error) {
	now := s.now()
	if err := in.Validate(now); err != nil {
		return care.EscalateResult{}, err
	}
	var res care.EscalateResult
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		var m, stored *care.Message
		var seq uint64
		if e, ok := lookupExternal(tx, in.Message.Platform, in.Message.ExternalID); ok {
			var err error
			if stored, err = getMessage(tx, e.seq); err != nil {
				return err
			}
			if stored.CaseID != 0 {
				c, err := getCase(tx, stored.CaseID)
				if err != nil {
					return err
				}
				if in.Salesforce && c.Salesforce.CaseID == "" {
					ops := s.effectsOf(care.Change{Actor: actor, Before: c, After: *c, EscalateToSalesforce: true}, c)
					if err := s.enqueue(tx, ops, now); err != nil {
						return err
					}
				}
				res = care.EscalateResult{Case: *c}
				return withCustomer(tx, &res.Case)
			}
			seq = e.seq
			cp := *stored
			m = &cp
		}
		cust, custChanged, err := customerFor(tx, in.Message.Platform, in.Message.Customer, now)
		if err != nil {
			return err
		}
		var open *care.Case
		if cust.ID != 0 {
			if open, err = s.openCaseOf(tx, cust.ID, in.Message.ProfileID, now); err != nil {
				return err
			}
		}
		if custChanged {
			if err := s.putCustomer(tx, cust); err != nil {
				return err
			}
		}
		if m == nil {
			m = s.incomingMessage(in.Message, cust, now)
		}
		var before *care.Case
		created := open == nil
		ev := care.EventAppended
		if open != nil {
			b := *open
			before = &b
			ev = s.policy.Join(open, m, now)
		} else {
			open = &care.Case{
				Status: care.StatusNew, Priority: in.Priority, Sentiment: care.SentimentNone,
				ProfileID: in.Message.ProfileID, Platform: in.Message.Platform, CustomerID: cust.ID,
				Fields: in.Fields, CreatedAt: now, UpdatedAt: now,
			}
			if open.Fields == nil {
				open.Fields = map[string]string{}
			}
			if err := assignCaseID(tx, open); err != nil {
				return err
			}
			s.policy.Join(open, m, now)
		}
		if seq, err = s.putMessage(tx, m, seq, stored); err != nil {
			return err
		}
		if err := tx.Bucket(bucketExternalIDs).Put(externalKey(m.Platform, m.ExternalID),
			externalEntry{seq: seq, caseID: m.CaseID, event: ev}.bytes()); err != nil {
			return err
		}
		if err := s.routeCase(tx, before, open, now); err != nil {
			return err
		}
		ops := s.effectsOf(care.Change{Actor: actor, Before: before, After: *open, Message: m,
			EscalateToSalesforce: in.Salesforce}, open)
		s.policy.SLA.Track(before, open, m, now)
		if err := s.putCase(tx, before, open); err != nil {
			return err
		}
		if created || ev == care.EventReopened {
			if err := claimPair(tx, before, open); err != nil {
				return err
			}
		}
		if err := s.enqueue(tx, ops, now); err != nil {
			return err
		}
		s.record(care.Change{Actor: actor, Before: before, After: *open, Message: m, EscalateToSalesforce: in.Salesforce})
		res = care.EscalateResult{Case: *open, Created: created}
		return withCustomer(tx, &res.Case)
	})
	return res, err
}

// Case returns one case.
func (s *Store) Case(ctx context.Context, actor care.User, id int64) (care.Case, error) {
	return viewRecord(s, func(tx *bbolt.Tx) (*care.Case, error) {
		c, err := getCase(tx, id)
		if err != nil {
			return nil, err
		}
		return c, withCustomer(tx, c)
	})
}

// modifyCase loads a case, lets fn change it, and stores it with its index
// entries, pair claim and side effects in one transaction.
func (s *Store) modifyCase(ctx context.Context, actor care.User, id int64, fn func(tx *bbolt.Tx, c *care.Case, now time.Time) (*care.Message, error), extra ...func(tx *bbolt.Tx) error) (care.Case, *care.Message, error) {
	return s.modifyCaseAs(ctx, care.Change{Actor: actor}, id, fn, extra...)
}

// modifyCaseAs is modifyCase for a change described by proto (actor,
// whether it came from Salesforce). extra runs after every check passed,
// in the same transaction.
func (s *Store) modifyCaseAs(ctx context.Context, proto care.Change, id int64, fn func(tx *bbolt.Tx, c *care.Case, now time.Time) (*care.Message, error), extra ...func(tx *bbolt.Tx) error) (care.Case, *care.Message, error) {
	var out care.Case
	var msg *care.Message
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		now := s.now()
		before, err := getCase(tx, id)
		if err != nil {
			return err
		}
		after := *before
		after.Fields = maps.Clone(before.Fields)
		m, err := fn(tx, &after, now)
		if err != nil {
			return err
		}
		claim, err := s.checkPairClaim(tx, before, &after, now)
		if err != nil {
			return err
		}
		// Every check passed: only writes from here on.
		if m != nil {
			seq, err := s.putMessage(tx, m, 0, nil)
			if err != nil {
				return err
			}
			if err := s.enqueuePublish(tx, m, seq, now); err != nil {
				return err
			}
			if err := s.indexMentions(tx, m, before.Status); err != nil {
				return err
			}
		}
		if proto.FromSalesforce && after.Salesforce.Status != before.Salesforce.Status {
			// Salesforce moved on: what Care asked for before is history.
			after.Salesforce.WantStatus = ""
		}
		if err := s.routeCase(tx, before, &after, now); err != nil {
			return err
		}
		ch := proto
		ch.Before, ch.After, ch.Message = before, after, m
		ops := s.effectsOf(ch, &after)
		s.policy.SLA.Track(before, &after, m, now)
		if err := s.putCase(tx, before, &after); err != nil {
			return err
		}
		if claim {
			if err := claimPair(tx, before, &after); err != nil {
				return err
			}
		}
		for _, fn := range extra {
			if err := fn(tx); err != nil {
				return err
			}
		}
		if err := s.enqueue(tx, ops, now); err != nil {
			return err
		}
		ch.After = after
		s.record(ch)
		if err := s.routeFreed(tx, before, &after, now); err != nil {
			return err
		}
		out, msg = after, m
		return withCustomer(tx, &out)
	})
	return out, msg, err
}

// PatchCase changes a case's properties.
func (s *Store) PatchCase(ctx context.Context, actor care.User, id int64, p care.CasePatch) (care.Case, error) {
	c, _, err := s.modifyCase(ctx, actor, id, func(_ *bbolt.Tx, c *care.Case, now time.Time) (*care.Message, error) {
		return nil, s.policy.ApplyPatch(actor, s.users, c, p, now)
	})
	return c, err
}

// DeleteCase sets a case's status to deleted.
func (s *Store) DeleteCase(ctx context.Context, actor care.User, id int64) (care.Case, error) {
	return s.PatchCase(ctx, actor, id, care.CasePatch{Status: care.Optional[care.Status]{Set: true, Value: care.StatusDeleted}})
}

// AddMessage adds an agent's reply or note to a case.
func (s *Store) AddMessage(ctx context.Context, actor care.User, caseID int64, nm care.NewMessage) (care.Message, care.Case, error) {
	if err := care.CheckActsAsAgent(actor); err != nil {
		return care.Message{}, care.Case{}, err
	}
	if err := nm.Validate(s.users); err != nil {
		return care.Message{}, care.Case{}, err
	}
	c, m, err := s.modifyCase(ctx, actor, caseID, func(_ *bbolt.Tx, c *care.Case, now time.Time) (*care.Message, error) {
		m := &care.Message{
			CaseID: c.ID, CustomerID: c.CustomerID, Platform: c.Platform, ProfileID: c.ProfileID,
			Direction: care.Outbound, Author: actor.Name, AuthorID: actor.ID, Text: nm.Text,
			SentAt: now, CreatedAt: now, Via: nm.Via, Attachments: []care.Attachment{},
		}
		if nm.Kind == "note" {
			if c.Status == care.StatusDeleted {
				return nil, care.Errorf(care.CodeInvalidTransition, "a deleted case takes no notes")
			}
			m.Kind, m.Type, m.Mentions = care.KindNote, care.TypeComment, nm.Mentions
			c.UpdatedAt = now
			return m, nil
		}
		if err := care.CheckReply(actor, c, nm.Via); err != nil {
			return nil, err
		}
		m.Kind, m.ReplyType = care.KindMessage, nm.ReplyType
		m.Type, _ = nm.ReplyType.MessageType()
		c.HasOutbound = true
		c.UpdatedAt = now
		if nm.MarkPending {
			if err := s.policy.SetStatus(c, care.StatusPending, now); err != nil {
				return nil, err
			}
		}
		return m, nil
	})
	if err != nil {
		return care.Message{}, care.Case{}, err
	}
	s.signalPublisher(m)
	return *m, c, nil
}

// CommunityMessage tells Community whether a message it escalated is locked
// in Care.
func (s *Store) CommunityMessage(ctx context.Context, actor care.User, platform, externalID string) (care.CommunityStatus, error) {
	var out care.CommunityStatus
	err := s.view(func(tx *bbolt.Tx) error {
		e, ok := lookupExternal(tx, platform, externalID)
		if !ok {
			return care.Errorf(care.CodeNotFound, "Care never took message %s on %s", externalID, platform)
		}
		m, err := getMessage(tx, e.seq)
		if err != nil {
			return err
		}
		if m.CaseID == 0 {
			return care.Errorf(care.CodeNotFound, "Care never took message %s on %s", externalID, platform)
		}
		c, err := getCase(tx, m.CaseID)
		if err != nil {
			return err
		}
		locked, state := s.policy.Community(c, s.now())
		out = care.CommunityStatus{CaseID: c.ID, Locked: locked, State: state}
		return nil
	})
	return out, err
}

// StatusCounts returns how many cases are in each status.
func (s *Store) StatusCounts() (map[care.Status]int64, error) {
	out := make(map[care.Status]int64, len(care.Statuses))
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketStatusCounts)
		for _, st := range care.Statuses {
			out[st] = 0
			if v := b.Get([]byte(st)); v != nil {
				out[st] = int64(getU64(v))
			}
		}
		return nil
	})
	return out, err
}
