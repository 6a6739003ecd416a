package care

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// CustomerInput identifies the author of an incoming social message.
type CustomerInput struct {
	PlatformUserID string `json:"platform_user_id"`
	Username       string `json:"username"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
}

// IncomingMessage is a social message as the Community side sends it.
type IncomingMessage struct {
	ExternalID  string        `json:"external_id"`
	Platform    string        `json:"platform"`
	ProfileID   string        `json:"profile_id"`
	Customer    CustomerInput `json:"customer"`
	Author      string        `json:"author"`
	Direction   Direction     `json:"direction"`
	Type        MessageType   `json:"type"`
	Text        string        `json:"text"`
	SentAt      time.Time     `json:"sent_at"`
	Attachments []Attachment  `json:"attachments"`
}

// Validate checks m, filling defaults (direction inbound, type post, author
// from the customer, sent_at now). Sizes are Limits' business (see Guard).
func (m *IncomingMessage) Validate(now time.Time) error {
	m.ExternalID = strings.TrimSpace(m.ExternalID)
	m.Platform = strings.TrimSpace(m.Platform)
	m.Customer.PlatformUserID = strings.TrimSpace(m.Customer.PlatformUserID)
	switch {
	case m.ExternalID == "":
		return Errorf(CodeInvalidArgument, "message.external_id is required")
	case m.Platform == "":
		return Errorf(CodeInvalidArgument, "message.platform is required")
	case m.Customer.PlatformUserID == "":
		return Errorf(CodeInvalidArgument, "message.customer.platform_user_id is required")
	case !utf8.ValidString(m.Text):
		return Errorf(CodeInvalidArgument, "message.text is not valid UTF-8")
	}
	if m.Direction == "" {
		m.Direction = Inbound
	}
	if !m.Direction.Valid() {
		return Errorf(CodeInvalidArgument, "message.direction must be inbound or outbound")
	}
	if m.Type == "" {
		m.Type = TypePost
	}
	if !m.Type.Valid() {
		return Errorf(CodeInvalidArgument, "message.type must be one of post, comment, direct_message, mention")
	}
	if m.SentAt.IsZero() {
		m.SentAt = now
	}
	m.SentAt = m.SentAt.UTC()
	if m.Attachments == nil {
		m.Attachments = []Attachment{}
	}
	return nil
}

// IngestResult is what ingesting a message did.
type IngestResult struct {
	Message Message
	CaseID  int64 // 0 when no case took it
	Event   CaseEvent
}

// EscalationMode tells whether a person or a rule escalated from Community.
type EscalationMode string

// Escalation modes.
const (
	ModeManual    EscalationMode = "manual"
	ModeAutomatic EscalationMode = "automatic"
)

// EscalateInput is a Community message escalated to Care.
type EscalateInput struct {
	Message    IncomingMessage   `json:"message"`
	Priority   Priority          `json:"priority"`
	Fields     map[string]string `json:"fields"`
	Mode       EscalationMode    `json:"mode"`
	Salesforce bool              `json:"salesforce"`
}

// Validate checks in and fills defaults.
func (in *EscalateInput) Validate(now time.Time) error {
	if err := in.Message.Validate(now); err != nil {
		return err
	}
	if in.Priority == "" {
		in.Priority = PriorityMedium
	}
	if !in.Priority.Valid() {
		return Errorf(CodeInvalidArgument, "priority must be one of urgent, high, medium, low")
	}
	switch in.Mode {
	case "":
		in.Mode = ModeManual
	case ModeManual, ModeAutomatic:
	default:
		return Errorf(CodeInvalidArgument, "mode must be manual or automatic")
	}
	for k := range in.Fields {
		if strings.TrimSpace(k) == "" {
			return Errorf(CodeInvalidArgument, "field names must not be empty")
		}
	}
	return nil
}

// EscalateResult is the case a Community escalation landed in.
type EscalateResult struct {
	Case    Case
	Created bool
}

// NewMessage is a reply or a note an agent writes on a case.
type NewMessage struct {
	Kind        string    `json:"kind"` // reply | note
	ReplyType   ReplyType `json:"reply_type"`
	Text        string    `json:"text"`
	Mentions    []string  `json:"mentions"`
	MarkPending bool      `json:"mark_pending"`
	Via         Via       `json:"via"`
}

// Validate checks m against the users it mentions.
func (m *NewMessage) Validate(users Users) error {
	switch m.Kind {
	case "reply", "note":
	default:
		return Errorf(CodeInvalidArgument, `kind must be "reply" or "note"`)
	}
	switch m.Via {
	case "":
		m.Via = ViaCare
	case ViaCare, ViaSalesforce:
	default:
		return Errorf(CodeInvalidArgument, `via must be "care" or "salesforce"`)
	}
	if strings.TrimSpace(m.Text) == "" {
		return Errorf(CodeInvalidArgument, "text is required")
	}
	if !utf8.ValidString(m.Text) {
		return Errorf(CodeInvalidArgument, "text is not valid UTF-8")
	}
	if m.Kind == "reply" {
		if m.ReplyType == "" {
			m.ReplyType = ReplyPublic
		}
		if _, ok := m.ReplyType.MessageType(); !ok {
			return Errorf(CodeInvalidArgument, "reply_type must be one of public_reply, comment_on_post, direct_message")
		}
		if len(m.Mentions) > 0 {
			return Errorf(CodeInvalidArgument, "mentions belong to notes, not replies")
		}
	} else if m.ReplyType != "" || m.MarkPending {
		return Errorf(CodeInvalidArgument, "reply_type and mark_pending belong to replies, not notes")
	}
	for _, id := range m.Mentions {
		if _, ok := users.User(id); !ok {
			return Errorf(CodeInvalidArgument, "mentioned user %q is not a Care user", id)
		}
	}
	return nil
}

// CustomerPatch changes a customer's details. Absent fields are left alone.
type CustomerPatch struct {
	Username  *string `json:"username"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	Email     *string `json:"email"`
}

// Apply validates p and applies it to c.
func (p CustomerPatch) Apply(c *Customer, now time.Time) error {
	for _, v := range []*string{p.Username, p.FirstName, p.LastName, p.Email} {
		if v != nil && !utf8.ValidString(*v) {
			return Errorf(CodeInvalidArgument, "customer details must be valid UTF-8")
		}
	}
	if p.Email != nil && *p.Email != "" && !looksLikeEmail(*p.Email) {
		return Errorf(CodeInvalidArgument, "email %q is not an email address", *p.Email)
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&c.Username, p.Username)
	set(&c.FirstName, p.FirstName)
	set(&c.LastName, p.LastName)
	set(&c.Email, p.Email)
	c.UpdatedAt = now
	return nil
}

func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>")
}

// CommunityStatus is what Community learns of a message it escalated.
type CommunityStatus struct {
	CaseID int64
	Locked bool
	State  CommunityState
}

// CasePage is one page of a case listing.
type CasePage struct {
	Cases      []Case
	NextCursor string
}

// Service is the Care case store as its callers see it. Every method takes
// the acting user and enforces the permission rules.
type Service interface {
	Ingest(ctx context.Context, actor User, in IncomingMessage) (IngestResult, error)
	Escalate(ctx context.Context, actor User, in EscalateInput) (EscalateResult, error)
	Case(ctx context.Context, actor User, id int64) (Case, error)
	Cases(ctx context.Context, actor User, q CaseQuery) (CasePage, error)
	PatchCase(ctx context.Context, actor User, id int64, p CasePatch) (Case, error)
	DeleteCase(ctx context.Context, actor User, id int64) (Case, error)
	Messages(ctx context.Context, actor User, caseID int64, limit int, before string) ([]Message, error)
	AddMessage(ctx context.Context, actor User, caseID int64, m NewMessage) (Message, Case, error)
	Customer(ctx context.Context, actor User, id int64) (Customer, error)
	PatchCustomer(ctx context.Context, actor User, id int64, p CustomerPatch) (Customer, error)
	CustomerCases(ctx context.Context, actor User, id int64) ([]Case, error)
	CommunityMessage(ctx context.Context, actor User, platform, externalID string) (CommunityStatus, error)

	// ViewCounts counts every default view for actor, from counters kept
	// in each change's transaction.
	ViewCounts(ctx context.Context, actor User) (map[View]int64, error)
	// Customers lists up to limit customers whose names or usernames match
	// the words of q (the last one as a prefix).
	Customers(ctx context.Context, actor User, q string, limit int) ([]Customer, error)
	CreateView(ctx context.Context, actor User, v SavedView) (SavedView, error)
	// SavedViews lists actor's own saved views and those shared, with counts.
	SavedViews(ctx context.Context, actor User) ([]SavedViewCount, error)
	// DeleteView deletes a saved view: its owner or a supervisor.
	DeleteView(ctx context.Context, actor User, id string) error
}

// Change is one committed change to a case, as side-effect recorders (the
// Salesforce outbox) see it inside the same transaction.
type Change struct {
	Actor   User
	Before  *Case    // nil when the case was created
	After   Case     // the case as stored
	Message *Message // the message or note the change added, if any
	// EscalateToSalesforce is set when a Community escalation asked for the
	// case to go to Salesforce at once.
	EscalateToSalesforce bool
	// FromSalesforce marks a change that applied a value read from
	// Salesforce; it never sends that value back.
	FromSalesforce bool
	// SLABreach marks a change that recorded an SLA breach (sla.go).
	SLABreach *SLABreach
}

// Guard puts the roles of SPEC §3 and the limits of §12 in front of svc:
// agents may not write messages in a customer's name (ingest, escalate),
// integration users read no customers or case views, every write is checked
// against p.Limits before it reaches svc (nothing is written when one is
// refused), and no answer lists more than MaxMessagesPage messages or
// MaxPageLimit cases. The store checks, in the write's transaction, what
// depends on stored state (the merged number of a case's fields, through
// Policy.ApplyPatch). Guarding a guarded service returns it as it is.
func Guard(svc Service, p Policy) Service {
	if g, ok := svc.(guard); ok {
		return g
	}
	return guard{svc: svc, limits: p.Limits.WithDefaults()}
}

type guard struct {
	svc    Service
	limits Limits
}

func (g guard) Ingest(ctx context.Context, actor User, in IncomingMessage) (IngestResult, error) {
	if err := CheckWritesForCustomers(actor); err != nil {
		return IngestResult{}, err
	}
	if err := g.limits.CheckIncoming(&in, ""); err != nil {
		return IngestResult{}, err
	}
	return g.svc.Ingest(ctx, actor, in)
}

func (g guard) Escalate(ctx context.Context, actor User, in EscalateInput) (EscalateResult, error) {
	if err := CheckWritesForCustomers(actor); err != nil {
		return EscalateResult{}, err
	}
	if err := g.limits.CheckEscalate(&in); err != nil {
		return EscalateResult{}, err
	}
	return g.svc.Escalate(ctx, actor, in)
}

func (g guard) Case(ctx context.Context, actor User, id int64) (Case, error) {
	return g.svc.Case(ctx, actor, id)
}

func (g guard) Cases(ctx context.Context, actor User, q CaseQuery) (CasePage, error) {
	if err := CheckReadsCustomers(actor); err != nil {
		return CasePage{}, err
	}
	if q.Limit < 0 || q.Limit > MaxPageLimit {
		return CasePage{}, Errorf(CodeInvalidArgument, "limit must be between 1 and %d", MaxPageLimit)
	}
	if err := checkCaseQuery(q); err != nil {
		return CasePage{}, err
	}
	page, err := g.svc.Cases(ctx, actor, q)
	page.Cases = page.Cases[:min(len(page.Cases), MaxPageLimit)]
	return page, err
}

func (g guard) PatchCase(ctx context.Context, actor User, id int64, p CasePatch) (Case, error) {
	if err := CheckActsAsAgent(actor); err != nil {
		return Case{}, err
	}
	if err := g.limits.CheckCasePatch(&p); err != nil {
		return Case{}, err
	}
	return g.svc.PatchCase(ctx, actor, id, p)
}

func (g guard) DeleteCase(ctx context.Context, actor User, id int64) (Case, error) {
	if err := CheckActsAsAgent(actor); err != nil {
		return Case{}, err
	}
	return g.svc.DeleteCase(ctx, actor, id)
}

func (g guard) Messages(ctx context.Context, actor User, caseID int64, limit int, before string) ([]Message, error) {
	if limit < 0 || limit > MaxMessagesPage {
		return nil, Errorf(CodeInvalidArgument, "limit must be between 1 and %d", MaxMessagesPage)
	}
	msgs, err := g.svc.Messages(ctx, actor, caseID, limit, before)
	// Oldest first: keep the latest, so paging on with before goes on working.
	return msgs[max(0, len(msgs)-MaxMessagesPage):], err
}

func (g guard) AddMessage(ctx context.Context, actor User, caseID int64, m NewMessage) (Message, Case, error) {
	if err := CheckActsAsAgent(actor); err != nil {
		return Message{}, Case{}, err
	}
	if err := g.limits.CheckNewMessage(&m); err != nil {
		return Message{}, Case{}, err
	}
	return g.svc.AddMessage(ctx, actor, caseID, m)
}

func (g guard) Customer(ctx context.Context, actor User, id int64) (Customer, error) {
	if err := CheckReadsCustomers(actor); err != nil {
		return Customer{}, err
	}
	return g.svc.Customer(ctx, actor, id)
}

func (g guard) PatchCustomer(ctx context.Context, actor User, id int64, p CustomerPatch) (Customer, error) {
	if err := CheckActsAsAgent(actor); err != nil {
		return Customer{}, err
	}
	if err := g.limits.CheckCustomerPatch(&p); err != nil {
		return Customer{}, err
	}
	return g.svc.PatchCustomer(ctx, actor, id, p)
}

func (g guard) CustomerCases(ctx context.Context, actor User, id int64) ([]Case, error) {
	if err := CheckReadsCustomers(actor); err != nil {
		return nil, err
	}
	cases, err := g.svc.CustomerCases(ctx, actor, id)
	// Newest first: a history longer than a page keeps its latest cases.
	return cases[:min(len(cases), MaxPageLimit)], err
}

func (g guard) CommunityMessage(ctx context.Context, actor User, platform, externalID string) (CommunityStatus, error) {
	if err := g.limits.checkID("platform", platform); err != nil {
		return CommunityStatus{}, err
	}
	if err := g.limits.checkID("external_id", externalID); err != nil {
		return CommunityStatus{}, err
	}
	return g.svc.CommunityMessage(ctx, actor, platform, externalID)
}
