package bolt

// View counts: counters kept in the transaction of every case write, so
// the counts of all default views cost a few gets however many cases the
// store holds.
//
//	view_counts    scope 0x00 status → count ("-" unassigned, "u:"+user, "m:"+user mentioned)
//	case_mentions  case id, user → ∅ (the users a case's notes mention)
//
// Counts over every case (scope "*") are status_counts.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

var (
	bucketViewCounts   = []byte("view_counts")
	bucketCaseMentions = []byte("case_mentions")

	// metaViewCounts marks a database whose view counters and
	// case_mentions are complete.
	metaViewCounts = []byte("view_counts_v1")
)

// mentionScope is the counter scope of the cases mentioning a user.
func mentionScope(user string) []byte { return []byte("m:" + user) }

func counterKey(scope []byte, st care.Status) []byte {
	return join(scope, sep, []byte{statusByte(st)})
}

func addCounter(tx *bbolt.Tx, scope []byte, st care.Status, d int64) error {
	b := tx.Bucket(bucketViewCounts)
	k := counterKey(scope, st)
	var n int64
	if v := b.Get(k); v != nil {
		n = int64(getU64(v))
	}
	return b.Put(k, i64(max(n+d, 0)))
}

// moveCounters moves c's counts from before's (status, assignee) to c's;
// before is nil for a new case.
func moveCounters(tx *bbolt.Tx, before, c *care.Case) error {
	if before != nil && before.Status == c.Status && before.Assignee == c.Assignee {
		return nil
	}
	if before != nil {
		if err := addCounter(tx, assigneeScope(before.Assignee), before.Status, -1); err != nil {
			return err
		}
	}
	if err := addCounter(tx, assigneeScope(c.Assignee), c.Status, 1); err != nil {
		return err
	}
	if before == nil || before.Status == c.Status {
		return nil
	}
	prefix := i64(c.ID)
	cur := tx.Bucket(bucketCaseMentions).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		scope := mentionScope(string(k[8:]))
		if err := addCounter(tx, scope, before.Status, -1); err != nil {
			return err
		}
		if err := addCounter(tx, scope, c.Status, 1); err != nil {
			return err
		}
	}
	return nil
}

// countMention counts case c (in status st) for user the first time a note
// on it mentions them.
func countMention(tx *bbolt.Tx, user string, caseID int64, st care.Status) error {
	if err := tx.Bucket(bucketCaseMentions).Put(join(i64(caseID), []byte(user)), nil); err != nil {
		return err
	}
	return addCounter(tx, mentionScope(user), st, 1)
}

// counter reads one count of a plan's scope.
func counter(tx *bbolt.Tx, scope care.Scope, st care.Status) int64 {
	var v []byte
	switch {
	case scope.MentionsOf != "":
		v = tx.Bucket(bucketViewCounts).Get(counterKey(mentionScope(scope.MentionsOf), st))
	case scope.Unassigned || scope.Assignee != "":
		v = tx.Bucket(bucketViewCounts).Get(counterKey(assigneeScope(scope.Assignee), st))
	default:
		v = tx.Bucket(bucketStatusCounts).Get([]byte(st))
	}
	if v == nil {
		return 0
	}
	return int64(getU64(v))
}

// countable reports whether the counters alone count what plan lists: no
// filter is left to apply to each case.
func countable(plan care.Plan) bool {
	return plan.Priority == "" && plan.Platform == "" && plan.Profile == "" &&
		(plan.Scope.MentionsOf == "" || plan.Scope.Assignee == "")
}

func countByCounters(tx *bbolt.Tx, plan care.Plan) int64 {
	if plan.Empty {
		return 0
	}
	var n int64
	for _, st := range plan.Statuses {
		n += counter(tx, plan.Scope, st)
	}
	return n
}

// ViewCounts counts every default view actor may see, as the views define
// it (care.PlanQuery), from the counters: a view actor may not see (spam
// for an agent) is left out.
func (s *Store) ViewCounts(ctx context.Context, actor care.User) (map[care.View]int64, error) {
	if err := care.CheckViewCounts(actor); err != nil {
		return nil, err
	}
	plans := make(map[care.View]care.Plan, len(care.Views))
	for _, v := range care.Views {
		plan, err := care.PlanQuery(actor, care.CaseQuery{View: v})
		if care.ErrorCode(err) == care.CodeForbidden {
			continue
		}
		if err != nil {
			return nil, err
		}
		plans[v] = plan
	}
	out := make(map[care.View]int64, len(plans))
	err := s.view(func(tx *bbolt.Tx) error {
		for v, plan := range plans {
			out[v] = countByCounters(tx, plan)
		}
		return nil
	})
	return out, err
}

// migrateViewCounts builds the view counters and case_mentions of a store
// written before they existed, once.
func migrateViewCounts(tx *bbolt.Tx) error {
	if tx.Bucket(bucketMeta).Get(metaViewCounts) != nil {
		return nil
	}
	for _, name := range [][]byte{bucketViewCounts, bucketCaseMentions} {
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	status := map[int64]care.Status{}
	err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
		var c care.Case
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("case %x: %w", k, err)
		}
		status[c.ID] = c.Status
		return addCounter(tx, assigneeScope(c.Assignee), c.Status, 1)
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketMentionLatest).ForEach(func(k, _ []byte) error {
		user, id, ok := bytes.Cut(k, sep)
		if !ok || len(id) != 8 {
			return nil
		}
		st, ok := status[int64(getU64(id))]
		if !ok {
			return nil
		}
		return countMention(tx, string(user), int64(getU64(id)), st)
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaViewCounts, []byte{1})
}
