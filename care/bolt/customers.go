package bolt

// Customers: one per social account, found by (platform, platform user id).

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

func getCustomer(tx *bbolt.Tx, id int64) (*care.Customer, error) {
	return getRecord[care.Customer](tx, bucketCustomers, i64(id), "customer %d not found", id)
}

// findCustomer is getCustomer answering nil for a customer that is not
// there.
func findCustomer(tx *bbolt.Tx, id int64) (*care.Customer, error) {
	c, err := getCustomer(tx, id)
	if care.IsNotFound(err) {
		return nil, nil
	}
	return c, err
}

func accountKey(platform, userID string) []byte {
	return join([]byte(platform), sep, []byte(userID))
}

// customerFor finds the customer of a social account, creating it (not yet
// stored: the caller stores it with putCustomer) when it is new. New
// details fill empty ones but never overwrite what an agent set.
func customerFor(tx *bbolt.Tx, platform string, in care.CustomerInput, now time.Time) (*care.Customer, bool, error) {
	if v := tx.Bucket(bucketAccounts).Get(accountKey(platform, in.PlatformUserID)); v != nil {
		c, err := getCustomer(tx, int64(getU64(v)))
		if err != nil {
			return nil, false, err
		}
		changed := false
		fill := func(dst *string, v string) {
			if *dst == "" && v != "" {
				*dst, changed = v, true
			}
		}
		fill(&c.Username, in.Username)
		fill(&c.FirstName, in.FirstName)
		fill(&c.LastName, in.LastName)
		if changed {
			c.UpdatedAt = now
		}
		return c, changed, nil
	}
	return &care.Customer{
		CustomerIdentity: care.CustomerIdentity{Platform: platform, PlatformUserID: in.PlatformUserID, Username: in.Username,
			FirstName: in.FirstName, LastName: in.LastName},
		CreatedAt: now, UpdatedAt: now,
	}, true, nil
}

func (s *Store) putCustomer(tx *bbolt.Tx, c *care.Customer) error {
	b := tx.Bucket(bucketCustomers)
	b.FillPercent = appendFill
	var old *care.Customer
	if c.ID != 0 {
		var err error
		if old, err = getCustomer(tx, c.ID); err != nil {
			return err
		}
	} else {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		c.ID = int64(seq)
		if err := tx.Bucket(bucketAccounts).Put(accountKey(c.Platform, c.PlatformUserID), i64(c.ID)); err != nil {
			return err
		}
	}
	if err := s.reindexCustomer(tx, old, c); err != nil {
		return err
	}
	return putJSON(b, i64(c.ID), c)
}

// Customer returns one customer.
func (s *Store) Customer(ctx context.Context, actor care.User, id int64) (care.Customer, error) {
	return viewRecord(s, func(tx *bbolt.Tx) (*care.Customer, error) { return getCustomer(tx, id) })
}

// PatchCustomer changes a customer's details.
func (s *Store) PatchCustomer(ctx context.Context, actor care.User, id int64, p care.CustomerPatch) (care.Customer, error) {
	if err := care.CheckActsAsAgent(actor); err != nil {
		return care.Customer{}, err
	}
	var out care.Customer
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		c, err := getCustomer(tx, id)
		if err != nil {
			return err
		}
		if err := p.Apply(c, s.now()); err != nil {
			return err
		}
		if err := s.putCustomer(tx, c); err != nil {
			return err
		}
		out = *c
		return nil
	})
	return out, err
}

// CustomerCases returns a customer's cases, newest first.
func (s *Store) CustomerCases(ctx context.Context, actor care.User, id int64) ([]care.Case, error) {
	out := []care.Case{}
	err := s.view(func(tx *bbolt.Tx) error {
		if _, err := getCustomer(tx, id); err != nil {
			return err
		}
		prefix := i64(id)
		c := tx.Bucket(bucketCustomerCases).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			cs, err := getCase(tx, int64(getU64(k[8:])))
			if err != nil {
				return err
			}
			out = append(out, *cs)
		}
		return withCustomers(tx, out)
	})
	slices.Reverse(out)
	return out, err
}

// SetCustomerContact links a customer to a Salesforce contact ("" unlinks).
func (s *Store) SetCustomerContact(ctx context.Context, customerID int64, contactID string) (care.Customer, error) {
	var out care.Customer
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		c, err := getCustomer(tx, customerID)
		if err != nil {
			return err
		}
		c.ContactID, c.UpdatedAt = contactID, s.now()
		if err := s.putCustomer(tx, c); err != nil {
			return err
		}
		out = *c
		return nil
	})
	return out, err
}
