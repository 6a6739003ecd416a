package connector

import (
	"context"
	"errors"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// CaseView is GET /api/v1/cases/{id}/salesforce.
type CaseView struct {
	Contact                 *Contact  `json:"contact"`
	Case                    *Record   `json:"case"`
	Lead                    *Record   `json:"lead"`
	EscalatedWithoutContact bool      `json:"escalated_without_contact"`
	SuggestedContacts       []Contact `json:"suggested_contacts"`
}

// CaseSalesforce tells what Salesforce knows of a Care case. It reads the
// linked contact and suggests contacts for an unlinked customer.
func (e *Escalator) CaseSalesforce(ctx context.Context, actor care.User, caseID int64) (CaseView, error) {
	c, err := e.Store.Case(ctx, actor, caseID)
	if err != nil {
		return CaseView{}, err
	}
	cu, err := e.Store.Customer(ctx, actor, c.CustomerID)
	if err != nil {
		return CaseView{}, err
	}
	v := CaseView{EscalatedWithoutContact: c.Salesforce.EscalatedWithoutContact, SuggestedContacts: []Contact{}}
	err = e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		if c.Salesforce.CaseID != "" {
			v.Case = &Record{ID: c.Salesforce.CaseID, Number: c.Salesforce.CaseNumber, Status: c.Salesforce.Status,
				URL: recordURL(conn, "Case", c.Salesforce.CaseID)}
		}
		if c.Salesforce.LeadID != "" {
			v.Lead = &Record{ID: c.Salesforce.LeadID, URL: recordURL(conn, "Lead", c.Salesforce.LeadID)}
		}
		if cu.ContactID != "" {
			r, err := conn.Client.Get(ctx, "Contact", cu.ContactID, "Id", "Name", "FirstName", "LastName", "Email")
			if err != nil && !errors.Is(err, salesforce.ErrNotFound) {
				return err
			}
			if err == nil {
				ct := contactFrom(r)
				v.Contact = &ct
			}
			return nil
		}
		found, err := findContacts(ctx, conn.Client, cu)
		if err != nil {
			return err
		}
		v.SuggestedContacts = append(v.SuggestedContacts, found...)
		return nil
	})
	if errors.Is(err, tokens.ErrNoHealthyToken) {
		// Show what Care knows even while the connection is down.
		if c.Salesforce.CaseID != "" {
			v.Case = &Record{ID: c.Salesforce.CaseID, Number: c.Salesforce.CaseNumber, Status: c.Salesforce.Status}
		}
		if c.Salesforce.LeadID != "" {
			v.Lead = &Record{ID: c.Salesforce.LeadID}
		}
		return v, nil
	}
	return v, sfError("read Salesforce", err)
}

// Preview is the record the mapping would send, without calling
// Salesforce.
type Preview struct {
	Object    string         `json:"object"`
	Fields    map[string]any `json:"fields"`
	Shortened []string       `json:"shortened"`
	// Described is false when no describe of the object is cached yet:
	// values are then not shortened to Salesforce's field lengths.
	Described bool `json:"described"`
	// Overridable lists the fields a caller may set on create (the
	// section's overridable list as describe allows it), so a form can
	// offer exactly these: agents cannot read the mapping itself.
	Overridable []string `json:"overridable"`
}

// Preview renders the record of object (case, lead or contact) for a case.
func (e *Escalator) Preview(ctx context.Context, actor care.User, caseID int64, object string) (Preview, error) {
	obj := mapping.Object(object)
	switch obj {
	case mapping.ObjectCase, mapping.ObjectLead, mapping.ObjectContact:
	default:
		return Preview{}, care.Errorf(care.CodeInvalidArgument, "object must be case, lead or contact")
	}
	c, err := e.Store.Case(ctx, actor, caseID)
	if err != nil {
		return Preview{}, err
	}
	m, err := e.mapping()
	if err != nil {
		return Preview{}, err
	}
	sec := m.Section(obj)
	if sec == nil {
		return Preview{}, care.Errorf(care.CodeMappingNotConfigured, "the mapping has no %s section", object)
	}
	in, err := e.input(ctx, actor, c, nil)
	if err != nil {
		return Preview{}, err
	}
	info := e.cachedDescribe(sec.Object)
	r, err := m.Preview(obj, in, info)
	if err != nil {
		return Preview{}, care.Errorf(care.CodeInvalidArgument, "render the %s: %v", object, err)
	}
	if r.Shortened == nil {
		r.Shortened = []string{}
	}
	return Preview{Object: r.Object, Fields: r.Fields, Shortened: r.Shortened, Described: info != nil,
		Overridable: sec.OverridableWith(info)}, nil
}
