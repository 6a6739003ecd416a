package connector

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

func contactFrom(r salesforce.Record) Contact {
	return Contact{ID: r.ID(), Name: r.String("Name"), FirstName: r.String("FirstName"),
		LastName: r.String("LastName"), Email: r.String("Email")}
}

const contactFields = "Id, Name, FirstName, LastName, Email"

// SearchContacts finds Salesforce contacts by name.
func (e *Escalator) SearchContacts(ctx context.Context, actor care.User, q string) ([]Contact, error) {
	if err := checkAgent(actor); err != nil {
		return nil, err
	}
	q = strings.TrimSpace(q)
	if len([]rune(q)) < 2 {
		return nil, care.Errorf(care.CodeInvalidArgument, "search needs at least two characters")
	}
	var out []Contact
	err := e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		var err error
		out, err = searchContacts(ctx, conn.Client, q)
		return err
	})
	return out, sfError("search contacts", err)
}

func searchContacts(ctx context.Context, c *salesforce.Client, q string) ([]Contact, error) {
	recs, err := c.Search(ctx, fmt.Sprintf("FIND {%s} IN NAME FIELDS RETURNING Contact(%s ORDER BY LastName, FirstName LIMIT 20)",
		salesforce.EscapeSOSL(q), contactFields))
	if err != nil {
		return nil, err
	}
	out := make([]Contact, 0, len(recs))
	for _, r := range recs {
		out = append(out, contactFrom(r))
	}
	return out, nil
}

// LinkContact links a customer to an existing contact, checked in
// Salesforce.
func (e *Escalator) LinkContact(ctx context.Context, actor care.User, customerID int64, contactID string) (care.Customer, Contact, error) {
	if err := checkAgent(actor); err != nil {
		return care.Customer{}, Contact{}, err
	}
	if _, err := e.Store.Customer(ctx, actor, customerID); err != nil {
		return care.Customer{}, Contact{}, err
	}
	if !looksLikeID(contactID, "003") {
		return care.Customer{}, Contact{}, care.Errorf(care.CodeContactNotFound, "%q is not a Salesforce contact id", contactID)
	}
	var ct Contact
	err := e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		r, err := conn.Client.Get(ctx, "Contact", contactID, "Id", "Name", "FirstName", "LastName", "Email")
		if err != nil {
			return err
		}
		ct = contactFrom(r)
		return nil
	})
	if errors.Is(err, salesforce.ErrNotFound) {
		return care.Customer{}, Contact{}, care.Errorf(care.CodeContactNotFound, "Salesforce has no contact %s", contactID)
	}
	if err != nil {
		return care.Customer{}, Contact{}, sfError("read the contact", err)
	}
	cu, err := e.Store.SetCustomerContact(ctx, customerID, ct.ID)
	return cu, ct, err
}

func looksLikeID(id, prefix string) bool {
	if (len(id) != 15 && len(id) != 18) || !strings.HasPrefix(id, prefix) {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// UnlinkContact removes a customer's contact link.
func (e *Escalator) UnlinkContact(ctx context.Context, actor care.User, customerID int64) (care.Customer, error) {
	if err := checkAgent(actor); err != nil {
		return care.Customer{}, err
	}
	return e.Store.SetCustomerContact(ctx, customerID, "")
}

// CreateContact creates a contact through the contact mapping plus
// overrides, and links the customer to it.
func (e *Escalator) CreateContact(ctx context.Context, actor care.User, customerID int64, overrides map[string]any) (care.Customer, Contact, error) {
	if err := checkAgent(actor); err != nil {
		return care.Customer{}, Contact{}, err
	}
	cu, err := e.Store.Customer(ctx, actor, customerID)
	if err != nil {
		return care.Customer{}, Contact{}, err
	}
	m, err := e.mapping()
	if err != nil {
		return care.Customer{}, Contact{}, err
	}
	if m.Contact == nil {
		return care.Customer{}, Contact{}, care.Errorf(care.CodeMappingNotConfigured, "the mapping has no contact section")
	}
	var ct Contact
	err = e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		var err error
		ct, err = e.createContact(ctx, conn, m, mapping.Input{Customer: cu, Agent: actor, Overrides: overrides})
		return err
	})
	if err != nil {
		return care.Customer{}, Contact{}, sfError("create the contact", err)
	}
	cu, err = e.Store.SetCustomerContact(ctx, customerID, ct.ID)
	return cu, ct, err
}

func (e *Escalator) createContact(ctx context.Context, conn *tokens.Conn, m *mapping.Mapping, in mapping.Input) (Contact, error) {
	info, err := e.describe(ctx, conn, m.Contact.Object)
	if err != nil {
		return Contact{}, err
	}
	rec, err := m.Render(mapping.ObjectContact, in, info)
	if err != nil {
		return Contact{}, care.Errorf(care.CodeInvalidArgument, "render the contact: %v", err)
	}
	id, err := save(ctx, conn.Client, rec)
	if err != nil {
		return Contact{}, err
	}
	r, err := conn.Client.Get(ctx, rec.Object, id, "Id", "Name", "FirstName", "LastName", "Email")
	if err != nil {
		return Contact{ID: id}, nil // created; the details are cosmetic
	}
	return contactFrom(r), nil
}

// findContacts looks for a customer's contact: by first and last name when
// both are known, else by username, handle or platform id.
func findContacts(ctx context.Context, c *salesforce.Client, cu care.Customer) ([]Contact, error) {
	if cu.FirstName != "" && cu.LastName != "" {
		recs, err := c.Query(ctx, fmt.Sprintf("SELECT %s FROM Contact WHERE FirstName = %s AND LastName = %s ORDER BY CreatedDate LIMIT 10",
			contactFields, salesforce.QuoteSOQL(cu.FirstName), salesforce.QuoteSOQL(cu.LastName)))
		if err != nil {
			return nil, err
		}
		out := make([]Contact, 0, len(recs))
		for _, r := range recs {
			out = append(out, contactFrom(r))
		}
		return out, nil
	}
	for _, term := range []string{strings.TrimPrefix(cu.Username, "@"), cu.PlatformUserID} {
		if len([]rune(term)) < 2 {
			continue
		}
		found, err := searchContacts(ctx, c, term)
		if err != nil {
			return nil, err
		}
		if len(found) > 0 {
			return found, nil
		}
	}
	return nil, nil
}
