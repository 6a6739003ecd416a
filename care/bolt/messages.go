package bolt

// Messages of cases: ids, the external id index, pages of a conversation
// and the mentions index of notes.

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

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
	m, err := getRecord[care.Message](tx, bucketMessages, u64(seq), "message not found")
	if err == nil && m.ExternalKey == "" {
		// Written by a release before external keys: its Salesforce
		// record (if any) was upserted by its id.
		m.ExternalKey = m.ID
	}
	return m, err
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
		if err := s.indexMessage(tx, m); err != nil {
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

// indexMentions records the users a note mentions; st is the status of
// its case as stored (a mention counts in the mentioned user's view).
func (s *Store) indexMentions(tx *bbolt.Tx, m *care.Message, st care.Status) error {
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
		} else if err := countMention(tx, user, m.CaseID, st); err != nil {
			return err
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
