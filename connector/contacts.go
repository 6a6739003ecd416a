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
	return contactsFrom(c.Search(ctx, fmt.Sprintf("FIND {%s} IN NAME FIELDS RETURNING Contact(%s ORDER BY LastName, FirstName LIMIT 20)",
		salesforce.EscapeSOSL(q), contactFields)))
}

// contactsFrom converts the answer of a contact query or search.
func contactsFrom(recs []salesforce.Record, err error) ([]Contact, error) {
	if err != nil {
		return nil, err
	}
	out := make([]Contact, 0, len(recs))
	for _, r := range recs {
		out = append(out, contactFrom(r))
	}
	return out, nil
}

// ContactLink is what linking or creating a customer's contact did.
type ContactLink struct {
	Customer care.Customer
	Contact  Contact
	// Creation tells which token created the contact; nil for a link.
	Creation *Creation
	// LateContact is what the link did to the customer's cases escalated
	// without a contact.
	LateContact LateContact
}

// LateContact lists the Care cases whose Salesforce case got the newly
// linked contact (Updated), and those Salesforce did not let change
// (Pending: they keep escalated_without_contact; linking again retries).
type LateContact struct {
	Updated []int64 `json:"updated"`
	Pending []int64 `json:"pending"`
}

// LinkContact links a customer to an existing contact, checked in
// Salesforce, and gives it to the customer's cases escalated without one.
func (e *Escalator) LinkContact(ctx context.Context, actor care.User, customerID int64, contactID string) (ContactLink, error) {
	if err := checkAgent(actor); err != nil {
		return ContactLink{}, err
	}
	if _, err := e.Store.Customer(ctx, actor, customerID); err != nil {
		return ContactLink{}, err
	}
	if !looksLikeID(contactID, "003") {
		return ContactLink{}, care.Errorf(care.CodeContactNotFound, "%q is not a Salesforce contact id", contactID)
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
		return ContactLink{}, care.Errorf(care.CodeContactNotFound, "Salesforce has no contact %s", contactID)
	}
	if err != nil {
		return ContactLink{}, sfError("read the contact", err)
	}
	return e.link(ctx, actor, customerID, ct)
}

// link stores a customer's contact, then gives it to the customer's
// Salesforce cases that were escalated without one.
func (e *Escalator) link(ctx context.Context, actor care.User, customerID int64, ct Contact) (ContactLink, error) {
	cu, err := e.Store.SetCustomerContact(ctx, customerID, ct.ID)
	if err != nil {
		return ContactLink{}, err
	}
	return ContactLink{Customer: cu, Contact: ct, LateContact: e.lateContact(ctx, actor, customerID, ct.ID)}, nil
}

// lateContact sets the contact of the customer's Salesforce cases that
// were escalated without one (SPEC §11 "Late contact"): ContactId in
// Salesforce first, then the Care case's link, so a case Salesforce refuses
// keeps escalated_without_contact and nothing is lost.
func (e *Escalator) lateContact(ctx context.Context, actor care.User, customerID int64, contactID string) LateContact {
	late := LateContact{Updated: []int64{}, Pending: []int64{}}
	cases, err := e.Store.CustomerCases(ctx, actor, customerID)
	if err != nil {
		e.log().Warn("could not list the customer's cases to give them their contact", "customer_id", customerID, "err", err)
		return late
	}
	object := "Case"
	if m := e.Mapping(); m != nil && m.Case != nil {
		object = m.Case.Object
	}
	for _, c := range cases {
		sf := c.Salesforce
		if sf.CaseID == "" || !sf.EscalatedWithoutContact || sf.DeletedAt != nil {
			continue
		}
		err := e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
			return conn.Client.Update(ctx, object, sf.CaseID, map[string]any{contactField: contactID})
		})
		if err == nil {
			_, err = e.Store.SetSalesforceLink(ctx, c.ID, func(l *care.SalesforceLink) {
				l.ContactID, l.EscalatedWithoutContact = contactID, false
			})
		}
		if err != nil {
			e.log().Warn("could not give the Salesforce case its contact; linking again retries", "case_id", c.ID, "salesforce_case", sf.CaseID, "err", err)
			late.Pending = append(late.Pending, c.ID)
			continue
		}
		late.Updated = append(late.Updated, c.ID)
	}
	return late
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
// overrides, links the customer to it and gives it to the customer's cases
// escalated without one.
func (e *Escalator) CreateContact(ctx context.Context, actor care.User, customerID int64, overrides map[string]any) (ContactLink, error) {
	if err := checkAgent(actor); err != nil {
		return ContactLink{}, err
	}
	cu, err := e.Store.Customer(ctx, actor, customerID)
	if err != nil {
		return ContactLink{}, err
	}
	m, sec, err := e.section(mapping.ObjectContact, overrides)
	if err != nil {
		return ContactLink{}, err
	}
	var ct Contact
	how, err := e.createAs(ctx, actor, m, sec, overrides, nil, func(conn *tokens.Conn) error {
		var err error
		ct, err = e.createContact(ctx, conn, m, mapping.Input{Customer: cu, Agent: actor, Overrides: overrides})
		return err
	})
	if err != nil {
		return ContactLink{}, sfError("create the contact", err)
	}
	l, err := e.link(ctx, actor, customerID, ct)
	l.Creation = &how
	return l, err
}

func (e *Escalator) createContact(ctx context.Context, conn *tokens.Conn, m *mapping.Mapping, in mapping.Input) (Contact, error) {
	id, _, err := e.upsert(ctx, conn, m, mapping.ObjectContact, in, nil)
	if err != nil {
		return Contact{}, err
	}
	r, err := conn.Client.Get(ctx, m.Contact.Object, id, "Id", "Name", "FirstName", "LastName", "Email")
	if err != nil {
		return Contact{ID: id}, nil // created; the details are cosmetic
	}
	return contactFrom(r), nil
}

// syncContact finds or makes the contact of a customer escalated
// automatically with contact_sync: a unique match is linked, none makes a
// new contact (when the mapping has a contact section); several leave the
// customer unlinked (""), as linking the wrong person is worse.
func (e *Escalator) syncContact(ctx context.Context, actor care.User, m *mapping.Mapping, cu care.Customer) (string, error) {
	var matches []Contact
	err := e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		var err error
		matches, err = findContacts(ctx, conn.Client, cu)
		return err
	})
	if err != nil {
		return "", err
	}
	var ct Contact
	switch {
	case len(matches) == 1:
		ct = matches[0]
	case len(matches) == 0 && m.Contact != nil:
		_, err := e.createAs(ctx, actor, m, m.Contact, nil, nil, func(conn *tokens.Conn) error {
			var err error
			ct, err = e.createContact(ctx, conn, m, mapping.Input{Customer: cu, Agent: actor})
			return err
		})
		if err != nil {
			return "", err
		}
	default:
		return "", nil
	}
	// Linked before the case is created, so a retry reuses it.
	if _, err := e.link(ctx, actor, cu.ID, ct); err != nil {
		return "", err
	}
	return ct.ID, nil
}

// findContacts looks for a customer's contact: by first and last name when
// both are known, else by username, handle or platform id.
func findContacts(ctx context.Context, c *salesforce.Client, cu care.Customer) ([]Contact, error) {
	if cu.FirstName != "" && cu.LastName != "" {
		return contactsFrom(c.Query(ctx, fmt.Sprintf("SELECT %s FROM Contact WHERE FirstName = %s AND LastName = %s ORDER BY CreatedDate LIMIT 10",
			contactFields, salesforce.QuoteSOQL(cu.FirstName), salesforce.QuoteSOQL(cu.LastName))))
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
