package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// ---- records ----

func getJSON(b *bbolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode record %x: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// appendFill is the fill percent of buckets whose keys only grow (sequence
// numbers): bbolt's default of one half would leave every page half empty.
const appendFill = 0.95

func getCase(tx *bbolt.Tx, id int64) (*care.Case, error) {
	var c care.Case
	ok, err := getJSON(tx.Bucket(bucketCases), i64(id), &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, care.Errorf(care.CodeNotFound, "case %d not found", id)
	}
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	return &c, nil
}

func getCustomer(tx *bbolt.Tx, id int64) (*care.Customer, error) {
	var c care.Customer
	ok, err := getJSON(tx.Bucket(bucketCustomers), i64(id), &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, care.Errorf(care.CodeNotFound, "customer %d not found", id)
	}
	return &c, nil
}

func accountKey(platform, userID string) []byte {
	return join([]byte(platform), sep, []byte(userID))
}

// customerFor finds the customer of a social account, creating it (not yet
// stored: the caller stores it with putCustomer) when it is new. New
// details fill empty ones but never overwrite what an agent set.
func customerFor(tx *bbolt.Tx, platform string, in care.CustomerInput, now time.Time) (*care.Customer, bool, error) {
	if v := tx.Bucket(bucketAccounts).Get(accountKey(platform, in.PlatformUserID)); v != nil {
		c, err := getCustomer(tx, int64(getU64(v)))
		if err != nil {
			return nil, false, err
		}
		changed := false
		fill := func(dst *string, v string) {
			if *dst == "" && v != "" {
				*dst, changed = v, true
			}
		}
		fill(&c.Username, in.Username)
		fill(&c.FirstName, in.FirstName)
		fill(&c.LastName, in.LastName)
		if changed {
			c.UpdatedAt = now
		}
		return c, changed, nil
	}
	return &care.Customer{
		Platform: platform, PlatformUserID: in.PlatformUserID, Username: in.Username,
		FirstName: in.FirstName, LastName: in.LastName, CreatedAt: now, UpdatedAt: now,
	}, true, nil
}

func putCustomer(tx *bbolt.Tx, c *care.Customer) error {
	b := tx.Bucket(bucketCustomers)
	b.FillPercent = appendFill
	if c.ID == 0 {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		c.ID = int64(seq)
		if err := tx.Bucket(bucketAccounts).Put(accountKey(c.Platform, c.PlatformUserID), i64(c.ID)); err != nil {
			return err
		}
	}
	return putJSON(b, i64(c.ID), c)
}

func statusByte(s care.Status) byte {
	return byte(slices.Index(care.Statuses, s))
}

// assigneeScope is the index scope of the cases assigned to a user ("" =
// unassigned).
func assigneeScope(user string) []byte {
	if user == "" {
		return []byte("-")
	}
	return []byte("u:" + user)
}

var scopeAll = []byte("*")

func indexKey(scope []byte, st care.Status, k care.SortKey, value uint64, id int64) []byte {
	return join(scope, sep, []byte{statusByte(st), byte(k)}, u64(value), i64(id))
}

var indexedSorts = []care.SortKey{care.SortCreated, care.SortLastMessage, care.SortPriority}

func indexKeys(c *care.Case) [][]byte {
	keys := make([][]byte, 0, 6)
	for _, scope := range [][]byte{scopeAll, assigneeScope(c.Assignee)} {
		for _, k := range indexedSorts {
			keys = append(keys, indexKey(scope, c.Status, k, care.SortValue(c, k), c.ID))
		}
	}
	return keys
}

// putCase stores c (assigning an id when it is new) and moves its index
// entries from before's to c's.
func putCase(tx *bbolt.Tx, before, c *care.Case) error {
	cases := tx.Bucket(bucketCases)
	cases.FillPercent = appendFill
	if c.ID == 0 {
		if err := assignCaseID(tx, c); err != nil {
			return err
		}
	}
	if before == nil {
		if err := tx.Bucket(bucketCustomerCases).Put(join(i64(c.CustomerID), i64(c.ID)), nil); err != nil {
			return err
		}
		if c.ExternalKey == "" {
			c.ExternalKey = care.NewExternalKey(c.CreatedAt)
		}
		if err := tx.Bucket(bucketCaseKeys).Put([]byte(c.ExternalKey), i64(c.ID)); err != nil {
			return err
		}
	} else {
		// A case keeps the key it was created with, whatever a write says.
		c.ExternalKey = before.ExternalKey
	}
	if err := putJSON(cases, i64(c.ID), c); err != nil {
		return err
	}
	idx := tx.Bucket(bucketCaseIndex)
	newKeys := indexKeys(c)
	if before != nil {
		for _, k := range indexKeys(before) {
			if !slices.ContainsFunc(newKeys, func(n []byte) bool { return bytes.Equal(n, k) }) {
				if err := idx.Delete(k); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range newKeys {
		if err := idx.Put(k, nil); err != nil {
			return err
		}
	}
	if before == nil || before.Salesforce.CaseID != c.Salesforce.CaseID {
		sf := tx.Bucket(bucketSFCases)
		if before != nil && before.Salesforce.CaseID != "" {
			if err := sf.Delete([]byte(before.Salesforce.CaseID)); err != nil {
				return err
			}
		}
		if c.Salesforce.CaseID != "" {
			if err := sf.Put([]byte(c.Salesforce.CaseID), i64(c.ID)); err != nil {
				return err
			}
		}
	}
	if before == nil || before.Status != c.Status {
		counts := tx.Bucket(bucketStatusCounts)
		if before != nil {
			if err := addCount(counts, before.Status, -1); err != nil {
				return err
			}
		}
		if err := addCount(counts, c.Status, 1); err != nil {
			return err
		}
	}
	return nil
}

// assignCaseID gives a new case its id and its external key (SPEC §11): the
// id comes from a sequence that starts again in a fresh or restored
// database, the key never repeats.
func assignCaseID(tx *bbolt.Tx, c *care.Case) error {
	seq, err := tx.Bucket(bucketCases).NextSequence()
	c.ID = int64(seq)
	if c.ExternalKey == "" {
		c.ExternalKey = care.NewExternalKey(c.CreatedAt)
	}
	return err
}

func addCount(b *bbolt.Bucket, st care.Status, d int64) error {
	var n int64
	if v := b.Get([]byte(st)); v != nil {
		n = int64(getU64(v))
	}
	return b.Put([]byte(st), i64(max(n+d, 0)))
}

func pairKey(customerID int64, profile string) []byte {
	return join(i64(customerID), []byte(profile))
}

// openCaseOf returns the open case of a (customer, profile) pair, or nil.
// The pairs bucket points at the case that last became open for the pair;
// no other case of the pair can be open.
func (s *Store) openCaseOf(tx *bbolt.Tx, customerID int64, profile string, now time.Time) (*care.Case, error) {
	v := tx.Bucket(bucketPairs).Get(pairKey(customerID, profile))
	if v == nil {
		return nil, nil
	}
	c, err := getCase(tx, int64(getU64(v)))
	if err != nil {
		return nil, err
	}
	if !s.policy.IsOpen(c, now) {
		return nil, nil
	}
	return c, nil
}

// checkPairClaim refuses a change that would give after's pair a second
// open case: after becoming open (created, reopened by hand) or moving to
// another profile while open.
func (s *Store) checkPairClaim(tx *bbolt.Tx, before, after *care.Case, now time.Time) (claim bool, err error) {
	if !s.policy.IsOpen(after, now) {
		return false, nil
	}
	if before != nil && s.policy.IsOpen(before, now) && before.ProfileID == after.ProfileID {
		return false, nil
	}
	other, err := s.openCaseOf(tx, after.CustomerID, after.ProfileID, now)
	if err != nil {
		return false, err
	}
	if other != nil && other.ID != after.ID {
		return false, care.Errorf(care.CodeOpenCaseExists,
			"case %d is already open for this customer and profile", other.ID)
	}
	return true, nil
}

// claimPair records after as its pair's open case, releasing the pair it
// left when its profile changed.
func claimPair(tx *bbolt.Tx, before, after *care.Case) error {
	pairs := tx.Bucket(bucketPairs)
	if before != nil && before.ProfileID != after.ProfileID {
		old := pairKey(before.CustomerID, before.ProfileID)
		if v := pairs.Get(old); v != nil && int64(getU64(v)) == before.ID {
			if err := pairs.Delete(old); err != nil {
				return err
			}
		}
	}
	return pairs.Put(pairKey(after.CustomerID, after.ProfileID), i64(after.ID))
}

// ---- messages ----

func (s *Store) messageID(seq uint64) string {
	return s.install + "-" + strconv.FormatUint(seq, 10)
}

func (s *Store) messageSeq(id string) (uint64, bool) {
	prefix, num, ok := strings.Cut(id, "-")
	if !ok || prefix != s.install {
		return 0, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	return seq, err == nil && seq > 0
}

func getMessage(tx *bbolt.Tx, seq uint64) (*care.Message, error) {
	var m care.Message
	ok, err := getJSON(tx.Bucket(bucketMessages), u64(seq), &m)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, care.Errorf(care.CodeNotFound, "message not found")
	}
	if m.ExternalKey == "" {
		// Written by a release before external keys: its Salesforce
		// record (if any) was upserted by its id.
		m.ExternalKey = m.ID
	}
	return &m, nil
}

func externalKey(platform, externalID string) []byte {
	return join([]byte(platform), sep, []byte(externalID))
}

// externalEntry is what the external_ids bucket keeps of a message: its
// sequence and the first result of taking it in.
type externalEntry struct {
	seq    uint64
	caseID int64
	event  care.CaseEvent
}

var events = []care.CaseEvent{care.EventNone, care.EventAppended, care.EventReopened}

func (e externalEntry) bytes() []byte {
	return join(u64(e.seq), i64(e.caseID), []byte{byte(slices.Index(events, e.event))})
}

func lookupExternal(tx *bbolt.Tx, platform, externalID string) (externalEntry, bool) {
	v := tx.Bucket(bucketExternalIDs).Get(externalKey(platform, externalID))
	if len(v) != 17 || int(v[16]) >= len(events) {
		return externalEntry{}, false
	}
	return externalEntry{seq: getU64(v[:8]), caseID: int64(getU64(v[8:16])), event: events[v[16]]}, true
}

func caseMessageKey(m *care.Message, seq uint64) []byte {
	return join(i64(m.CaseID), u64(care.TimeKey(m.SentAt)), u64(seq))
}

// putMessage stores m. A new message (seq 0) gets its sequence and id.
// before is the stored version when m changed case.
func (s *Store) putMessage(tx *bbolt.Tx, m *care.Message, seq uint64, before *care.Message) (uint64, error) {
	msgs := tx.Bucket(bucketMessages)
	msgs.FillPercent = appendFill
	if seq == 0 {
		var err error
		if seq, err = msgs.NextSequence(); err != nil {
			return 0, err
		}
		m.ID = s.messageID(seq)
		if m.ExternalKey == "" {
			m.ExternalKey = care.NewExternalKey(m.CreatedAt)
		}
	}
	if err := putJSON(msgs, u64(seq), m); err != nil {
		return 0, err
	}
	cm := tx.Bucket(bucketCaseMessages)
	if before != nil && before.CaseID != 0 && before.CaseID != m.CaseID {
		if err := cm.Delete(caseMessageKey(before, seq)); err != nil {
			return 0, err
		}
	}
	if m.CaseID != 0 {
		if err := cm.Put(caseMessageKey(m, seq), nil); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// incomingMessage makes the stored message of an incoming one. A message
// without an author is the customer's, by the customer's display name.
func (s *Store) incomingMessage(in care.IncomingMessage, cust *care.Customer, now time.Time) *care.Message {
	if in.Author == "" && in.Direction == care.Inbound {
		in.Author = cust.Name()
	}
	return &care.Message{
		ExternalID: in.ExternalID, CustomerID: cust.ID, Platform: in.Platform, ProfileID: in.ProfileID,
		Direction: in.Direction, Kind: care.KindMessage, Type: in.Type, Author: in.Author, Text: in.Text,
		SentAt: in.SentAt, Attachments: in.Attachments, CreatedAt: now,
	}
}

// ---- service methods ----

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
			if err := putCustomer(tx, cust); err != nil {
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
			if err := putCase(tx, &before, open); err != nil {
				return err
			}
			if err := s.enqueue(tx, ops, now); err != nil {
				return err
			}
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
				return nil
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
			if err := putCustomer(tx, cust); err != nil {
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
		ops := s.effectsOf(care.Change{Actor: actor, Before: before, After: *open, Message: m,
			EscalateToSalesforce: in.Salesforce}, open)
		if err := putCase(tx, before, open); err != nil {
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
		res = care.EscalateResult{Case: *open, Created: created}
		return nil
	})
	return res, err
}

// Case returns one case.
func (s *Store) Case(ctx context.Context, actor care.User, id int64) (care.Case, error) {
	var c *care.Case
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		c, err = getCase(tx, id)
		return err
	})
	if err != nil {
		return care.Case{}, err
	}
	return *c, nil
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
			if _, err := s.putMessage(tx, m, 0, nil); err != nil {
				return err
			}
			if err := s.indexMentions(tx, m); err != nil {
				return err
			}
		}
		if proto.FromSalesforce && after.Salesforce.Status != before.Salesforce.Status {
			// Salesforce moved on: what Care asked for before is history.
			after.Salesforce.WantStatus = ""
		}
		ch := proto
		ch.Before, ch.After, ch.Message = before, after, m
		ops := s.effectsOf(ch, &after)
		if err := putCase(tx, before, &after); err != nil {
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
		out, msg = after, m
		return nil
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
	return *m, c, nil
}

func (s *Store) indexMentions(tx *bbolt.Tx, m *care.Message) error {
	if m.Kind != care.KindNote || len(m.Mentions) == 0 {
		return nil
	}
	idx, latest := tx.Bucket(bucketMentions), tx.Bucket(bucketMentionLatest)
	t := care.TimeKey(m.SentAt)
	for _, user := range slices.Compact(slices.Sorted(slices.Values(m.Mentions))) {
		lk := join([]byte(user), sep, i64(m.CaseID))
		if v := latest.Get(lk); v != nil {
			if err := idx.Delete(join([]byte(user), sep, v, i64(m.CaseID))); err != nil {
				return err
			}
		}
		if err := latest.Put(lk, u64(t)); err != nil {
			return err
		}
		if err := idx.Put(join([]byte(user), sep, u64(t), i64(m.CaseID)), nil); err != nil {
			return err
		}
	}
	return nil
}

// Messages returns up to limit messages of a case before the message with
// id before (the latest when before is ""), oldest first. Integration users
// do not see internal notes.
func (s *Store) Messages(ctx context.Context, actor care.User, caseID int64, limit int, before string) ([]care.Message, error) {
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > 500:
		return nil, care.Errorf(care.CodeInvalidArgument, "limit must be between 1 and 500")
	}
	var out []care.Message
	err := s.view(func(tx *bbolt.Tx) error {
		if _, err := getCase(tx, caseID); err != nil {
			return err
		}
		var until []byte
		if before != "" {
			seq, ok := s.messageSeq(before)
			if !ok {
				return care.Errorf(care.CodeInvalidArgument, "before is not a message id")
			}
			bm, err := getMessage(tx, seq)
			if err != nil || bm.CaseID != caseID {
				return care.Errorf(care.CodeInvalidArgument, "before names no message of case %d", caseID)
			}
			until = caseMessageKey(bm, seq)
		}
		var err error
		out, err = latestMessages(tx, caseID, until, limit, s.pageBytes(), func(m *care.Message) bool {
			return m.Kind != care.KindNote || actor.IsAgent()
		})
		return err
	})
	if out == nil {
		out = []care.Message{}
	}
	return out, err
}

// latestMessages returns up to limit messages of a case that keep accepts,
// the latest before the case_messages key until (nil: the end), oldest
// first.
// MessagePageBytes bounds the text and attachments of one page of a case's
// messages: a page of large messages is cut short (never below one
// message) and the caller pages on with before=, so an answer stays a few
// MiB even when every message is at its limits.
const MessagePageBytes = 4 << 20

func (s *Store) pageBytes() int {
	if s.messagePageBytes > 0 {
		return s.messagePageBytes
	}
	return MessagePageBytes
}

// messageBytes is about what m weighs in an answer: its text, author and
// attachments.
func messageBytes(m *care.Message) int {
	n := len(m.Text) + len(m.Author) + 256
	for _, a := range m.Attachments {
		n += len(a.URL) + len(a.Type) + len(a.Name)
	}
	for _, u := range m.Mentions {
		n += len(u)
	}
	return n
}

// latestMessages returns the messages as described above, stopping early
// once they weigh maxBytes (0: no bound; at least one is returned).
func latestMessages(tx *bbolt.Tx, caseID int64, until []byte, limit, maxBytes int, keep func(*care.Message) bool) ([]care.Message, error) {
	prefix := i64(caseID)
	c := tx.Bucket(bucketCaseMessages).Cursor()
	if until == nil {
		until = i64(caseID + 1)
	}
	var k []byte
	if k, _ = c.Seek(until); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	var out []care.Message
	weight := 0
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
		m, err := getMessage(tx, getU64(k[16:]))
		if err != nil {
			return nil, err
		}
		if !keep(m) {
			continue
		}
		if weight += messageBytes(m); maxBytes > 0 && weight > maxBytes && len(out) > 0 {
			break
		}
		out = append(out, *m)
	}
	slices.Reverse(out)
	return out, nil
}

// Customer returns one customer.
func (s *Store) Customer(ctx context.Context, actor care.User, id int64) (care.Customer, error) {
	var c *care.Customer
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		c, err = getCustomer(tx, id)
		return err
	})
	if err != nil {
		return care.Customer{}, err
	}
	return *c, nil
}

// PatchCustomer changes a customer's details.
func (s *Store) PatchCustomer(ctx context.Context, actor care.User, id int64, p care.CustomerPatch) (care.Customer, error) {
	if err := care.CheckActsAsAgent(actor); err != nil {
		return care.Customer{}, err
	}
	var out care.Customer
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		c, err := getCustomer(tx, id)
		if err != nil {
			return err
		}
		if err := p.Apply(c, s.now()); err != nil {
			return err
		}
		if err := putCustomer(tx, c); err != nil {
			return err
		}
		out = *c
		return nil
	})
	return out, err
}

// CustomerCases returns a customer's cases, newest first.
func (s *Store) CustomerCases(ctx context.Context, actor care.User, id int64) ([]care.Case, error) {
	out := []care.Case{}
	err := s.view(func(tx *bbolt.Tx) error {
		if _, err := getCustomer(tx, id); err != nil {
			return err
		}
		prefix := i64(id)
		c := tx.Bucket(bucketCustomerCases).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			cs, err := getCase(tx, int64(getU64(k[8:])))
			if err != nil {
				return err
			}
			out = append(out, *cs)
		}
		return nil
	})
	slices.Reverse(out)
	return out, err
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

// SetSalesforceLink changes what a case knows of its Salesforce records
// (after an agent's escalation). Linking a Salesforce case records the
// side effects that follow (the message backfill) in the same transaction.
func (s *Store) SetSalesforceLink(ctx context.Context, caseID int64, fn func(*care.SalesforceLink)) (care.Case, error) {
	return s.OutboxDoneWith(ctx, nil, caseID, func(c *care.Case) { fn(&c.Salesforce) })
}

// ApplyFromSalesforce changes a case with a value read from Salesforce (the
// status poller). The change is marked FromSalesforce, so it never sends the
// value back.
func (s *Store) ApplyFromSalesforce(ctx context.Context, caseID int64, fn func(c *care.Case, now time.Time) error) (care.Case, error) {
	c, _, err := s.modifyCaseAs(ctx, care.Change{FromSalesforce: true}, caseID, func(_ *bbolt.Tx, c *care.Case, now time.Time) (*care.Message, error) {
		if err := fn(c, now); err != nil {
			return nil, err
		}
		c.UpdatedAt = now
		return nil, nil
	})
	return c, err
}

// CaseBySalesforceID returns the Care case linked to a Salesforce case.
func (s *Store) CaseBySalesforceID(ctx context.Context, sfCaseID string) (care.Case, error) {
	return s.caseByIndex(bucketSFCases, sfCaseID, care.Errorf(care.CodeNotFound, "no Care case is linked to Salesforce case %s", sfCaseID))
}

// CaseByExternalKey returns the case known by key (SPEC §11), the value its
// Salesforce record is upserted by.
func (s *Store) CaseByExternalKey(ctx context.Context, key string) (care.Case, error) {
	return s.caseByIndex(bucketCaseKeys, key, care.Errorf(care.CodeNotFound, "no case has this external key"))
}

// caseByIndex returns the case an index bucket maps key to, or notFound.
func (s *Store) caseByIndex(bucket []byte, key string, notFound error) (care.Case, error) {
	var c *care.Case
	err := s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucket).Get([]byte(key))
		if v == nil {
			return notFound
		}
		var err error
		c, err = getCase(tx, int64(getU64(v)))
		return err
	})
	if err != nil {
		return care.Case{}, err
	}
	return *c, nil
}

// LinkedCaseCount is how many Care cases have a Salesforce case.
func (s *Store) LinkedCaseCount(ctx context.Context) (int, error) {
	n := 0
	err := s.view(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketSFCases).Stats().KeyN
		return nil
	})
	return n, err
}

// SetCustomerContact links a customer to a Salesforce contact ("" unlinks).
func (s *Store) SetCustomerContact(ctx context.Context, customerID int64, contactID string) (care.Customer, error) {
	var out care.Customer
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		c, err := getCustomer(tx, customerID)
		if err != nil {
			return err
		}
		c.ContactID, c.UpdatedAt = contactID, s.now()
		if err := putCustomer(tx, c); err != nil {
			return err
		}
		out = *c
		return nil
	})
	return out, err
}

// MessagesForRender returns what a mapping renders of a case: its first
// message and its last n, notes left out, oldest first.
func (s *Store) MessagesForRender(ctx context.Context, caseID int64, n int) ([]care.Message, error) {
	recent, err := s.RecentMessages(ctx, caseID, n)
	if err != nil || len(recent) < n {
		return recent, err
	}
	var first *care.Message
	err = s.view(func(tx *bbolt.Tx) error {
		prefix := i64(caseID)
		c := tx.Bucket(bucketCaseMessages).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			m, err := getMessage(tx, getU64(k[16:]))
			if err != nil {
				return err
			}
			if m.Kind != care.KindNote {
				first = m
				return nil
			}
		}
		return nil
	})
	if err != nil || first == nil || first.ID == recent[0].ID {
		return recent, err
	}
	return append([]care.Message{*first}, recent...), nil
}
