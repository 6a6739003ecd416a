package sfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/mapping"
)

// CaseRoutes serves the Salesforce routes of the Care API: contacts,
// escalation to cases and leads, what a case has in Salesforce, previews.
type CaseRoutes struct {
	esc *connector.Escalator
	api *httpapi.Server
}

// NewCaseRoutes builds the routes over an Escalator.
func NewCaseRoutes(esc *connector.Escalator) *CaseRoutes { return &CaseRoutes{esc: esc} }

// Register adds the routes to the API server.
func (h *CaseRoutes) Register(api *httpapi.Server) {
	h.api = api
	api.HandleAPI("GET /api/v1/salesforce/contacts", h.searchContacts)
	api.HandleAPI("PUT /api/v1/customers/{id}/salesforce-contact", h.linkContact)
	api.HandleAPI("POST /api/v1/customers/{id}/salesforce-contact", h.createContact)
	api.HandleAPI("DELETE /api/v1/customers/{id}/salesforce-contact", h.unlinkContact)
	api.HandleAPI("GET /api/v1/cases/{id}/salesforce", h.caseSalesforce)
	api.HandleAPI("POST /api/v1/cases/{id}/salesforce/case", h.createCase)
	api.HandleAPI("POST /api/v1/cases/{id}/salesforce/lead", h.createLead)
	api.HandleAPI("GET /api/v1/cases/{id}/salesforce/preview", h.preview)
}

func (h *CaseRoutes) searchContacts(w http.ResponseWriter, r *http.Request, u care.User) {
	found, err := h.esc.SearchContacts(r.Context(), u, r.URL.Query().Get("q"))
	if found == nil {
		found = []connector.Contact{}
	}
	h.answer(w, r, http.StatusOK, map[string]any{"contacts": found}, err)
}

type customerContact struct {
	Customer httpapi.CustomerJSON `json:"customer"`
	Contact  *connector.Contact   `json:"contact"`
	// LateContact: the customer's cases escalated without a contact that
	// got this one, or could not (link again to retry).
	LateContact *connector.LateContact `json:"late_contact,omitempty"`
	*connector.Creation
}

func contactAnswer(l connector.ContactLink) customerContact {
	return customerContact{Customer: httpapi.CustomerView(l.Customer), Contact: &l.Contact, LateContact: &l.LateContact, Creation: l.Creation}
}

func (h *CaseRoutes) linkContact(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	var body struct {
		ContactID string `json:"contact_id"`
	}
	if !httpapi.Decode(w, r, &body) {
		return
	}
	l, err := h.esc.LinkContact(r.Context(), u, id, body.ContactID)
	h.answer(w, r, http.StatusOK, contactAnswer(l), err)
}

func (h *CaseRoutes) createContact(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	var body struct {
		Fields map[string]any `json:"fields"`
	}
	if !httpapi.Decode(w, r, &body) {
		return
	}
	l, err := h.esc.CreateContact(r.Context(), u, id, body.Fields)
	h.answer(w, r, http.StatusCreated, contactAnswer(l), err)
}

func (h *CaseRoutes) unlinkContact(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	cu, err := h.esc.UnlinkContact(r.Context(), u, id)
	h.answer(w, r, http.StatusOK, customerContact{Customer: httpapi.CustomerView(cu)}, err)
}

func (h *CaseRoutes) caseSalesforce(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	v, err := h.esc.CaseSalesforce(r.Context(), u, id)
	h.answer(w, r, http.StatusOK, v, err)
}

func (h *CaseRoutes) createCase(w http.ResponseWriter, r *http.Request, u care.User) {
	h.create(w, r, u, "case", h.esc.CreateCase)
}

func (h *CaseRoutes) createLead(w http.ResponseWriter, r *http.Request, u care.User) {
	h.create(w, r, u, "lead", h.esc.CreateLead)
}

func (h *CaseRoutes) create(w http.ResponseWriter, r *http.Request, u care.User, key string,
	fn func(ctx context.Context, actor care.User, caseID int64, overrides map[string]any) (connector.Record, connector.Creation, error)) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	var body struct {
		Fields map[string]any `json:"fields"`
	}
	if !httpapi.DecodeOptional(w, r, &body) {
		return
	}
	rec, how, err := fn(r.Context(), u, id, body.Fields)
	created := map[string]any{key: rec, "created_as": how.As}
	if how.Reason != "" {
		created["reason"] = how.Reason
	}
	h.answer(w, r, http.StatusCreated, created, err)
}

func (h *CaseRoutes) preview(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	object := r.URL.Query().Get("object")
	if object == "" {
		object = "case"
	}
	p, err := h.esc.Preview(r.Context(), u, id, object)
	h.answer(w, r, http.StatusOK, p, err)
}

// Error codes of the escalation routes beyond the Care API's own.
const (
	// codeSalesforceDuplicate: a blocking duplicate rule refused the
	// record; "matches" lists the records it matched (SPEC §11).
	codeSalesforceDuplicate = "salesforce_duplicate"
	// codeFieldNotOverridable: the request overrides fields the mapping
	// does not let callers set; "fields" names them (SPEC §12).
	codeFieldNotOverridable = "field_not_overridable"
)

// escalationError is the error answer of the escalation routes that
// carries more than a code and a message.
type escalationError struct {
	Error struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Matches []string `json:"matches,omitempty"`
		Fields  []string `json:"fields,omitempty"`
	} `json:"error"`
}

// answer writes v with status, or err through fail (v is not used then).
func (h *CaseRoutes) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, status, v)
}

// fail answers err: a blocked duplicate 409 salesforce_duplicate with its
// matches, refused overrides 400 field_not_overridable naming the fields,
// anything else through the API's Fail.
func (h *CaseRoutes) fail(w http.ResponseWriter, r *http.Request, err error) {
	var body escalationError
	var dup *connector.DuplicateError
	var no *mapping.NotOverridableError
	switch {
	case errors.As(err, &dup):
		body.Error.Code, body.Error.Message, body.Error.Matches = codeSalesforceDuplicate, dup.Message, dup.Matches
		httpapi.WriteJSON(w, http.StatusConflict, body)
	case errors.As(err, &no):
		body.Error.Code, body.Error.Fields = codeFieldNotOverridable, no.Fields
		body.Error.Message = fmt.Sprintf("the %s mapping does not let callers set %s", no.Section, strings.Join(no.Fields, ", "))
		httpapi.WriteJSON(w, http.StatusBadRequest, body)
	default:
		h.api.Fail(w, r, err)
	}
}
