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

var testSLAPolicies = care.SLAPolicies{
	{Name: "urgent", Priorities: []care.Priority{care.PriorityUrgent},
		FirstResponse: 10 * time.Minute, NextResponse: 20 * time.Minute, Resolution: time.Hour},
	{Name: "default", FirstResponse: time.Hour, NextResponse: 2 * time.Hour, Resolution: 24 * time.Hour},
}

// slaStore is a store with testSLAPolicies, a clock the test moves and
// an OnCommit log.
func slaStore(t *testing.T) (*Store, *fixedClock, *commitLog) {
	t.Helper()
	clk := &fixedClock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	log := &commitLog{}
	s, err := Open(t.TempDir(), Options{Policy: care.Policy{Grace: time.Hour, SLA: testSLAPolicies}, Users: benchUsers,
		Clock: clk, OnCommit: log.onCommit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk, log
}

// slaCase escalates a case of customer i at the clock's time.
func slaCase(t *testing.T, s *Store, clk *fixedClock, i int, prio care.Priority) care.Case {
	t.Helper()
	res, err := s.Escalate(context.Background(), user(t, "community"), care.EscalateInput{
		Message: benchMessage(fmt.Sprintf("sla%d", i), i, clk.t), Priority: prio})
	if err != nil {
		t.Fatal(err)
	}
	return res.Case
}

func slaDueKeys(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	s.view(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketSLADue).Stats().KeyN
		return nil
	})
	return n
}

// A due time that passes is breached once per kind, durably, with one
// change for OnCommit per breach; the due index shrinks as it goes.
func TestSLABreachOncePerKind(t *testing.T) {
	s, clk, log := slaStore(t)
	ctx := context.Background()
	c := slaCase(t, s, clk, 1, care.PriorityUrgent)
	if c.SLA == nil || c.SLA.Policy != "urgent" || !c.SLA.FirstResponseDue.Equal(clk.t.Add(10*time.Minute)) {
		t.Fatalf("new case SLA %+v", c.SLA)
	}
	if n := slaDueKeys(t, s); n != 2 {
		t.Fatalf("%d due keys, want 2 (first response, resolution)", n)
	}
	clk.t = clk.t.Add(9 * time.Minute)
	if got, err := s.BreachSLAs(ctx); err != nil || len(got) != 0 {
		t.Fatalf("breaches before the due time: %v %v", got, err)
	}
	clk.t = clk.t.Add(time.Hour)
	got, err := s.BreachSLAs(ctx)
	want := []care.SLABreach{{CaseID: c.ID, Policy: "urgent", Kind: care.SLAFirstResponse}, {CaseID: c.ID, Policy: "urgent", Kind: care.SLAResolution}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("breaches %v %v, want %v", got, err, want)
	}
	if again, err := s.BreachSLAs(ctx); err != nil || len(again) != 0 {
		t.Fatalf("breached again: %v %v", again, err)
	}
	if n := slaDueKeys(t, s); n != 0 {
		t.Errorf("%d due keys left after the breaches", n)
	}
	stored, err := s.Case(ctx, user(t, "sue"), c.ID)
	if err != nil || !slices.Equal(stored.SLA.Breached, []care.SLAKind{care.SLAFirstResponse, care.SLAResolution}) {
		t.Fatalf("stored breaches %+v %v", stored.SLA, err)
	}
	var breaches []care.SLABreach
	for _, ch := range waitChanges(t, s, log, 3) {
		if ch.SLABreach != nil {
			breaches = append(breaches, *ch.SLABreach)
		}
	}
	if !slices.Equal(breaches, want) {
		t.Errorf("OnCommit breaches %v, want %v", breaches, want)
	}

	// A reply and then a customer message start next_response; its breach
	// is recorded too, once.
	alice := "alice"
	if _, err := s.PatchCase(ctx, user(t, "alice"), c.ID, patch("", &alice)); err != nil {
		t.Fatal(err)
	}
	s.mustReply(t, c.ID, "reply", "on it")
	if _, err := s.Ingest(ctx, user(t, "community"), benchMessage("sla-again", 1, clk.t)); err != nil {
		t.Fatal(err)
	}
	stored, _ = s.Case(ctx, user(t, "sue"), c.ID)
	if d := stored.SLA.NextResponseDue; d == nil || !d.Equal(clk.t.Add(20*time.Minute)) {
		t.Fatalf("next response due %v, want 20 minutes after the customer's message", d)
	}
	clk.t = clk.t.Add(21 * time.Minute)
	if got, _ := s.BreachSLAs(ctx); len(got) != 1 || got[0].Kind != care.SLANextResponse {
		t.Fatalf("next response breaches %v", got)
	}
}

// The clock stops while a case is pending: the due times move later by
// the pause, and nothing is breached during it.
func TestSLAPausedCaseIsNotBreached(t *testing.T) {
	s, clk, _ := slaStore(t)
	ctx := context.Background()
	c := slaCase(t, s, clk, 1, care.PriorityMedium)
	alice := "alice"
	if _, err := s.PatchCase(ctx, user(t, "alice"), c.ID, patch(care.StatusPending, &alice)); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(3 * time.Hour)
	if got, _ := s.BreachSLAs(ctx); len(got) != 0 {
		t.Fatalf("a pending case was breached: %v", got)
	}
	if _, err := s.PatchCase(ctx, user(t, "alice"), c.ID, patch(care.StatusOpen, nil)); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Case(ctx, user(t, "sue"), c.ID)
	if d := stored.SLA.FirstResponseDue; d == nil || !d.Equal(c.CreatedAt.Add(4*time.Hour)) {
		t.Fatalf("first response due %v after a 3h pause, want %v", d, c.CreatedAt.Add(4*time.Hour))
	}
}

// sla= filters and sort=sla_due_asc list what a scan of every case says,
// from the indexes (few candidates) and by streaming the view (many).
func TestSLAFiltersAndSortManyCases(t *testing.T) {
	s, clk, _ := slaStore(t)
	ctx := context.Background()
	start := clk.t
	const n = 240
	for i := range n {
		prio := care.PriorityMedium
		if i%3 == 0 {
			prio = care.PriorityUrgent
		}
		slaCase(t, s, clk, i, prio)
		clk.t = clk.t.Add(time.Minute)
	}
	// Some cases wait (no due times); some got a reply.
	alice := "alice"
	for id := int64(1); id <= n; id += 7 {
		if _, err := s.PatchCase(ctx, user(t, "alice"), id, patch(care.StatusPending, &alice)); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(2); id <= n; id += 11 {
		if _, err := s.PatchCase(ctx, user(t, "alice"), id, patch("", &alice)); err != nil {
			t.Fatal(err)
		}
		s.mustReply(t, id, "reply", "hello")
	}
	clk.t = start.Add(4 * time.Hour)
	if _, err := s.BreachSLAs(ctx); err != nil {
		t.Fatal(err)
	}
	clk.t = start.Add(4*time.Hour + 30*time.Minute)
	sue := user(t, "sue")
	all := listAll(t, s, sue, care.CaseQuery{})
	for _, bound := range []int{1000, 10} {
		loadBelow = bound
		for _, f := range []string{care.SLAFilterBreached, care.SLAFilterDueSoon} {
			filter := care.SLAFilter{Kind: f, Now: clk.t, Policies: testSLAPolicies}
			var want []int64
			for _, c := range all {
				if filter.Matches(&c) {
					want = append(want, c.ID)
				}
			}
			got := caseIDs(listAll(t, s, sue, care.CaseQuery{SLA: f}))
			slices.Sort(got)
			slices.Sort(want)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("sla=%s (index up to %d): %d cases %v, want %d %v", f, bound, len(got), got, len(want), want)
			}
		}
	}
	loadBelow = 1000
	sorted := slices.Clone(all)
	slices.SortStableFunc(sorted, func(a, b care.Case) int {
		av, bv := care.SortValue(&a, care.SortSLADue), care.SortValue(&b, care.SortSLADue)
		if av != bv {
			if av < bv {
				return -1
			}
			return 1
		}
		return int(a.ID - b.ID)
	})
	page, err := s.Cases(ctx, sue, care.CaseQuery{Sort: "sla_due_asc", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	got := caseIDs(listAll(t, s, sue, care.CaseQuery{Sort: "sla_due_asc", Limit: 50}))
	if !slices.Equal(got, caseIDs(sorted)) || len(page.Cases) != 50 || page.NextCursor == "" {
		t.Errorf("sort=sla_due_asc lists %v, want %v", got, caseIDs(sorted))
	}
	if last := got[len(got)-1]; care.SortValue(&sorted[len(sorted)-1], care.SortSLADue) != ^uint64(0) {
		t.Errorf("the last case %d has a due time: cases without one must come last", last)
	}
}

// A store written before SLA policies gets its sla_due_asc index entries
// at open.
func TestSLAIndexMigrates(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir)
	escalateN(t, s, 0, 5)
	err := s.db.Update(func(tx *bbolt.Tx) error {
		idx := tx.Bucket(bucketCaseIndex)
		var drop [][]byte
		idx.ForEach(func(k, _ []byte) error {
			if len(k) > 17 && k[len(k)-17] == byte(care.SortSLADue) {
				drop = append(drop, slices.Clone(k))
			}
			return nil
		})
		for _, k := range drop {
			if err := idx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(metaSLAIndex)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, s, user(t, "sue"), care.CaseQuery{Sort: "sla_due_asc"}); len(got) != 0 {
		t.Fatalf("without the index entries the sort lists %d cases", len(got))
	}
	s.Close()
	s = openAt(t, dir)
	if got := listAll(t, s, user(t, "sue"), care.CaseQuery{Sort: "sla_due_asc"}); len(got) != 5 {
		t.Fatalf("after the migration the sort lists %d cases, want 5", len(got))
	}
}

// A customer message the integration delivers late starts next_response
// from its sent_at: written three hours after it was sent, it is already
// breached.
func TestSLANextResponseFromSentAt(t *testing.T) {
	s, clk, _ := slaStore(t)
	ctx := context.Background()
	t0 := clk.t
	c := slaCase(t, s, clk, 1, care.PriorityMedium)
	alice := "alice"
	if _, err := s.PatchCase(ctx, user(t, "sue"), c.ID, patch(care.StatusOpen, &alice)); err != nil {
		t.Fatal(err)
	}
	clk.t = t0.Add(10 * time.Minute)
	if _, _, err := s.AddMessage(ctx, user(t, "alice"), c.ID, care.NewMessage{Kind: "reply", ReplyType: care.ReplyPublic, Text: "Yes."}); err != nil {
		t.Fatal(err)
	}
	clk.t = t0.Add(3 * time.Hour)
	if _, err := s.Ingest(ctx, user(t, "community"), benchMessage("sla-late", 1, t0.Add(30*time.Minute))); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Case(ctx, user(t, "sue"), c.ID)
	if d := stored.SLA.NextResponseDue; d == nil || !d.Equal(t0.Add(150*time.Minute)) {
		t.Fatalf("next response due %v, want %v (2h from the message's sent_at)", d, t0.Add(150*time.Minute))
	}
	got, err := s.BreachSLAs(ctx)
	if err != nil || len(got) != 1 || got[0].Kind != care.SLANextResponse {
		t.Fatalf("breaches %v %v, want next_response at once", got, err)
	}
}
