package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// openAt opens the store of dir (closed at the end of the test).
func openAt(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func escalateN(t *testing.T, s *Store, from, n int) []care.Case {
	t.Helper()
	community, _ := benchUsers.User("community")
	var out []care.Case
	for i := from; i < from+n; i++ {
		res, err := s.Escalate(context.Background(), community, care.EscalateInput{
			Message: benchMessage(fmt.Sprintf("keys-%d", i), i, time.Now().Add(-time.Minute))})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res.Case)
	}
	return out
}

// Every case and message gets an external key at creation that is kept by
// later writes and never repeats, also in a copy of the database (a
// restore from backup) where case ids and message ids start over.
func TestExternalKeysAcrossRestore(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir)
	ctx := context.Background()
	cases := escalateN(t, s, 0, 3)
	seen := map[string]bool{}
	for _, c := range cases {
		if !care.ValidExternalKey(c.ExternalKey) || seen[c.ExternalKey] {
			t.Fatalf("case %d: external key %q", c.ID, c.ExternalKey)
		}
		seen[c.ExternalKey] = true
		msgs, err := s.MessagesForRender(ctx, c.ID, 10)
		if err != nil || len(msgs) != 1 || !care.ValidExternalKey(msgs[0].ExternalKey) || msgs[0].ExternalKey == msgs[0].ID {
			t.Fatalf("case %d messages: %v %+v", c.ID, err, msgs)
		}
	}
	sue, _ := benchUsers.User("sue")
	patched, err := s.PatchCase(ctx, sue, cases[0].ID, care.CasePatch{Priority: care.Optional[care.Priority]{Set: true, Value: care.PriorityHigh}})
	if err != nil || patched.ExternalKey != cases[0].ExternalKey {
		t.Fatalf("a patch changed the key: %v %q → %q", err, cases[0].ExternalKey, patched.ExternalKey)
	}
	// The "backup": a copy of the file taken now; both go on.
	s.Close()
	restored := t.TempDir()
	copyFile(t, filepath.Join(dir, FileName), filepath.Join(restored, FileName))
	a, b := openAt(t, dir), openAt(t, restored)
	na, nb := escalateN(t, a, 10, 2), escalateN(t, b, 20, 2)
	for i := range na {
		if na[i].ID != nb[i].ID {
			t.Fatalf("ids should start over alike: %d vs %d", na[i].ID, nb[i].ID)
		}
		for _, k := range []string{na[i].ExternalKey, nb[i].ExternalKey} {
			if seen[k] {
				t.Fatalf("key %s minted twice across a restore", k)
			}
			seen[k] = true
		}
	}
}

// A database of the last release (cases and messages without keys) opens:
// an escalated case keeps the value its Salesforce record was upserted by
// (its id), another case gets a fresh key, a message reads its id as key.
func TestExternalKeysUpgrade(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir)
	cases := escalateN(t, s, 0, 2)
	s.Close()
	// Rewrite the file in the layout of the last release.
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		strip := func(b *bbolt.Bucket, edit func(m map[string]any)) error {
			return b.ForEach(func(k, v []byte) error {
				var m map[string]any
				if err := json.Unmarshal(v, &m); err != nil {
					return err
				}
				delete(m, "external_key")
				edit(m)
				raw, _ := json.Marshal(m)
				return b.Put(k, raw)
			})
		}
		if err := strip(tx.Bucket(bucketCases), func(m map[string]any) {
			if int64(m["id"].(float64)) == cases[0].ID {
				m["salesforce"].(map[string]any)["case_id"] = "500000000000001AAA"
			}
		}); err != nil {
			return err
		}
		if err := strip(tx.Bucket(bucketMessages), func(map[string]any) {}); err != nil {
			return err
		}
		// The last release had neither the index nor its marker.
		if err := tx.DeleteBucket(bucketCaseKeys); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(metaCaseKeys)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir)
	sue, _ := benchUsers.User("sue")
	ctx := context.Background()
	escalated, err := s.Case(ctx, sue, cases[0].ID)
	if err != nil || escalated.ExternalKey != strconv.FormatInt(cases[0].ID, 10) {
		t.Fatalf("escalated case: %v key %q, want its id", err, escalated.ExternalKey)
	}
	other, err := s.Case(ctx, sue, cases[1].ID)
	if err != nil || !care.ValidExternalKey(other.ExternalKey) || other.ExternalKey == cases[1].ExternalKey {
		t.Fatalf("other case: %v key %q, want a fresh key", err, other.ExternalKey)
	}
	msgs, err := s.MessagesForRender(ctx, cases[1].ID, 10)
	if err != nil || len(msgs) != 1 || msgs[0].ExternalKey != msgs[0].ID {
		t.Fatalf("old message: %v %+v, want its id as key", err, msgs)
	}
	// Both are found by their keys: the migration filled the index.
	for _, c := range []care.Case{escalated, other} {
		if got, err := s.CaseByExternalKey(ctx, c.ExternalKey); err != nil || got.ID != c.ID {
			t.Fatalf("CaseByExternalKey(%q) = %d, %v; want case %d", c.ExternalKey, got.ID, err, c.ID)
		}
	}
	// The migration ran once: a second open keeps the fresh key.
	s.Close()
	s = openAt(t, dir)
	again, _ := s.Case(ctx, sue, cases[1].ID)
	if again.ExternalKey != other.ExternalKey {
		t.Fatalf("key changed on the next open: %q → %q", other.ExternalKey, again.ExternalKey)
	}
}

// A case is found by its external key; no later write moves the key, and
// replaying an ingest answers the message with the key it first got.
func TestCaseByExternalKey(t *testing.T) {
	s := openAt(t, t.TempDir())
	ctx := context.Background()
	cases := escalateN(t, s, 0, 2)
	for _, c := range cases {
		got, err := s.CaseByExternalKey(ctx, c.ExternalKey)
		if err != nil || got.ID != c.ID {
			t.Fatalf("CaseByExternalKey(%q) = %d, %v; want case %d", c.ExternalKey, got.ID, err, c.ID)
		}
	}
	if _, err := s.CaseByExternalKey(ctx, care.NewExternalKey(time.Now())); !care.IsNotFound(err) {
		t.Fatalf("unknown key: %v, want not_found", err)
	}
	changed, err := s.ApplyFromSalesforce(ctx, cases[0].ID, func(c *care.Case, _ time.Time) error {
		c.ExternalKey = cases[1].ExternalKey
		return nil
	})
	if err != nil || changed.ExternalKey != cases[0].ExternalKey {
		t.Fatalf("a write moved the key: %v %q → %q", err, cases[0].ExternalKey, changed.ExternalKey)
	}
	if got, _ := s.CaseByExternalKey(ctx, cases[1].ExternalKey); got.ID != cases[1].ID {
		t.Fatalf("key of case %d now finds case %d", cases[1].ID, got.ID)
	}
	community, _ := benchUsers.User("community")
	in := benchMessage("keys-replay", 7, time.Now().Add(-time.Minute))
	first, err := s.Ingest(ctx, community, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Ingest(ctx, community, in)
	if err != nil || !care.ValidExternalKey(first.Message.ExternalKey) || again.Message.ExternalKey != first.Message.ExternalKey {
		t.Fatalf("replay: %v message key %q → %q", err, first.Message.ExternalKey, again.Message.ExternalKey)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// A page of large messages is cut by weight (never below one message) and
// the rest is reached with before=, so no answer carries hundreds of
// messages at their limits.
func TestMessagePageBytes(t *testing.T) {
	s, _ := testStore(t)
	s.messagePageBytes = 3 * 1000
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	sue, _ := benchUsers.User("sue")
	base := time.Now().Add(-time.Hour)
	var caseID int64
	for i := range 7 {
		in := benchMessage(fmt.Sprintf("page-%d", i), 1, base.Add(time.Duration(i)*time.Minute))
		in.Text = strings.Repeat("x", 900)
		res, err := s.Escalate(ctx, community, care.EscalateInput{Message: in})
		if err != nil {
			t.Fatal(err)
		}
		caseID = res.Case.ID
	}
	var all []string
	before := ""
	for pages := 0; ; pages++ {
		page, err := s.Messages(ctx, sue, caseID, 500, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 || pages > 7 {
			t.Fatalf("page %d holds %d messages of 900+ bytes under a 3,000-byte bound", pages, len(page))
		}
		ids := make([]string, len(page))
		for i, m := range page {
			ids[i] = m.ID
		}
		all = append(ids, all...)
		before = page[0].ID
	}
	if len(all) != 7 {
		t.Fatalf("paging by before= reached %d of 7 messages", len(all))
	}
	// One message over the bound still comes alone.
	s.messagePageBytes = 10
	if page, err := s.Messages(ctx, sue, caseID, 500, ""); err != nil || len(page) != 1 {
		t.Fatalf("tiny bound: %v, %d messages", err, len(page))
	}
}
