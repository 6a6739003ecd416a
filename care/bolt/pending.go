package bolt

import (
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// A pending index (outbox_pending, publish_pending) keeps each waiting
// entry as entry id → case id, next attempt: 16 bytes an entry, so a long
// backlog is scanned without decoding the entries.

// setPending keeps entry id of caseID in the pending index in bucket: due
// at next while pending, out of it otherwise.
func setPending(tx *bbolt.Tx, bucket []byte, id uint64, caseID int64, next time.Time, pending bool) error {
	idx := tx.Bucket(bucket)
	if !pending {
		return idx.Delete(u64(id))
	}
	idx.FillPercent = appendFill
	return idx.Put(u64(id), join(i64(caseID), u64(care.TimeKey(next))))
}

// dueHeads walks the pending index in bucket oldest first and returns up
// to max entries due at now, keeping each case's order: a case stops at
// its first entry not yet due (or when busy reports it in delivery), and
// gives at most perCase entries (0: no bound).
func dueHeads(tx *bbolt.Tx, bucket []byte, now time.Time, max, perCase int, busy func(caseID int64) bool) []pendingHead {
	var out []pendingHead
	taken := map[int64]int{}
	blocked := map[int64]bool{}
	due := care.TimeKey(now)
	c := tx.Bucket(bucket).Cursor()
	for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
		h, ok := readHead(k, v)
		if !ok || blocked[h.caseID] {
			continue
		}
		if h.next > due || (busy != nil && busy(h.caseID)) || (perCase > 0 && taken[h.caseID] == perCase) {
			blocked[h.caseID] = true
			continue
		}
		taken[h.caseID]++
		out = append(out, h)
	}
	return out
}

// nextAttempt returns when the earliest entry of the pending index in
// bucket becomes due (zero when there is none).
func (s *Store) nextAttempt(bucket []byte) (time.Time, error) {
	var next uint64
	found := false
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			if h, ok := readHead(k, v); ok && (!found || h.next < next) {
				next, found = h.next, true
			}
			return nil
		})
	})
	if err != nil || !found {
		return time.Time{}, err
	}
	return time.Unix(0, int64(next)).UTC(), nil
}
