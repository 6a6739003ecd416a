package bolt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

func user(t *testing.T, id string) care.User {
	t.Helper()
	u, ok := benchUsers.User(id)
	if !ok {
		t.Fatalf("no user %s", id)
	}
	return u
}

// listAll pages through a query to its end.
func listAll(t *testing.T, s *Store, actor care.User, q care.CaseQuery) []care.Case {
	t.Helper()
	var out []care.Case
	q.Limit = care.MaxPageLimit
	for {
		page, err := s.Cases(context.Background(), actor, q)
		if err != nil {
			t.Fatalf("list %+v as %s: %v", q, actor.ID, err)
		}
		out = append(out, page.Cases...)
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
}

func caseIDs(cases []care.Case) []int64 {
	ids := make([]int64, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
	}
	return ids
}

// escalateText makes (or joins) the case of a customer with a message.
func escalateText(t *testing.T, s *Store, ext string, in care.CustomerInput, text string) care.Case {
	t.Helper()
	res, err := s.Escalate(context.Background(), user(t, "community"), care.EscalateInput{Message: care.IncomingMessage{
		ExternalID: ext, Platform: "twitter", ProfileID: "brand", Customer: in, Text: text, SentAt: time.Now().UTC()}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Case
}

func patch(status care.Status, assignee *string) care.CasePatch {
	var p care.CasePatch
	if status != "" {
		p.Status = care.Optional[care.Status]{Set: true, Value: status}
	}
	if assignee != nil {
		p.Assignee = care.Optional[string]{Set: true, Null: *assignee == "", Value: *assignee}
	}
	return p
}

// checkCountsMatchListings compares every default view's count with its
// listing, for every agent and supervisor.
func checkCountsMatchListings(t *testing.T, s *Store) {
	t.Helper()
	for _, id := range []string{"alice", "bob", "sue"} {
		u := user(t, id)
		counts, err := s.ViewCounts(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range care.Views {
			n, ok := counts[v]
			if v == care.ViewSpam && u.Role == care.RoleAgent {
				if ok {
					t.Errorf("%s: agents get no spam count, got %d", id, n)
				}
				continue
			}
			if got := len(listAll(t, s, u, care.CaseQuery{View: v})); !ok || n != int64(got) {
				t.Errorf("%s %s: count %d (present %v), listing %d", id, v, n, ok, got)
			}
		}
	}
}

// Random work on cases (escalations, ingests, assignments, status changes,
// notes with mentions, replies, deletions, time passing and SLA breaches)
// keeps every view's count equal to its listing, default views and saved
// ones (sla=, search and filters) alike.
func TestViewCountsEqualListings(t *testing.T) {
	s, clk, _ := slaStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	community := user(t, "community")
	agents := []care.User{user(t, "alice"), user(t, "bob"), user(t, "sue")}
	statuses := []care.Status{care.StatusNew, care.StatusOpen, care.StatusPending, care.StatusOnHold, care.StatusDone, care.StatusSpam}
	saveCountedViews(t, s)
	seen := map[string]int64{} // the largest count of each saved view
	var ids []int64
	for step := range 600 {
		actor := agents[rng.IntN(len(agents))]
		var err error
		switch op := rng.IntN(13); {
		case op < 2 || len(ids) == 0:
			var res care.EscalateResult
			res, err = s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage(fmt.Sprintf("e-%d", step), rng.IntN(30), time.Now())})
			if err == nil && res.Created {
				ids = append(ids, res.Case.ID)
			}
		case op < 4:
			_, err = s.Ingest(ctx, community, benchMessage(fmt.Sprintf("i-%d", step), rng.IntN(30), time.Now()))
		case op < 6:
			who := []string{"", "alice", "bob", "sue"}[rng.IntN(4)]
			_, err = s.PatchCase(ctx, actor, ids[rng.IntN(len(ids))], patch("", &who))
		case op < 8:
			_, err = s.PatchCase(ctx, actor, ids[rng.IntN(len(ids))], patch(statuses[rng.IntN(len(statuses))], nil))
		case op < 10:
			mentions := []string{}
			for _, u := range agents {
				if rng.IntN(2) == 0 {
					mentions = append(mentions, u.ID)
				}
			}
			kind := []string{"note", "reply"}[rng.IntN(2)]
			_, _, err = s.AddMessage(ctx, actor, ids[rng.IntN(len(ids))], care.NewMessage{Kind: kind, Text: "look", Mentions: mentions})
		case op < 12:
			_, err = s.DeleteCase(ctx, actor, ids[rng.IntN(len(ids))])
		default:
			clk.t = clk.t.Add(time.Duration(rng.IntN(20)) * time.Minute)
			_, err = s.BreachSLAs(ctx)
		}
		if err != nil && care.ErrorCode(err) == "" {
			t.Fatalf("step %d: %v", step, err)
		}
		if step%150 == 149 {
			checkCountsMatchListings(t, s)
			checkSavedViewCounts(t, s, seen)
		}
	}
	for name, n := range seen {
		if n == 0 {
			t.Errorf("saved view %q never listed a case: the test checks nothing of it", name)
		}
	}
}

// ViewCounts is for agents and supervisors only.
func TestViewCountsRefuseIntegrations(t *testing.T) {
	s, _ := testStore(t)
	if _, err := s.ViewCounts(context.Background(), user(t, "community")); care.ErrorCode(err) != care.CodeForbidden {
		t.Fatalf("integration: %v, want forbidden", err)
	}
}

func ptr[T any](v T) *T { return &v }

// A store written before counters and the search index gets both at open,
// once.
func TestLiveIndexesMigrate(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir)
	ctx := context.Background()
	sue := user(t, "sue")
	cases := escalateN(t, s, 0, 6)
	for i, c := range cases[:4] {
		who := []string{"alice", "bob"}[i%2]
		if _, err := s.PatchCase(ctx, sue, c.ID, patch("", &who)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AddMessage(ctx, sue, c.ID, care.NewMessage{Kind: "note", Text: "ask about lavender", Mentions: []string{who}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteCase(ctx, sue, cases[5].ID); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range append([][]byte{bucketViewCounts, bucketCaseMentions}, searchBuckets...) {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		for _, k := range [][]byte{metaViewCounts, metaSearchIndex} {
			if err := tx.Bucket(bucketMeta).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 4 // the messages in several transactions
	s = openAt(t, dir)
	checkCountsMatchListings(t, s)
	got := caseIDs(listAll(t, s, sue, care.CaseQuery{Q: "lavender", Sort: "created_asc"}))
	if !slices.Equal(got, caseIDs(cases[:4])) {
		t.Errorf("search after migration: %v", got)
	}
	if got := listAll(t, s, sue, care.CaseQuery{Q: "perfume doe5"}); len(got) != 0 {
		t.Errorf("the deleted case is indexed: %v", caseIDs(got))
	}
	if got := listAll(t, s, sue, care.CaseQuery{Q: "perfume doe4"}); len(got) != 1 {
		t.Errorf("a case by its message and customer: %v", caseIDs(got))
	}
}
