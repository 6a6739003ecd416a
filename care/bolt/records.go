package bolt

// Case records: their JSON, the view index entries and counters a case
// write moves, and the claim of a (customer, profile) pair.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

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

// getRecord reads the JSON record under key in bucket; a missing one is
// a not-found error saying notFound (formatted with args).
func getRecord[T any](tx *bbolt.Tx, bucket, key []byte, notFound string, args ...any) (*T, error) {
	var v T
	ok, err := getJSON(tx.Bucket(bucket), key, &v)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, care.Errorf(care.CodeNotFound, notFound, args...)
	}
	return &v, nil
}

func getCase(tx *bbolt.Tx, id int64) (*care.Case, error) {
	c, err := getRecord[care.Case](tx, bucketCases, i64(id), "case %d not found", id)
	if err == nil && c.Fields == nil {
		c.Fields = map[string]string{}
	}
	return c, err
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

var indexedSorts = []care.SortKey{care.SortCreated, care.SortLastMessage, care.SortPriority, care.SortSLADue}

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
// entries, counters and search words from before's to c's.
func (s *Store) putCase(tx *bbolt.Tx, before, c *care.Case) error {
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
	stored := *c
	stored.Customer = nil // read from the customer, never stored with the case
	if err := putJSON(cases, i64(c.ID), &stored); err != nil {
		return err
	}
	if err := moveCounters(tx, before, c); err != nil {
		return err
	}
	if err := indexSLA(tx, before, c); err != nil {
		return err
	}
	if err := s.indexWaiting(tx, before, c); err != nil {
		return err
	}
	if before == nil {
		if err := s.indexNewCase(tx, c); err != nil {
			return err
		}
	} else if c.Status == care.StatusDeleted && before.Status != care.StatusDeleted {
		if err := s.unindexCase(tx, c); err != nil {
			return err
		}
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
	if before == nil || before.Salesforce.CaseID != c.Salesforce.CaseID || before.Salesforce.ExternalIDField != c.Salesforce.ExternalIDField {
		sf := tx.Bucket(bucketSFCases)
		if before != nil && before.Salesforce.CaseID != "" {
			if err := sf.Delete([]byte(before.Salesforce.CaseID)); err != nil {
				return err
			}
		}
		if c.Salesforce.CaseID != "" {
			if err := sf.Put([]byte(c.Salesforce.CaseID), sfCaseValue(c)); err != nil {
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

// addCount moves the count under key in b by d, never below 0: the
// cases by status, and each outbox's pending and failed entries.
func addCount[K ~string | ~[]byte](b *bbolt.Bucket, key K, d int64) error {
	k := []byte(key)
	var n int64
	if v := b.Get(k); v != nil {
		n = int64(getU64(v))
	}
	return b.Put(k, i64(max(n+d, 0)))
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
