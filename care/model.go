// Package care is the Care domain: customers, cases, messages, users and the
// rules that tie them together. It knows neither storage nor HTTP; the bbolt
// store (care/bolt) and the HTTP API (care/httpapi) are adapters around it.
package care

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Role is what a user may do.
type Role string

// Roles of SPEC §3.
const (
	RoleAgent       Role = "agent"
	RoleSupervisor  Role = "supervisor"
	RoleIntegration Role = "integration"
)

// Roles lists the roles.
var Roles = []Role{RoleAgent, RoleSupervisor, RoleIntegration}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// User is a Care user: an agent, a supervisor or an integration (the
// Community side). Users come from the config file.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// IsAgent reports whether u works cases (agents and supervisors).
func (u User) IsAgent() bool { return u.Role == RoleAgent || u.Role == RoleSupervisor }

// Status is a case status.
type Status string

// Case statuses.
const (
	StatusNew     Status = "new"
	StatusOpen    Status = "open"
	StatusPending Status = "pending"
	StatusOnHold  Status = "on_hold"
	StatusDone    Status = "done"
	StatusSpam    Status = "spam"
	StatusDeleted Status = "deleted"
)

// Statuses lists every case status in a fixed order.
var Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusDone, StatusSpam, StatusDeleted}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Working reports whether s is one of the statuses in which a case is open
// regardless of time: new, open, pending, on_hold.
func (s Status) Working() bool {
	switch s {
	case StatusNew, StatusOpen, StatusPending, StatusOnHold:
		return true
	}
	return false
}

// Priority of a case.
type Priority string

// Priorities, most urgent first.
const (
	PriorityUrgent Priority = "urgent"
	PriorityHigh   Priority = "high"
	PriorityMedium Priority = "medium"
	PriorityLow    Priority = "low"
)

// Priorities lists the priorities, most urgent first.
var Priorities = []Priority{PriorityUrgent, PriorityHigh, PriorityMedium, PriorityLow}

// Rank is 0 for urgent up to 3 for low, -1 for an unknown priority.
func (p Priority) Rank() int { return slices.Index(Priorities, p) }

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool { return p.Rank() >= 0 }

// Sentiment of a case.
type Sentiment string

// Sentiments.
const (
	SentimentPositive Sentiment = "positive"
	SentimentNegative Sentiment = "negative"
	SentimentNeutral  Sentiment = "neutral"
	SentimentNone     Sentiment = "none"
)

// Sentiments lists the sentiments.
var Sentiments = []Sentiment{SentimentPositive, SentimentNegative, SentimentNeutral, SentimentNone}

// Valid reports whether s is a known sentiment.
func (s Sentiment) Valid() bool { return slices.Contains(Sentiments, s) }

// Direction of a message: from the customer or from the brand.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Directions lists the directions.
var Directions = []Direction{Inbound, Outbound}

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return slices.Contains(Directions, d) }

// Kind tells a message to the customer from an internal note.
type Kind string

// Kinds.
const (
	KindMessage Kind = "message"
	KindNote    Kind = "note"
)

// MessageType is the social type of a message.
type MessageType string

// Message types.
const (
	TypePost          MessageType = "post"
	TypeComment       MessageType = "comment"
	TypeDirectMessage MessageType = "direct_message"
	TypeMention       MessageType = "mention"
)

// MessageTypes lists the message types.
var MessageTypes = []MessageType{TypePost, TypeComment, TypeDirectMessage, TypeMention}

// Valid reports whether t is a known message type.
func (t MessageType) Valid() bool { return slices.Contains(MessageTypes, t) }

// ReplyType is how an agent's reply is published.
type ReplyType string

// Reply types.
const (
	ReplyPublic        ReplyType = "public_reply"
	ReplyCommentOnPost ReplyType = "comment_on_post"
	ReplyDirectMessage ReplyType = "direct_message"
)

// MessageType is the social type a reply of this kind becomes.
func (r ReplyType) MessageType() (MessageType, bool) {
	switch r {
	case ReplyPublic:
		return TypeMention, true
	case ReplyCommentOnPost:
		return TypeComment, true
	case ReplyDirectMessage:
		return TypeDirectMessage, true
	}
	return "", false
}

// Via tells where an agent wrote a reply: in Care or in the Care page
// embedded in Salesforce.
type Via string

// Vias.
const (
	ViaCare       Via = "care"
	ViaSalesforce Via = "salesforce"
)

// Customer is one social account. Two accounts of one person are two
// customers.
type Customer struct {
	CustomerIdentity
	Email     string    `json:"email"`
	ContactID string    `json:"salesforce_contact_id"` // linked Salesforce Contact, "" when none
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CustomerIdentity is who a customer is: the Care id and the social
// account. Its fields lead the customer's JSON in the store, in the API
// and in the publisher's webhook body, which carries nothing more.
type CustomerIdentity struct {
	ID             int64  `json:"id"`
	Platform       string `json:"platform"`
	PlatformUserID string `json:"platform_user_id"`
	Username       string `json:"username"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
}

// Name is the customer's display name: first and last name, else the
// username, else the platform user id.
func (c Customer) Name() string {
	switch {
	case c.FirstName != "" && c.LastName != "":
		return c.FirstName + " " + c.LastName
	case c.FirstName != "" || c.LastName != "":
		return c.FirstName + c.LastName
	case c.Username != "":
		return c.Username
	}
	return c.PlatformUserID
}

// SalesforceLink is what a Care case knows of its Salesforce records.
type SalesforceLink struct {
	CaseID                  string `json:"case_id"`
	CaseNumber              string `json:"case_number"`
	Status                  string `json:"status"`
	LeadID                  string `json:"lead_id"`
	ContactID               string `json:"contact_id"`
	EscalatedWithoutContact bool   `json:"escalated_without_contact"`
	// WantStatus is the Salesforce status Care last asked for (queued in
	// the outbox, maybe not delivered yet); Status is what Salesforce has.
	WantStatus string `json:"want_status,omitempty"`
	// DeletedAt is when carebridge found the Salesforce case deleted
	// (SPEC §11); nil while it exists. A deleted record unlocks replies.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	// ExternalIDField is the Salesforce case field carebridge wrote the
	// case's external key into when it created (upserted) the linked
	// case: the status poller may name the case by that field while the
	// mapping's case external id field is still this one. "" when
	// carebridge wrote none or it is not known (a case linked to an
	// existing Salesforce case, by a mapping without the field, or by a
	// release before this field): the poller names such a case by Id. The
	// poller also records it once Salesforce shows the case's key in the
	// mapping's field (an older release's link).
	ExternalIDField string `json:"external_id_field,omitempty"`
}

// LinkedSalesforceCase is a Salesforce case a Care case is linked to, as
// the status poller names it: its id, and the field carebridge wrote the
// external key into (SalesforceLink.ExternalIDField; "" for none).
type LinkedSalesforceCase struct {
	ID              string
	ExternalIDField string
}

// TargetStatus is the Salesforce status the case is heading for: the one
// last asked for, else the one Salesforce has.
func (l SalesforceLink) TargetStatus() string {
	if l.WantStatus != "" {
		return l.WantStatus
	}
	return l.Status
}

// Case is a Care case: the conversation of one customer with one owned
// profile.
type Case struct {
	ID                    int64             `json:"id"`
	ExternalKey           string            `json:"external_key"` // minted at creation, never reused (SPEC §11)
	Status                Status            `json:"status"`
	Priority              Priority          `json:"priority"`
	Sentiment             Sentiment         `json:"sentiment"`
	Assignee              string            `json:"assignee"` // user id, "" when unassigned
	ProfileID             string            `json:"profile_id"`
	Platform              string            `json:"platform"`
	CustomerID            int64             `json:"customer_id"`
	Fields                map[string]string `json:"fields"`
	CreatedAt             time.Time         `json:"created_at"`
	UpdatedAt             time.Time         `json:"updated_at"`
	LastCustomerMessageAt time.Time         `json:"last_customer_message_at"`
	DoneAt                time.Time         `json:"done_at"` // zero unless done
	HasOutbound           bool              `json:"has_outbound"`
	Salesforce            SalesforceLink    `json:"salesforce"`
	SLA                   *CaseSLA          `json:"sla,omitempty"` // SLA policies (sla.go); nil when none applies
	// Customer is filled on every read of a case (never stored with it).
	Customer *CustomerSummary `json:"customer,omitempty"`
}

// Attachment of a social message. On the wire it is either a URL string or
// an object {"url","type","name"}.
type Attachment struct {
	URL  string `json:"url"`
	Type string `json:"type,omitempty"`
	Name string `json:"name,omitempty"`
}

// UnmarshalJSON accepts a bare URL string or the object form.
func (a *Attachment) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Attachment{URL: s}
		return nil
	}
	type plain Attachment
	var p plain
	if err := strictUnmarshal(b, &p); err != nil {
		return fmt.Errorf("attachment: %w", err)
	}
	*a = Attachment(p)
	return nil
}

// Message is a social message or an internal note within a case.
type Message struct {
	ID          string       `json:"id"`           // opaque, unique, stable within this database
	ExternalKey string       `json:"external_key"` // minted at creation, never reused; the Salesforce external id (SPEC §11)
	ExternalID  string       `json:"external_id"`  // the platform's id; "" for notes
	CaseID      int64        `json:"case_id"`      // 0 while no case took the message
	CustomerID  int64        `json:"customer_id"`
	Platform    string       `json:"platform"`
	ProfileID   string       `json:"profile_id"`
	Direction   Direction    `json:"direction"`
	Kind        Kind         `json:"kind"`
	Type        MessageType  `json:"type"`
	ReplyType   ReplyType    `json:"reply_type,omitempty"`
	Via         Via          `json:"via,omitempty"`
	Author      string       `json:"author"`
	AuthorID    string       `json:"author_id,omitempty"` // the Care user who wrote a reply or note
	Text        string       `json:"text"`
	Mentions    []string     `json:"mentions,omitempty"`
	SentAt      time.Time    `json:"sent_at"`
	Attachments []Attachment `json:"attachments"`
	CreatedAt   time.Time    `json:"created_at"`
	Delivery    *Delivery    `json:"delivery,omitempty"` // replies only, while publishing is on (publish.go)
}
