package httpapi

import (
	"bufio"
	"encoding/json"
	"net/http"
	"time"

	"github.com/carebridge/carebridge/care"
)

// ---- JSON shapes ----

// CaseJSON is a case as the API shows it.
type CaseJSON struct {
	ID          int64          `json:"id"`
	ExternalKey string         `json:"external_key"`
	Status      care.Status    `json:"status"`
	Priority    care.Priority  `json:"priority"`
	Sentiment   care.Sentiment `json:"sentiment"`
	Assignee    *string        `json:"assignee"`
	ProfileID   string         `json:"profile_id"`
	Platform    string         `json:"platform"`
	CustomerID  int64          `json:"customer_id"`
	// Customer names the customer, so a listing needs no request per row.
	Customer              *care.CustomerSummary `json:"customer"`
	Fields                map[string]string     `json:"fields"`
	CreatedAt             time.Time             `json:"created_at"`
	UpdatedAt             time.Time             `json:"updated_at"`
	LastCustomerMessageAt *time.Time            `json:"last_customer_message_at"`
	DoneAt                *time.Time            `json:"done_at"`
	CommunityState        string                `json:"community_state"`
	LockedForReply        bool                  `json:"locked_for_reply"`
	// ProfileLocked says the profile can no longer be set, and
	// ProfileLockReason why (care.ProfileLock): decided on the whole
	// case, not on the page of messages a client has.
	ProfileLocked     bool                   `json:"profile_locked"`
	ProfileLockReason care.ProfileLockReason `json:"profile_lock_reason,omitempty"`
	Salesforce        SalesforceJSON         `json:"salesforce"`
	SLA               *SLAJSON               `json:"sla,omitempty"` // SPEC §16; omitted when no policy applies
}

// SalesforceJSON is the salesforce block of a case.
type SalesforceJSON struct {
	CaseID                  *string `json:"case_id"`
	CaseNumber              *string `json:"case_number"`
	Status                  *string `json:"status"`
	LeadID                  *string `json:"lead_id"`
	ContactID               *string `json:"contact_id"`
	EscalatedWithoutContact bool    `json:"escalated_without_contact"`
	// DeletedAt is when carebridge found the Salesforce case deleted.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// CaseView renders c for the API at time now.
func CaseView(p care.Policy, c care.Case, now time.Time) CaseJSON {
	_, state := p.Community(&c, now)
	lock := care.ProfileLock(&c)
	fields := c.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	return CaseJSON{
		ID: c.ID, ExternalKey: c.ExternalKey, Status: c.Status, Priority: c.Priority, Sentiment: c.Sentiment,
		Assignee: optString(c.Assignee), ProfileID: c.ProfileID, Platform: c.Platform,
		CustomerID: c.CustomerID, Customer: c.Customer, Fields: fields, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		LastCustomerMessageAt: optTime(c.LastCustomerMessageAt), DoneAt: optTime(c.DoneAt),
		CommunityState: string(state), LockedForReply: care.LockedForReply(&c), SLA: slaView(p.SLA, c.SLA),
		ProfileLocked: lock != "", ProfileLockReason: lock,
		Salesforce: SalesforceJSON{
			CaseID: optString(c.Salesforce.CaseID), CaseNumber: optString(c.Salesforce.CaseNumber),
			Status: optString(c.Salesforce.Status), LeadID: optString(c.Salesforce.LeadID),
			ContactID: optString(c.Salesforce.ContactID), EscalatedWithoutContact: c.Salesforce.EscalatedWithoutContact,
			DeletedAt: c.Salesforce.DeletedAt,
		},
	}
}

// SLAJSON is a case's SLA as the API shows it: the stored due times and
// breaches, and when the case counts as due soon (sla=due_soon), so that
// a client colours it by the filter's own rule.
type SLAJSON struct {
	*care.CaseSLA
	DueSoonAt *time.Time `json:"due_soon_at,omitempty"` // none while paused or nothing is watched
}

func slaView(ps care.SLAPolicies, s *care.CaseSLA) *SLAJSON {
	if s == nil {
		return nil
	}
	out := &SLAJSON{CaseSLA: s}
	if p, ok := ps.ByName(s.Policy); ok {
		if at, ok := s.DueSoonAt(p); ok {
			out.DueSoonAt = optTime(at)
		}
	}
	return out
}

func (s *Server) caseView(c care.Case) CaseJSON { return CaseView(s.policy, c, s.now()) }

// Limits are the limits the API holds every write to (config limits:,
// defaults filled in), for a client that says them before it sends.
func (s *Server) Limits() care.Limits { return s.policy.Limits.WithDefaults() }

// caseViews renders cases for the API at one time; [] for none.
func (s *Server) caseViews(cases []care.Case) []CaseJSON {
	out := make([]CaseJSON, 0, len(cases))
	now := s.now()
	for _, c := range cases {
		out = append(out, CaseView(s.policy, c, now))
	}
	return out
}

// MessageJSON is a message as the API shows it.
type MessageJSON struct {
	ID          string            `json:"id"`
	ExternalKey string            `json:"external_key"`
	ExternalID  *string           `json:"external_id"`
	CaseID      *int64            `json:"case_id"`
	CustomerID  int64             `json:"customer_id"`
	Platform    string            `json:"platform"`
	ProfileID   string            `json:"profile_id"`
	Direction   care.Direction    `json:"direction"`
	Kind        care.Kind         `json:"kind"`
	Type        care.MessageType  `json:"type"`
	ReplyType   care.ReplyType    `json:"reply_type,omitempty"`
	Via         care.Via          `json:"via,omitempty"`
	Author      string            `json:"author"`
	AuthorID    string            `json:"author_id,omitempty"`
	Text        string            `json:"text"`
	Mentions    []string          `json:"mentions,omitempty"`
	SentAt      time.Time         `json:"sent_at"`
	Attachments []care.Attachment `json:"attachments"`
	CreatedAt   time.Time         `json:"created_at"`
	Delivery    *care.Delivery    `json:"delivery,omitempty"` // a reply's publication (SPEC §16)
}

// MessageView renders m for the API.
func MessageView(m care.Message) MessageJSON {
	var caseID *int64
	if m.CaseID != 0 {
		id := m.CaseID
		caseID = &id
	}
	att := m.Attachments
	if att == nil {
		att = []care.Attachment{}
	}
	return MessageJSON{
		ID: m.ID, ExternalKey: m.ExternalKey, ExternalID: optString(m.ExternalID), CaseID: caseID, CustomerID: m.CustomerID,
		Platform: m.Platform, ProfileID: m.ProfileID, Direction: m.Direction, Kind: m.Kind, Type: m.Type,
		ReplyType: m.ReplyType, Via: m.Via, Author: m.Author, AuthorID: m.AuthorID, Text: m.Text,
		Mentions: m.Mentions, SentAt: m.SentAt.UTC(), Attachments: att, CreatedAt: m.CreatedAt.UTC(),
		Delivery: m.Delivery,
	}
}

// CustomerJSON is a customer as the API shows it.
type CustomerJSON struct {
	care.CustomerIdentity
	Name                string    `json:"name"`
	Email               string    `json:"email"`
	SalesforceContactID *string   `json:"salesforce_contact_id"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// CustomerView renders c for the API.
func CustomerView(c care.Customer) CustomerJSON {
	return CustomerJSON{
		CustomerIdentity: c.CustomerIdentity, Name: c.Name(), Email: c.Email,
		SalesforceContactID: optString(c.ContactID), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// ---- handlers ----

func (s *Server) me(w http.ResponseWriter, r *http.Request, u care.User) {
	s.writeMe(w, r, u)
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request, u care.User) {
	var in care.IncomingMessage
	if !Decode(w, r, &in) {
		return
	}
	res, err := s.svc.Ingest(r.Context(), u, in)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	body := struct {
		Message   MessageJSON    `json:"message"`
		CaseID    *int64         `json:"case_id"`
		CaseEvent care.CaseEvent `json:"case_event"`
	}{Message: MessageView(res.Message), CaseEvent: res.Event}
	status := http.StatusAccepted
	if res.CaseID != 0 {
		body.CaseID, status = &res.CaseID, http.StatusOK
	}
	WriteJSON(w, status, body)
}

type caseResult struct {
	Case    CaseJSON `json:"case"`
	Created bool     `json:"created"`
}

func (s *Server) escalate(w http.ResponseWriter, r *http.Request, u care.User) {
	var in care.EscalateInput
	if !Decode(w, r, &in) {
		return
	}
	res, err := s.svc.Escalate(r.Context(), u, in)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	WriteJSON(w, status, caseResult{Case: s.caseView(res.Case), Created: res.Created})
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request, u care.User) {
	q := r.URL.Query()
	cq := care.CaseQuery{
		Sort: q.Get("sort"), Cursor: q.Get("cursor"),
		Status: care.Status(q.Get("status")), Priority: care.Priority(q.Get("priority")),
		Assignee: q.Get("assignee"), Platform: q.Get("platform"), ProfileID: q.Get("profile_id"), Q: q.Get("q"), SLA: q.Get("sla"),
	}
	caseQueryView(&cq, q.Get("view"))
	limit, ok := queryLimit(w, r)
	if !ok {
		return
	}
	cq.Limit = limit
	page, err := s.svc.Cases(r.Context(), u, cq)
	answer(s, w, r, http.StatusOK, page, err, func(page care.CasePage) any {
		return struct {
			Cases      []CaseJSON `json:"cases"`
			NextCursor *string    `json:"next_cursor"`
		}{s.caseViews(page.Cases), optString(page.NextCursor)}
	})
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request, u care.User) {
	if id, ok := PathID(w, r); ok {
		c, err := s.svc.Case(r.Context(), u, id)
		answer(s, w, r, http.StatusOK, c, err, s.caseView)
	}
}

func (s *Server) patchCase(w http.ResponseWriter, r *http.Request, u care.User) {
	var p care.CasePatch
	if id, ok := pathIDAndBody(w, r, &p); ok {
		c, err := s.svc.PatchCase(r.Context(), u, id, p)
		answer(s, w, r, http.StatusOK, c, err, s.caseView)
	}
}

func (s *Server) deleteCase(w http.ResponseWriter, r *http.Request, u care.User) {
	if id, ok := PathID(w, r); ok {
		c, err := s.svc.DeleteCase(r.Context(), u, id)
		answer(s, w, r, http.StatusOK, c, err, s.caseView)
	}
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := PathID(w, r)
	if !ok {
		return
	}
	limit, ok := queryLimit(w, r)
	if !ok {
		return
	}
	msgs, err := s.svc.Messages(r.Context(), u, id, limit, r.URL.Query().Get("before"))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	s.writeMessages(w, r, msgs)
}

// writeMessages answers {"messages":[...]} one message at a time, so the
// largest listing (care.MaxMessagesPage messages at their limits) is never
// held twice, as its JSON text too.
func (s *Server) writeMessages(w http.ResponseWriter, r *http.Request, msgs []care.Message) {
	setJSONHeaders(w)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	bw.WriteString(`{"messages":[`)
	for i, m := range msgs {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(MessageView(m)); err != nil {
			// The status is out: all that is left is to cut the answer short.
			s.log.ErrorContext(r.Context(), "encode message", "route", r.Pattern, "err", err)
			return
		}
	}
	bw.WriteString("]}\n")
	bw.Flush()
}

func (s *Server) addMessage(w http.ResponseWriter, r *http.Request, u care.User) {
	var nm care.NewMessage
	if id, ok := pathIDAndBody(w, r, &nm); ok {
		m, _, err := s.svc.AddMessage(r.Context(), u, id, nm)
		answer(s, w, r, http.StatusCreated, m, err, MessageView)
	}
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request, u care.User) {
	if id, ok := PathID(w, r); ok {
		c, err := s.svc.Customer(r.Context(), u, id)
		answer(s, w, r, http.StatusOK, c, err, CustomerView)
	}
}

func (s *Server) patchCustomer(w http.ResponseWriter, r *http.Request, u care.User) {
	var p care.CustomerPatch
	if id, ok := pathIDAndBody(w, r, &p); ok {
		c, err := s.svc.PatchCustomer(r.Context(), u, id, p)
		answer(s, w, r, http.StatusOK, c, err, CustomerView)
	}
}

func (s *Server) customerCases(w http.ResponseWriter, r *http.Request, u care.User) {
	if id, ok := PathID(w, r); ok {
		cases, err := s.svc.CustomerCases(r.Context(), u, id)
		answer(s, w, r, http.StatusOK, cases, err, func(cases []care.Case) any {
			return struct {
				Cases []CaseJSON `json:"cases"`
			}{s.caseViews(cases)}
		})
	}
}

func (s *Server) communityMessage(w http.ResponseWriter, r *http.Request, u care.User) {
	st, err := s.svc.CommunityMessage(r.Context(), u, r.PathValue("platform"), r.PathValue("external_id"))
	answer(s, w, r, http.StatusOK, st, err, func(st care.CommunityStatus) map[string]any {
		return map[string]any{"case_id": st.CaseID, "locked": st.Locked, "community_state": st.State}
	})
}
