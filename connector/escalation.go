package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
	"github.com/sethvargo/go-retry"
)

// Store is what escalation needs of the Care store.
type Store interface {
	Case(ctx context.Context, actor care.User, id int64) (care.Case, error)
	Customer(ctx context.Context, actor care.User, id int64) (care.Customer, error)
	MessagesForRender(ctx context.Context, caseID int64, n int) ([]care.Message, error)
	SetSalesforceLink(ctx context.Context, caseID int64, fn func(*care.SalesforceLink)) (care.Case, error)
	SetCustomerContact(ctx context.Context, customerID int64, contactID string) (care.Customer, error)
}

// Tokens chooses the Salesforce token a piece of work runs under.
type Tokens interface {
	DoForUser(ctx context.Context, userID string, fn func(*tokens.Conn) error) error
	DoBackground(ctx context.Context, fn func(*tokens.Conn) error) error
}

// MaxConversationAge is how old a case's last customer message may be for
// the case to be escalated.
const MaxConversationAge = 90 * 24 * time.Hour

// renderMessages is how many of a case's latest messages a rendering sees
// (the digests use at most the last 10; one_time mode the same).
const renderMessages = 100

// Escalator creates Salesforce contacts, cases and leads from Care.
type Escalator struct {
	Store   Store
	Tokens  Tokens
	Mapping func() *mapping.Mapping
	Users   care.Users
	// CaseURL makes a Care case's link (case.url in the mapping).
	CaseURL func(id int64) string
	Clock   care.Clock
	Logger  *slog.Logger

	describeMu sync.Mutex
	described  map[string]*mapping.ObjectInfo // last describe per object, for previews
}

// Contact is a Salesforce contact as the API shows it.
type Contact struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// Record is a created Salesforce case or lead.
type Record struct {
	ID     string `json:"id"`
	Number string `json:"number,omitempty"`
	Status string `json:"status,omitempty"`
	URL    string `json:"url"`
}

func (e *Escalator) now() time.Time {
	if e.Clock == nil {
		return time.Now().UTC()
	}
	return e.Clock.Now().UTC()
}

func (e *Escalator) log() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// sfError turns a Salesforce failure into the API's error: 503 when no
// token is healthy, 422 with Salesforce's errors when it refused the
// record, 502 when it could not be reached.
func sfError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *care.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, tokens.ErrNoHealthyToken) || salesforce.Classify(err) == salesforce.Auth {
		return &care.Error{Code: care.CodeConnectionExpired, Message: "the Salesforce connection has expired: a supervisor must connect it again"}
	}
	var ae *salesforce.APIError
	if errors.As(err, &ae) && salesforce.Classify(err) == salesforce.NotRetryable {
		details := make([]map[string]any, 0, len(ae.Details))
		for _, d := range ae.Details {
			details = append(details, map[string]any{"errorCode": d.Code, "message": d.Message, "fields": d.Fields})
		}
		if len(details) == 0 {
			details = append(details, map[string]any{"errorCode": ae.Code, "message": ae.Message, "fields": ae.Fields})
		}
		return &care.Error{Code: care.CodeSalesforceRejected, Message: fmt.Sprintf("Salesforce refused to %s: %s", op, ae.Message), Details: details}
	}
	return &care.Error{Code: care.CodeSalesforceUnavailable, Message: fmt.Sprintf("could not %s: Salesforce did not answer (%v)", op, err)}
}

func checkAgent(actor care.User) error {
	if !actor.IsAgent() {
		return care.Errorf(care.CodeForbidden, "only agents and supervisors escalate to Salesforce by hand")
	}
	return nil
}

func (e *Escalator) mapping() (*mapping.Mapping, error) {
	m := e.Mapping()
	if m == nil {
		return nil, care.Errorf(care.CodeMappingNotConfigured, "no mapping is loaded: nothing can be sent to Salesforce")
	}
	return m, nil
}

// describe describes an object and remembers the answer for previews.
func (e *Escalator) describe(ctx context.Context, conn *tokens.Conn, object string) (*mapping.ObjectInfo, error) {
	info, err := Describer{Client: conn.Client}.Describe(ctx, object)
	if err != nil {
		return nil, err
	}
	e.describeMu.Lock()
	if e.described == nil {
		e.described = map[string]*mapping.ObjectInfo{}
	}
	e.described[object] = info
	e.describeMu.Unlock()
	return info, nil
}

func (e *Escalator) cachedDescribe(object string) *mapping.ObjectInfo {
	e.describeMu.Lock()
	defer e.describeMu.Unlock()
	return e.described[object]
}

// ---- contacts ----

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

// save creates a rendered record, by upsert on its external id when the
// mapping names one (a retried call then never makes a second record).
func save(ctx context.Context, c *salesforce.Client, rec *mapping.Rendered) (string, error) {
	if rec.ExternalIDField == "" {
		return c.Create(ctx, rec.Object, rec.Fields)
	}
	// Idempotent: an answer lost after Salesforce committed is retried, and
	// the retry finds the record by its external id.
	var res salesforce.UpsertResult
	backoff := retry.WithMaxRetries(2, retry.NewExponential(200*time.Millisecond))
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		var err error
		res, err = c.Upsert(ctx, rec.Object, rec.ExternalIDField, rec.ExternalID, rec.Fields)
		if err != nil && salesforce.Classify(err) == salesforce.Retryable {
			return retry.RetryableError(err)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	if res.ID == "" {
		recs, qerr := c.Query(ctx, fmt.Sprintf("SELECT Id FROM %s WHERE %s = %s LIMIT 1", rec.Object, rec.ExternalIDField, salesforce.QuoteSOQL(rec.ExternalID)))
		if qerr != nil {
			return "", fmt.Errorf("upsert %s answered no id, and reading it back failed: %w", rec.Object, qerr)
		}
		if len(recs) == 0 {
			return "", fmt.Errorf("upsert %s answered no id, and no record has %s %s", rec.Object, rec.ExternalIDField, rec.ExternalID)
		}
		res.ID = recs[0].ID()
	}
	return res.ID, nil
}

// ---- cases and leads ----

// input gathers what a mapping renders for a case.
func (e *Escalator) input(ctx context.Context, actor care.User, c care.Case, overrides map[string]any) (mapping.Input, error) {
	cu, err := e.Store.Customer(ctx, actor, c.CustomerID)
	if err != nil {
		return mapping.Input{}, err
	}
	msgs, err := e.Store.MessagesForRender(ctx, c.ID, renderMessages)
	if err != nil {
		return mapping.Input{}, err
	}
	in := mapping.Input{Case: c, Customer: cu, Agent: actor, Messages: msgs, Overrides: overrides}
	if e.CaseURL != nil {
		in.CaseURL = e.CaseURL(c.ID)
	}
	return in, nil
}

func (e *Escalator) checkEscalation(c care.Case, object mapping.Object) error {
	if c.Status == care.StatusDeleted {
		return care.Errorf(care.CodeInvalidTransition, "a deleted case cannot be escalated")
	}
	switch object {
	case mapping.ObjectCase:
		if c.Salesforce.CaseID != "" {
			return care.Errorf(care.CodeAlreadyEscalated, "case %d is already Salesforce case %s", c.ID, c.Salesforce.CaseNumber)
		}
	case mapping.ObjectLead:
		if c.Salesforce.LeadID != "" {
			return care.Errorf(care.CodeAlreadyEscalated, "case %d already made Salesforce lead %s", c.ID, c.Salesforce.LeadID)
		}
	}
	if !c.LastCustomerMessageAt.IsZero() && e.now().Sub(c.LastCustomerMessageAt) >= MaxConversationAge {
		return care.Errorf(care.CodeConversationTooOld, "the customer last wrote on %s, 90 days ago or more: this conversation can no longer be escalated",
			c.LastCustomerMessageAt.Format("2006-01-02"))
	}
	return nil
}

// escalatable loads a case an agent escalates by hand to object, checking
// the agent's right and the case's state.
func (e *Escalator) escalatable(ctx context.Context, actor care.User, caseID int64, object mapping.Object) (care.Case, error) {
	if err := checkAgent(actor); err != nil {
		return care.Case{}, err
	}
	c, err := e.Store.Case(ctx, actor, caseID)
	if err != nil {
		return care.Case{}, err
	}
	return c, e.checkEscalation(c, object)
}

// CreateCase escalates a Care case to a Salesforce case by hand: the
// customer must be linked to a contact.
func (e *Escalator) CreateCase(ctx context.Context, actor care.User, caseID int64, overrides map[string]any) (Record, error) {
	c, err := e.escalatable(ctx, actor, caseID, mapping.ObjectCase)
	if err != nil {
		return Record{}, err
	}
	cu, err := e.Store.Customer(ctx, actor, c.CustomerID)
	if err != nil {
		return Record{}, err
	}
	if cu.ContactID == "" {
		return Record{}, care.Errorf(care.CodeContactNotLinked, "link the customer to a Salesforce contact first")
	}
	var rec Record
	err = e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		var err error
		rec, err = e.createCase(ctx, conn, actor, c, cu.ContactID, false, overrides)
		return err
	})
	return rec, sfError("create the case", err)
}

// createCase renders, creates and links the Salesforce case of c.
func (e *Escalator) createCase(ctx context.Context, conn *tokens.Conn, actor care.User, c care.Case, contactID string, withoutContact bool, overrides map[string]any) (Record, error) {
	m, err := e.mapping()
	if err != nil {
		return Record{}, err
	}
	if m.Case == nil {
		return Record{}, care.Errorf(care.CodeMappingNotConfigured, "the mapping has no case section")
	}
	info, err := e.describe(ctx, conn, m.Case.Object)
	if err != nil {
		return Record{}, err
	}
	in, err := e.input(ctx, actor, c, overrides)
	if err != nil {
		return Record{}, err
	}
	rendered, err := m.Render(mapping.ObjectCase, in, info)
	if err != nil {
		return Record{}, care.Errorf(care.CodeInvalidArgument, "render the case: %v", err)
	}
	if contactID != "" {
		if _, ok := info.Field("ContactId"); ok {
			rendered.Fields["ContactId"] = contactID
		}
	}
	id, err := save(ctx, conn.Client, rendered)
	if err != nil {
		return Record{}, err
	}
	rec := Record{ID: id, URL: recordURL(conn, m.Case.Object, id)}
	fields := []string{"Id"}
	if _, ok := info.Field("CaseNumber"); ok {
		fields = append(fields, "CaseNumber")
	}
	statusField := "Status"
	if m.Status != nil && m.Status.SalesforceField != "" {
		statusField = m.Status.SalesforceField
	}
	if _, ok := info.Field(statusField); ok {
		fields = append(fields, statusField)
	}
	if r, err := conn.Client.Get(ctx, m.Case.Object, id, fields...); err == nil {
		rec.Number, rec.Status = r.String("CaseNumber"), r.String(statusField)
	} else {
		e.log().Warn("created Salesforce case, but could not read its number", "case_id", c.ID, "err", err)
	}
	if _, err := e.Store.SetSalesforceLink(ctx, c.ID, func(l *care.SalesforceLink) {
		l.CaseID, l.CaseNumber, l.Status = rec.ID, rec.Number, rec.Status
		l.ContactID, l.EscalatedWithoutContact = contactID, withoutContact
	}); err != nil {
		return Record{}, fmt.Errorf("record Salesforce case %s on case %d: %w", rec.ID, c.ID, err)
	}
	e.log().Info("escalated to a Salesforce case", "case_id", c.ID, "salesforce_case", rec.ID, "user", actor.ID)
	return rec, nil
}

func recordURL(conn *tokens.Conn, object, id string) string {
	return strings.TrimRight(conn.Info.InstanceURL, "/") + "/lightning/r/" + object + "/" + id + "/view"
}

// CreateLead makes a Salesforce lead of a Care case; no contact is needed.
func (e *Escalator) CreateLead(ctx context.Context, actor care.User, caseID int64, overrides map[string]any) (Record, error) {
	c, err := e.escalatable(ctx, actor, caseID, mapping.ObjectLead)
	if err != nil {
		return Record{}, err
	}
	m, err := e.mapping()
	if err != nil {
		return Record{}, err
	}
	if m.Lead == nil {
		return Record{}, care.Errorf(care.CodeMappingNotConfigured, "the mapping has no lead section")
	}
	var rec Record
	err = e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		info, err := e.describe(ctx, conn, m.Lead.Object)
		if err != nil {
			return err
		}
		in, err := e.input(ctx, actor, c, overrides)
		if err != nil {
			return err
		}
		rendered, err := m.Render(mapping.ObjectLead, in, info)
		if err != nil {
			return care.Errorf(care.CodeInvalidArgument, "render the lead: %v", err)
		}
		id, err := save(ctx, conn.Client, rendered)
		if err != nil {
			return err
		}
		rec = Record{ID: id, URL: recordURL(conn, m.Lead.Object, id)}
		_, err = e.Store.SetSalesforceLink(ctx, c.ID, func(l *care.SalesforceLink) { l.LeadID = id })
		return err
	})
	return rec, sfError("create the lead", err)
}

// EscalateAutomatically creates the Salesforce case of an automatic
// escalation (the outbox runs it): with contact_sync on, a customer with no
// contact is matched by name, else by username or platform id; a unique
// match is linked, none makes a new contact, several leave the case without
// a contact (and suggest them).
func (e *Escalator) EscalateAutomatically(ctx context.Context, caseID int64, actorID string) error {
	actor, ok := e.Users.User(actorID)
	if !ok {
		actor = care.User{ID: actorID, Name: actorID, Role: care.RoleIntegration}
	}
	c, err := e.Store.Case(ctx, actor, caseID)
	if err != nil {
		return err
	}
	if c.Salesforce.CaseID != "" {
		return nil // done already (a retry after the link was recorded)
	}
	if err := e.checkEscalation(c, mapping.ObjectCase); err != nil {
		return err
	}
	m, err := e.mapping()
	if err != nil {
		return err
	}
	cu, err := e.Store.Customer(ctx, actor, c.CustomerID)
	if err != nil {
		return err
	}
	return e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		contactID := cu.ContactID
		if contactID == "" && m.ContactSync {
			matches, err := findContacts(ctx, conn.Client, cu)
			if err != nil {
				return err
			}
			switch len(matches) {
			case 0:
				ct, err := e.createContact(ctx, conn, m, mapping.Input{Customer: cu, Agent: actor})
				if err != nil {
					return err
				}
				contactID = ct.ID
			case 1:
				contactID = matches[0].ID
			}
			if contactID != "" {
				// Linked before the case is created, so a retry reuses it.
				if cu, err = e.Store.SetCustomerContact(ctx, cu.ID, contactID); err != nil {
					return err
				}
			}
		}
		_, err := e.createCase(ctx, conn, actor, c, contactID, contactID == "", nil)
		return err
	})
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

// ---- reading ----

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
	return Preview{Object: r.Object, Fields: r.Fields, Shortened: r.Shortened, Described: info != nil}, nil
}
