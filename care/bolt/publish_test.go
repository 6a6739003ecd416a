package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// publishStore is a store on t.TempDir() that records replies for the
// publisher, with n cases assigned to alice.
func publishStore(t *testing.T, n int) (*Store, *fixedClock, []int64) {
	t.Helper()
	clk := &fixedClock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers, Clock: clk, Publishing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	alice, _ := benchUsers.User("alice")
	var cases []int64
	for i := range n {
		res, err := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage(fmt.Sprintf("p%d", i), i, clk.t)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PatchCase(ctx, alice, res.Case.ID, care.CasePatch{Assignee: care.Optional[string]{Set: true, Value: "alice"}}); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, res.Case.ID)
	}
	return s, clk, cases
}

func (s *Store) mustReply(t *testing.T, caseID int64, kind, text string) care.Message {
	t.Helper()
	alice, _ := benchUsers.User("alice")
	m, _, err := s.AddMessage(context.Background(), alice, caseID, care.NewMessage{Kind: kind, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The publish outbox hands out one reply per case, oldest first; a case's
// next reply waits until the one before is settled; notes never enter it.
func TestPublishOneReplyPerCaseInOrder(t *testing.T) {
	s, clk, cases := publishStore(t, 2)
	ctx := context.Background()
	a1 := s.mustReply(t, cases[0], "reply", "a1")
	s.mustReply(t, cases[0], "note", "a note")
	a2 := s.mustReply(t, cases[0], "reply", "a2")
	b1 := s.mustReply(t, cases[1], "reply", "b1")
	texts := func() []string {
		due, err := s.PublishDue(ctx, clk.t, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range due {
			out = append(out, p.Message.Text)
		}
		return out
	}
	if got := fmt.Sprint(texts()); got != "[a1 b1]" {
		t.Fatalf("due = %s, want [a1 b1]", got)
	}
	due, _ := s.PublishDue(ctx, clk.t, 10, nil)
	if due[0].DeliveryID == "" || due[0].DeliveryID == due[1].DeliveryID || due[0].InReplyTo != "p0" || due[0].Customer.PlatformUserID == "" {
		t.Errorf("publication = %+v", due[0])
	}
	// a1 waits for a retry: a2 waits behind it.
	if err := s.PublishRetry(ctx, due[0].ID, clk.t.Add(time.Minute), "503"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(texts()); got != "[b1]" {
		t.Fatalf("due with a1 waiting = %s, want [b1]", got)
	}
	if next, _ := s.NextPublishAttempt(ctx); !next.Equal(clk.t) {
		t.Errorf("next attempt = %v, want now (b1)", next)
	}
	clk.t = clk.t.Add(time.Minute)
	if err := s.PublishSent(ctx, due[0].ID, "tw-1"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(texts()); got != "[a2 b1]" {
		t.Fatalf("due after a1 was sent = %s, want [a2 b1]", got)
	}
	// b1's platform id is a1's: the index keeps a1, b1 is sent without one.
	if err := s.PublishSent(ctx, due[1].ID, "tw-1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    care.Message
		ext  string
		want care.Delivery
	}{
		{a1, "tw-1", care.Delivery{State: care.DeliverySent, Attempts: 2}},
		{b1, "", care.Delivery{State: care.DeliverySent, Attempts: 1}},
		{a2, "", care.Delivery{State: care.DeliveryPending}},
	} {
		m, err := s.Message(ctx, c.m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.ExternalID != c.ext || m.Delivery == nil || *m.Delivery != c.want {
			t.Errorf("%s: external id %q, delivery %+v; want %q, %+v", m.Text, m.ExternalID, m.Delivery, c.ext, c.want)
		}
	}
	if st, _ := s.PublishStats(ctx); st.Pending != 1 || st.Failed != 0 {
		t.Errorf("stats = %d pending, %d failed; want 1, 0", st.Pending, st.Failed)
	}
}

// The publish gauges read counters kept in the transactions that move a
// reply (recorded, refused, retried by a person, sent), not a walk of the
// outbox; a settle recorded twice moves nothing, and a store written
// before the counters existed is counted once when it opens.
func TestPublishStatsFollowTheOutbox(t *testing.T) {
	s, clk, cases := publishStore(t, 2)
	ctx := context.Background()
	stats := func(when string, pending, failed int64) {
		t.Helper()
		st, err := s.PublishStats(ctx)
		if err != nil || st.Pending != pending || st.Failed != failed {
			t.Fatalf("%s: %d pending, %d failed (%v); want %d, %d", when, st.Pending, st.Failed, err, pending, failed)
		}
	}
	a := s.mustReply(t, cases[0], "reply", "a")
	s.mustReply(t, cases[1], "reply", "b")
	s.mustReply(t, cases[1], "note", "not published")
	stats("two replies and a note", 2, 0)
	due, err := s.PublishDue(ctx, clk.t, 10, nil)
	if err != nil || len(due) != 2 {
		t.Fatalf("due %d, %v", len(due), err)
	}
	for range 2 {
		if err := s.PublishFail(ctx, due[0].ID, "400 unknown profile"); err != nil {
			t.Fatal(err)
		}
	}
	stats("a refused (recorded twice)", 1, 1)
	if err := s.PublishRetry(ctx, due[1].ID, clk.t.Add(time.Minute), "503"); err != nil {
		t.Fatal(err)
	}
	stats("b waiting for a retry", 1, 1)
	alice, _ := benchUsers.User("alice")
	if _, err := s.RetryDelivery(ctx, alice, cases[0], a.ID); err != nil {
		t.Fatal(err)
	}
	stats("a retried by a person", 2, 0)
	for range 2 {
		if err := s.PublishSent(ctx, due[1].ID, "tw-b"); err != nil {
			t.Fatal(err)
		}
	}
	stats("b sent (recorded twice)", 1, 0)
	if err := s.PublishFail(ctx, due[0].ID, "400 again"); err != nil {
		t.Fatal(err)
	}
	stats("a refused again", 0, 1)

	s.mustReply(t, cases[1], "reply", "c")
	stats("c recorded", 1, 1)

	// As a store of an older release: no counters.
	if err := s.update(ctx, func(tx *bbolt.Tx) error {
		return tx.DeleteBucket(bucketPublishCounts)
	}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(s.db.Path())
	s.Close()
	s, err = Open(dir, Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers, Clock: clk, Publishing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stats("reopened without counters", 1, 1)
}

// The oldest pending age is the wait of the reply written longest ago of
// those the publisher has not taken: one reply stuck in retries shows
// while later ones go out, a refused one leaves it (failed counts it), a
// retry by hand brings it back counted from when it was written, and a
// reopened store ages it at once from what it stored.
func TestPublishOldestPendingAge(t *testing.T) {
	s, clk, cases := publishStore(t, 3)
	ctx := context.Background()
	start := clk.t
	age := func(when string, want time.Duration) {
		t.Helper()
		st, err := s.PublishStats(ctx)
		if err != nil || st.OldestAge != want {
			t.Fatalf("%s: oldest pending age %v (%v), want %v", when, st.OldestAge, err, want)
		}
	}
	age("nothing written", 0)
	a := s.mustReply(t, cases[0], "reply", "a")
	age("a just written", 0)
	clk.t = clk.t.Add(2 * time.Minute)
	s.mustReply(t, cases[1], "reply", "b")
	clk.t = clk.t.Add(3 * time.Minute)
	age("a and b waiting", 5*time.Minute)

	due, err := s.PublishDue(ctx, clk.t, 10, nil)
	if err != nil || len(due) != 2 {
		t.Fatalf("due %d, %v", len(due), err)
	}
	if err := s.PublishRetry(ctx, due[0].ID, clk.t.Add(time.Minute), "500"); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishSent(ctx, due[1].ID, "tw-b"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(10 * time.Minute)
	s.mustReply(t, cases[2], "reply", "c")
	age("a stuck in retries while b went out", 15*time.Minute)

	if err := s.PublishFail(ctx, due[0].ID, "400 unknown profile"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Minute)
	age("a refused: c is the oldest waiting", time.Minute)
	alice, _ := benchUsers.User("alice")
	if _, err := s.RetryDelivery(ctx, alice, cases[0], a.ID); err != nil {
		t.Fatal(err)
	}
	age("a retried by hand", clk.t.Sub(start))

	dir := filepath.Dir(s.db.Path())
	s.Close()
	clk.t = clk.t.Add(30 * time.Minute)
	s, err = Open(dir, Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers, Clock: clk, Publishing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	age("reopened after 30 minutes down", clk.t.Sub(start))

	due, err = s.PublishDue(ctx, clk.t, 10, nil)
	if err != nil || len(due) != 2 {
		t.Fatalf("due after the reopen %d, %v", len(due), err)
	}
	for _, p := range due {
		if err := s.PublishSent(ctx, p.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	age("everything sent", 0)
}
