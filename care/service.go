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

// Limits on incoming text, so one message cannot bloat the store.
const (
	maxIDLen   = 256
	maxTextLen = 64 << 10
)

// Validate checks m, filling defaults (direction inbound, type post, author
// from the customer, sent_at now).
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
	case len(m.ExternalID) > maxIDLen || len(m.Platform) > maxIDLen || len(m.ProfileID) > maxIDLen || len(m.Customer.PlatformUserID) > maxIDLen:
		return Errorf(CodeInvalidArgument, "ids must be at most %d bytes", maxIDLen)
	case len(m.Text) > maxTextLen:
		return Errorf(CodeInvalidArgument, "message.text must be at most %d bytes", maxTextLen)
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
	if len(m.Text) > maxTextLen || !utf8.ValidString(m.Text) {
		return Errorf(CodeInvalidArgument, "text must be valid UTF-8 of at most %d bytes", maxTextLen)
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
		if v != nil && (len(*v) > maxIDLen || !utf8.ValidString(*v)) {
			return Errorf(CodeInvalidArgument, "customer details must be valid UTF-8 of at most %d bytes", maxIDLen)
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
}
