package bolt

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// testEffects pushes every message of a linked case, backfills when a case
// gets linked, and sets the status on status changes not from Salesforce.
type testEffects struct{}

func (testEffects) Effects(ch care.Change) []care.OutboxOp {
	var ops []care.OutboxOp
	linked := ch.After.Salesforce.CaseID != ""
	if linked && ch.Before != nil && ch.Before.Salesforce.CaseID == "" {
		ops = append(ops, care.OutboxOp{Kind: care.OpBackfill, CaseID: ch.After.ID})
	}
	if linked && ch.Message != nil && ch.Message.Kind == care.KindMessage {
		ops = append(ops, care.OutboxOp{Kind: care.OpPushMessage, CaseID: ch.After.ID, MessageID: ch.Message.ID})
	}
	if linked && !ch.FromSalesforce && ch.Before != nil && ch.Before.Status != ch.After.Status {
		ops = append(ops, care.OutboxOp{Kind: care.OpSetStatus, CaseID: ch.After.ID, Value: string(ch.After.Status), Actor: ch.Actor.ID})
	}
	if ch.EscalateToSalesforce && !linked {
		ops = append(ops, care.OutboxOp{Kind: care.OpEscalate, CaseID: ch.After.ID, Actor: ch.Actor.ID})
	}
	return ops
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func outboxStore(t *testing.T) (*Store, *fixedClock, string) {
	t.Helper()
	dir := t.TempDir()
	clk := &fixedClock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	return openOutboxStore(t, dir, clk), clk, dir
}

// openOutboxStore opens (or, after a Close, reopens) the store in dir with
// the test effects; it is closed when the test ends.
func openOutboxStore(t *testing.T, dir string, clk *fixedClock) *Store {
	t.Helper()
	s, err := Open(dir, Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers, Clock: clk, Effects: testEffects{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// escalateLinked escalates a case from community's message key (customer
// n) and links it to the Salesforce case sfID.
func escalateLinked(t *testing.T, s *Store, clk *fixedClock, key string, n int, sfID string) care.Case {
	t.Helper()
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	res, err := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage(key, n, clk.t)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) { l.CaseID = sfID })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// twoDue escalates and links a case (name+"0", Salesforce case
// "500"+name) and ingests a second message (name+"1") into it: its backfill
// and the message's push are due, in that order.
func twoDue(t *testing.T, s *Store, clk *fixedClock, name string) []care.OutboxEntry {
	t.Helper()
	ctx := context.Background()
	escalateLinked(t, s, clk, name+"0", 0, "500"+name)
	community, _ := benchUsers.User("community")
	if _, err := s.Ingest(ctx, community, benchMessage(name+"1", 0, clk.t)); err != nil {
		t.Fatal(err)
	}
	due, _ := s.OutboxDue(ctx, clk.t, 100, nil)
	if len(due) != 2 {
		t.Fatalf("due: %v", kinds(due))
	}
	return due
}

func kinds(es []care.OutboxEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d:%s", e.CaseID, e.Kind))
	}
	return out
}

func TestOutboxRecordsEffectsWithTheChange(t *testing.T) {
	s, clk, dir := outboxStore(t)
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	alice, _ := benchUsers.User("alice")
	res, err := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage("a1", 1, clk.t), Salesforce: true})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Case.ID
	// Not linked yet: messages make no push, but the escalation is queued.
	s.Ingest(ctx, community, benchMessage("a2", 1, clk.t))
	due, _ := s.OutboxDue(ctx, clk.t, 100, nil)
	if got := kinds(due); !slices.Equal(got, []string{fmt.Sprintf("%d:escalate", id)}) {
		t.Fatalf("due: %v", got)
	}
	// The escalation completes: the entry goes and the link brings a backfill.
	c, err := s.OutboxDoneWith(ctx, []uint64{due[0].ID}, id, func(c *care.Case) {
		c.Salesforce.CaseID, c.Salesforce.CaseNumber = "500xx0000000001AAA", "00001000"
	})
	if err != nil || c.Salesforce.CaseNumber != "00001000" {
		t.Fatalf("done with link: %v %v", c, err)
	}
	s.Ingest(ctx, community, benchMessage("a3", 1, clk.t))
	s.PatchCase(ctx, alice, id, care.CasePatch{Assignee: care.Optional[string]{Set: true, Value: "alice"}})
	s.AddMessage(ctx, alice, id, care.NewMessage{Kind: "note", Text: "internal"})
	due, _ = s.OutboxDue(ctx, clk.t, 100, nil)
	want := []string{fmt.Sprintf("%d:backfill", id), fmt.Sprintf("%d:push_message", id), fmt.Sprintf("%d:set_status", id)}
	if got := kinds(due); !slices.Equal(got, want) {
		t.Fatalf("due after link: %v, want %v", got, want)
	}
	// A change from Salesforce records no status update back.
	if _, err := s.ApplyFromSalesforce(ctx, id, func(c *care.Case, now time.Time) error {
		return care.Policy{}.SetStatusFromSalesforce(c, care.StatusOnHold, now)
	}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.OutboxStats(ctx)
	if st.Pending != 3 || st.Failed != 0 {
		t.Fatalf("stats: %+v", st)
	}
	// Everything survives a restart.
	s.Close()
	s2 := openOutboxStore(t, dir, clk)
	due2, _ := s2.OutboxDue(ctx, clk.t, 100, nil)
	if !slices.Equal(kinds(due2), want) {
		t.Fatalf("due after restart: %v", kinds(due2))
	}
}

func TestOutboxOrderPerCase(t *testing.T) {
	s, clk, _ := outboxStore(t)
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	var cases []int64
	for i := range 3 {
		cases = append(cases, escalateLinked(t, s, clk, fmt.Sprintf("o%d", i), i, fmt.Sprintf("500%d", i)).ID)
	}
	for round := range 3 {
		for i := range 3 {
			if _, err := s.Ingest(ctx, community, benchMessage(fmt.Sprintf("o%d-%d", i, round), i, clk.t)); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, _ := s.OutboxDue(ctx, clk.t, 100, nil)
	if len(all) != 12 { // a backfill and three pushes per case
		t.Fatalf("due: %v", kinds(all))
	}
	// The head of case 0 fails for now: its later entries wait behind it.
	s.OutboxRetry(ctx, []uint64{all[0].ID}, clk.t.Add(time.Minute), "503 service unavailable")
	due, _ := s.OutboxDue(ctx, clk.t, 100, nil)
	for _, e := range due {
		if e.CaseID == cases[0] {
			t.Fatalf("case %d delivered past its waiting head: %v", cases[0], kinds(due))
		}
	}
	if len(due) != 8 {
		t.Fatalf("due with case 0 waiting: %v", kinds(due))
	}
	// A case in delivery is skipped whole.
	due, _ = s.OutboxDue(ctx, clk.t, 100, func(c int64) bool { return c == cases[1] })
	if len(due) != 4 || due[0].CaseID != cases[2] {
		t.Fatalf("due with case 1 busy: %v", kinds(due))
	}
	// The limit cuts in global order.
	if due, _ = s.OutboxDue(ctx, clk.t, 3, nil); len(due) != 3 {
		t.Fatalf("limit: %v", kinds(due))
	}
	// After its time the head is due again, with its attempt and error kept.
	clk.t = clk.t.Add(time.Minute)
	due, _ = s.OutboxDue(ctx, clk.t, 100, nil)
	if due[0].ID != all[0].ID || due[0].Attempts != 1 || due[0].LastError != "503 service unavailable" {
		t.Fatalf("head after retry time: %+v", due[0])
	}
	next, _ := s.NextOutboxAttempt(ctx)
	if next.After(clk.t) {
		t.Fatalf("next attempt %v after now %v", next, clk.t)
	}
}

func TestOutboxFailRequeueDone(t *testing.T) {
	s, clk, _ := outboxStore(t)
	ctx := context.Background()
	due := twoDue(t, s, clk, "f")
	if err := s.OutboxFail(ctx, []uint64{due[1].ID}, "INVALID_FIELD: No such column 'Foo__c'"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(10 * time.Second)
	st, _ := s.OutboxStats(ctx)
	if st.Pending != 1 || st.Failed != 1 || st.OldestAge != 10*time.Second {
		t.Fatalf("stats: %+v", st)
	}
	failed, _ := s.OutboxList(ctx, care.OutboxFailed, 10)
	if len(failed) != 1 || failed[0].LastError != "INVALID_FIELD: No such column 'Foo__c'" || failed[0].State != care.OutboxFailed {
		t.Fatalf("failed list: %+v", failed)
	}
	// A failed entry does not hold up its case.
	due2, _ := s.OutboxDue(ctx, clk.t, 100, nil)
	if len(due2) != 1 || due2[0].ID != due[0].ID {
		t.Fatalf("due with one failed: %v", kinds(due2))
	}
	if _, err := s.OutboxRequeue(ctx, due[0].ID); care.ErrorCode(err) != care.CodeConflict {
		t.Fatalf("requeue of a pending entry: %v", err)
	}
	if _, err := s.OutboxRequeue(ctx, 9999); !care.IsNotFound(err) {
		t.Fatalf("requeue of nothing: %v", err)
	}
	e, err := s.OutboxRequeue(ctx, due[1].ID)
	if err != nil || e.State != care.OutboxPending || e.Attempts != 0 {
		t.Fatalf("requeue: %+v %v", e, err)
	}
	s.OutboxDone(ctx, []uint64{due[0].ID, due[1].ID, due[1].ID})
	st, _ = s.OutboxStats(ctx)
	if st != (care.OutboxStats{}) {
		t.Fatalf("stats after done: %+v", st)
	}
}

func TestRecentMessages(t *testing.T) {
	s, clk, _ := outboxStore(t)
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	alice, _ := benchUsers.User("alice")
	res, _ := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage("r0", 0, clk.t)})
	for i := 1; i < 120; i++ {
		if _, err := s.Ingest(ctx, community, benchMessage(fmt.Sprintf("r%d", i), 0, clk.t.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	s.AddMessage(ctx, alice, res.Case.ID, care.NewMessage{Kind: "note", Text: "not pushed"})
	msgs, err := s.RecentMessages(ctx, res.Case.ID, 100)
	if err != nil || len(msgs) != 100 {
		t.Fatalf("recent: %d %v", len(msgs), err)
	}
	if msgs[0].ExternalID != "r20" || msgs[99].ExternalID != "r119" {
		t.Fatalf("recent window: %s … %s", msgs[0].ExternalID, msgs[99].ExternalID)
	}
	m, err := s.Message(ctx, msgs[5].ID)
	if err != nil || m.ExternalID != "r25" {
		t.Fatalf("message by id: %v %v", m, err)
	}
}

func TestOutboxSignal(t *testing.T) {
	s, clk, _ := outboxStore(t)
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	select {
	case <-s.OutboxSignal():
		t.Fatal("signal before anything was recorded")
	default:
	}
	// An escalation without Salesforce records nothing: no signal.
	res, _ := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage("s0", 0, clk.t)})
	select {
	case <-s.OutboxSignal():
		t.Fatal("signal without an outbox entry")
	default:
	}
	s.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) { l.CaseID = "500s" })
	select {
	case <-s.OutboxSignal():
	case <-time.After(5 * time.Second):
		t.Fatal("no signal after a backfill was recorded")
	}
}

func TestCaseBySalesforceID(t *testing.T) {
	s, clk, _ := outboxStore(t)
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	res, _ := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage("l0", 0, clk.t)})
	if _, err := s.CaseBySalesforceID(ctx, "500A"); !care.IsNotFound(err) {
		t.Fatalf("unlinked: %v", err)
	}
	s.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) { l.CaseID = "500A" })
	if c, err := s.CaseBySalesforceID(ctx, "500A"); err != nil || c.ID != res.Case.ID {
		t.Fatalf("linked: %v %v", c.ID, err)
	}
	s.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) { l.CaseID = "500B" })
	if _, err := s.CaseBySalesforceID(ctx, "500A"); !care.IsNotFound(err) {
		t.Fatalf("relinked, old id: %v", err)
	}
	if n, _ := s.LinkedCaseCount(ctx); n != 1 {
		t.Fatalf("linked count %d", n)
	}
	escalateLinked(t, s, clk, "l1", 1, "5000C")
	s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage("l2", 2, clk.t)}) // not linked
	linked := func() []care.LinkedSalesforceCase {
		t.Helper()
		l, err := s.LinkedSalesforceCases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := linked(); !slices.Equal(l, []care.LinkedSalesforceCase{{ID: "5000C"}, {ID: "500B"}}) {
		t.Fatalf("linked %q", l)
	}
	// The external id field carebridge wrote on the Salesforce case goes
	// with it (the poller names such a case by the field).
	s.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) { l.ExternalIDField = "Care_Case_Id__c" })
	if l := linked(); !slices.Equal(l, []care.LinkedSalesforceCase{{ID: "5000C"}, {ID: "500B", ExternalIDField: "Care_Case_Id__c"}}) {
		t.Fatalf("linked with the field %q", l)
	}
	if c, err := s.CaseBySalesforceID(ctx, "500B"); err != nil || c.ID != res.Case.ID || c.Salesforce.ExternalIDField != "Care_Case_Id__c" {
		t.Fatalf("by Salesforce id with the field: %v %+v %v", c.ID, c.Salesforce, err)
	}
	// An entry of an older release (the case id alone) says no field: the
	// poller names that case by Id.
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketSFCases).Put([]byte("500B"), i64(res.Case.ID)) }); err != nil {
		t.Fatal(err)
	}
	if l := linked(); !slices.Equal(l, []care.LinkedSalesforceCase{{ID: "5000C"}, {ID: "500B"}}) {
		t.Fatalf("linked by an older release %q", l)
	}
	if c, err := s.CaseBySalesforceID(ctx, "500B"); err != nil || c.ID != res.Case.ID {
		t.Fatalf("by Salesforce id, older entry: %v %v", c.ID, err)
	}
}

// TestRecordSalesforceExternalIDField: the poller records that linked
// cases carry the external id field (an older release's links): the link
// and the index say so, nothing else of the case moves, and an id no
// longer linked is skipped.
func TestRecordSalesforceExternalIDField(t *testing.T) {
	s, clk, _ := outboxStore(t)
	ctx := context.Background()
	one := escalateLinked(t, s, clk, "r1", 1, "500R1")
	escalateLinked(t, s, clk, "r2", 2, "500R2")
	clk.t = clk.t.Add(time.Hour)
	if n, err := s.RecordSalesforceExternalIDField(ctx, "Care_Case_Id__c", []string{"500R1", "500GONE"}); n != 1 || err != nil {
		t.Fatalf("recorded %d: %v", n, err)
	}
	if l, err := s.LinkedSalesforceCases(ctx); err != nil || !slices.Equal(l, []care.LinkedSalesforceCase{{ID: "500R1", ExternalIDField: "Care_Case_Id__c"}, {ID: "500R2"}}) {
		t.Fatalf("linked %q %v", l, err)
	}
	c, err := s.CaseBySalesforceID(ctx, "500R1")
	if err != nil || c.Salesforce.ExternalIDField != "Care_Case_Id__c" || !c.UpdatedAt.Equal(one.UpdatedAt) {
		t.Fatalf("case: %+v updated %v (was %v) %v", c.Salesforce, c.UpdatedAt, one.UpdatedAt, err)
	}
	if n, err := s.RecordSalesforceExternalIDField(ctx, "Care_Case_Id__c", []string{"500R1"}); n != 0 || err != nil {
		t.Fatalf("recorded again %d: %v", n, err)
	}
}

func TestMessagesForRenderAndContactLink(t *testing.T) {
	s, clk, _ := outboxStore(t)
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	res, _ := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage("mr0", 0, clk.t)})
	for i := 1; i < 30; i++ {
		s.Ingest(ctx, community, benchMessage(fmt.Sprintf("mr%d", i), 0, clk.t.Add(time.Duration(i)*time.Second)))
	}
	msgs, err := s.MessagesForRender(ctx, res.Case.ID, 10)
	if err != nil || len(msgs) != 11 || msgs[0].ExternalID != "mr0" || msgs[1].ExternalID != "mr20" || msgs[10].ExternalID != "mr29" {
		t.Fatalf("render messages: %d %v", len(msgs), err)
	}
	if msgs, _ := s.MessagesForRender(ctx, res.Case.ID, 100); len(msgs) != 30 {
		t.Fatalf("all messages fit: %d", len(msgs))
	}
	cu, err := s.SetCustomerContact(ctx, res.Case.CustomerID, "003000000000001AAA")
	if err != nil || cu.ContactID != "003000000000001AAA" {
		t.Fatalf("link: %+v %v", cu, err)
	}
	if got, _ := s.Customer(ctx, community, cu.ID); got.ContactID != "003000000000001AAA" {
		t.Fatal("link not stored")
	}
	if _, err := s.SetCustomerContact(ctx, 999, "x"); !care.IsNotFound(err) {
		t.Fatalf("unknown customer: %v", err)
	}
}

// The pending index is rebuilt at open when it does not match the entries
// (a store written before it existed), and the due list reads it.
func TestPendingIndexRebuilt(t *testing.T) {
	s, clk, dir := outboxStore(t)
	ctx := context.Background()
	due := twoDue(t, s, clk, "p")
	s.OutboxRetry(ctx, []uint64{due[1].ID}, clk.t.Add(time.Hour), "later")
	// Lose the index, as an older store would not have it.
	s.db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketOutboxPending) })
	s.Close()
	s2 := openOutboxStore(t, dir, clk)
	due2, _ := s2.OutboxDue(ctx, clk.t, 10, nil)
	if len(due2) != 1 || due2[0].ID != due[0].ID {
		t.Fatalf("due after rebuild: %v", kinds(due2))
	}
	next, _ := s2.NextOutboxAttempt(ctx)
	if !next.Equal(clk.t) {
		t.Fatalf("next attempt %v, want %v", next, clk.t)
	}
	s2.OutboxDone(ctx, []uint64{due[0].ID})
	if next, _ := s2.NextOutboxAttempt(ctx); !next.Equal(clk.t.Add(time.Hour)) {
		t.Fatalf("next attempt after done %v", next)
	}
}
