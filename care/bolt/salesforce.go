package bolt

// What a case knows of Salesforce: its link, values read from Salesforce,
// and lookups by Salesforce id or external key.

import (
	"context"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

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
	return viewRecord(s, func(tx *bbolt.Tx) (*care.Case, error) {
		v := tx.Bucket(bucket).Get([]byte(key))
		if v == nil {
			return nil, notFound
		}
		return getCase(tx, int64(getU64(v)))
	})
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

// sfCaseValue is a salesforce_cases entry's value: the Care case id, then
// the external id field carebridge wrote on the Salesforce case (none in
// a store of an older release: such a case is named by Id, which is
// always right).
func sfCaseValue(c *care.Case) []byte {
	return append(i64(c.ID), c.Salesforce.ExternalIDField...)
}

// LinkedSalesforceCases lists the Salesforce cases Care cases are linked
// to, in id order, each with the external id field carebridge wrote on it
// ("" when none or not known): the status poller names the ones that
// carry the mapping's field by it, the others by Id. It reads the index,
// not the cases.
func (s *Store) LinkedSalesforceCases(ctx context.Context) ([]care.LinkedSalesforceCase, error) {
	var out []care.LinkedSalesforceCase
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSFCases)
		out = make([]care.LinkedSalesforceCase, 0, b.Stats().KeyN)
		return b.ForEach(func(k, v []byte) error {
			l := care.LinkedSalesforceCase{ID: string(k)} // string() copies out of the transaction
			if len(v) > 8 {
				l.ExternalIDField = string(v[8:])
			}
			out = append(out, l)
			return nil
		})
	})
	return out, err
}

// RecordSalesforceExternalIDField records on the Care cases linked to
// sfCaseIDs that carebridge's external key is in their Salesforce case's
// field (SalesforceLink.ExternalIDField): the status poller found it so
// in Salesforce for cases whose link did not say (an older release's). It
// changes nothing else of the cases (no UpdatedAt, no outbox entry, no
// event), in one transaction; an id no longer linked is skipped. It
// answers how many cases it changed.
func (s *Store) RecordSalesforceExternalIDField(ctx context.Context, field string, sfCaseIDs []string) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		n = 0
		sf := tx.Bucket(bucketSFCases)
		for _, id := range sfCaseIDs {
			v := sf.Get([]byte(id))
			if v == nil {
				continue
			}
			before, err := getCase(tx, int64(getU64(v)))
			if err != nil {
				return err
			}
			if before.Salesforce.CaseID != id || before.Salesforce.ExternalIDField == field {
				continue
			}
			after := *before
			after.Salesforce.ExternalIDField = field
			if err := s.putCase(tx, before, &after); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
