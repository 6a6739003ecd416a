package connector

import (
	"context"
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
	CustomerCases(ctx context.Context, actor care.User, customerID int64) ([]care.Case, error)
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
	// Limits bound the overrides of a create (zero: the defaults).
	Limits care.Limits

	describeMu sync.Mutex
	described  map[string]*mapping.ObjectInfo // last describe per object, for previews

	rightsMu sync.Mutex
	rights   map[rightsKey]rights // describes as each connected user (createAs)
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

// save creates a rendered record of sec, by upsert on its external id when
// the mapping names one (a retried call then never makes a second record).
// The org's assignment rule runs on it only when sec asks for it
// (assignment_rules: true); every other write keeps the owner.
// upsert describes obj's Salesforce object through conn, renders in into
// it (fill, when not nil, adds what the mapping does not render) and
// upserts the record by the mapped external id. It answers the record's
// id and the describe.
func (e *Escalator) upsert(ctx context.Context, conn *tokens.Conn, m *mapping.Mapping, obj mapping.Object, in mapping.Input,
	fill func(info *mapping.ObjectInfo, rendered *mapping.Rendered)) (string, *mapping.ObjectInfo, error) {
	sec := m.Section(obj)
	info, err := e.describe(ctx, conn, sec.Object)
	if err != nil {
		return "", nil, err
	}
	rendered, err := m.Render(obj, in, info)
	if err != nil {
		return "", nil, renderError(string(obj), err)
	}
	if fill != nil {
		fill(info, rendered)
	}
	id, err := save(ctx, conn.Client, sec, rendered)
	return id, info, err
}

func save(ctx context.Context, c *salesforce.Client, sec *mapping.ObjectMapping, rec *mapping.Rendered) (string, error) {
	if sec.AssignmentRules {
		ctx = salesforce.WithAssignmentRules(ctx)
	}
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
		// A Salesforce case deleted there may be made again: the upsert by
		// the case's external key finds no live record and creates one.
		if c.Salesforce.CaseID != "" && c.Salesforce.DeletedAt == nil {
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
// the agent's right and the case's state, and returns it with the mapping
// in use and its section for object (overrides checked against it).
func (e *Escalator) escalatable(ctx context.Context, actor care.User, caseID int64, object mapping.Object,
	overrides map[string]any) (care.Case, *mapping.Mapping, *mapping.ObjectMapping, error) {
	if err := checkAgent(actor); err != nil {
		return care.Case{}, nil, nil, err
	}
	c, err := e.Store.Case(ctx, actor, caseID)
	if err != nil {
		return care.Case{}, nil, nil, err
	}
	if err := e.checkEscalation(c, object); err != nil {
		return care.Case{}, nil, nil, err
	}
	m, sec, err := e.section(object, overrides)
	if err != nil {
		return care.Case{}, nil, nil, err
	}
	return c, m, sec, nil
}

// CreateCase escalates a Care case to a Salesforce case by hand: the
// customer must be linked to a contact. The Creation tells which token
// created it.
func (e *Escalator) CreateCase(ctx context.Context, actor care.User, caseID int64, overrides map[string]any) (Record, Creation, error) {
	c, m, sec, err := e.escalatable(ctx, actor, caseID, mapping.ObjectCase, overrides)
	if err != nil {
		return Record{}, Creation{}, err
	}
	cu, err := e.Store.Customer(ctx, actor, c.CustomerID)
	if err != nil {
		return Record{}, Creation{}, err
	}
	if cu.ContactID == "" {
		return Record{}, Creation{}, care.Errorf(care.CodeContactNotLinked, "link the customer to a Salesforce contact first")
	}
	var rec Record
	how, err := e.createAs(ctx, actor, m, sec, overrides, []string{contactField}, func(conn *tokens.Conn) error {
		var err error
		rec, err = e.createCase(ctx, conn, m, actor, c, cu.ContactID, false, overrides)
		return err
	})
	if err != nil {
		return Record{}, Creation{}, sfError("create the case", err)
	}
	return rec, how, nil
}

// contactField is the Case lookup of its contact.
const contactField = "ContactId"

// section returns the mapping in use and its section for obj, refusing
// overrides the section does not allow before any Salesforce call.
func (e *Escalator) section(obj mapping.Object, overrides map[string]any) (*mapping.Mapping, *mapping.ObjectMapping, error) {
	m, err := e.mapping()
	if err != nil {
		return nil, nil, err
	}
	sec := m.Section(obj)
	if sec == nil {
		return nil, nil, care.Errorf(care.CodeMappingNotConfigured, "the mapping has no %s section", obj)
	}
	if err := e.Limits.CheckOverrides(overrides); err != nil {
		return nil, nil, err
	}
	if err := checkOverrides(obj, sec, overrides); err != nil {
		return nil, nil, err
	}
	return m, sec, nil
}

// createCase renders, creates and links the Salesforce case of c. The
// record is upserted by the mapped external id field (the case's external
// key), so a create tried again finds the record the first one made.
func (e *Escalator) createCase(ctx context.Context, conn *tokens.Conn, m *mapping.Mapping, actor care.User, c care.Case,
	contactID string, withoutContact bool, overrides map[string]any) (Record, error) {
	in, err := e.input(ctx, actor, c, overrides)
	if err != nil {
		return Record{}, err
	}
	var written string // the external id field the upsert writes the case's key into
	id, info, err := e.upsert(ctx, conn, m, mapping.ObjectCase, in, func(info *mapping.ObjectInfo, rendered *mapping.Rendered) {
		if _, ok := info.Field(contactField); ok && contactID != "" {
			rendered.Fields[contactField] = contactID
		}
		written = rendered.ExternalIDField
	})
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
		l.DeletedAt, l.WantStatus = nil, "" // a case made again after a delete in Salesforce
		l.ExternalIDField = written         // the poller may name the case by it (outbox.linkedFilters)
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
func (e *Escalator) CreateLead(ctx context.Context, actor care.User, caseID int64, overrides map[string]any) (Record, Creation, error) {
	c, m, sec, err := e.escalatable(ctx, actor, caseID, mapping.ObjectLead, overrides)
	if err != nil {
		return Record{}, Creation{}, err
	}
	var rec Record
	how, err := e.createAs(ctx, actor, m, sec, overrides, nil, func(conn *tokens.Conn) error {
		in, err := e.input(ctx, actor, c, overrides)
		if err != nil {
			return err
		}
		id, _, err := e.upsert(ctx, conn, m, mapping.ObjectLead, in, nil)
		if err != nil {
			return err
		}
		rec = Record{ID: id, URL: recordURL(conn, sec.Object, id)}
		_, err = e.Store.SetSalesforceLink(ctx, c.ID, func(l *care.SalesforceLink) { l.LeadID = id })
		return err
	})
	if err != nil {
		return Record{}, Creation{}, sfError("create the lead", err)
	}
	return rec, how, nil
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
	m, sec, err := e.section(mapping.ObjectCase, nil)
	if err != nil {
		return err
	}
	cu, err := e.Store.Customer(ctx, actor, c.CustomerID)
	if err != nil {
		return err
	}
	contactID := cu.ContactID
	if contactID == "" && m.ContactSync {
		if contactID, err = e.syncContact(ctx, actor, m, cu); err != nil {
			return err
		}
	}
	_, err = e.createAs(ctx, actor, m, sec, nil, []string{contactField}, func(conn *tokens.Conn) error {
		_, err := e.createCase(ctx, conn, m, actor, c, contactID, contactID == "", nil)
		return err
	})
	return err
}
