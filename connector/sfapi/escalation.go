package sfapi

import (
	"context"
	"net/http"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector"
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
	if err != nil {
		h.api.Fail(w, r, err)
		return
	}
	if found == nil {
		found = []connector.Contact{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"contacts": found})
}

type customerContact struct {
	Customer httpapi.CustomerJSON `json:"customer"`
	Contact  *connector.Contact   `json:"contact"`
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
	cu, ct, err := h.esc.LinkContact(r.Context(), u, id, body.ContactID)
	if err != nil {
		h.api.Fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, customerContact{Customer: httpapi.CustomerView(cu), Contact: &ct})
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
	cu, ct, err := h.esc.CreateContact(r.Context(), u, id, body.Fields)
	if err != nil {
		h.api.Fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, customerContact{Customer: httpapi.CustomerView(cu), Contact: &ct})
}

func (h *CaseRoutes) unlinkContact(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	cu, err := h.esc.UnlinkContact(r.Context(), u, id)
	if err != nil {
		h.api.Fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, customerContact{Customer: httpapi.CustomerView(cu)})
}

func (h *CaseRoutes) caseSalesforce(w http.ResponseWriter, r *http.Request, u care.User) {
	id, ok := httpapi.PathID(w, r)
	if !ok {
		return
	}
	v, err := h.esc.CaseSalesforce(r.Context(), u, id)
	if err != nil {
		h.api.Fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

func (h *CaseRoutes) createCase(w http.ResponseWriter, r *http.Request, u care.User) {
	h.create(w, r, u, "case", h.esc.CreateCase)
}

func (h *CaseRoutes) createLead(w http.ResponseWriter, r *http.Request, u care.User) {
	h.create(w, r, u, "lead", h.esc.CreateLead)
}

func (h *CaseRoutes) create(w http.ResponseWriter, r *http.Request, u care.User, key string,
	fn func(ctx context.Context, actor care.User, caseID int64, overrides map[string]any) (connector.Record, error)) {
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
	rec, err := fn(r.Context(), u, id, body.Fields)
	if err != nil {
		h.api.Fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{key: rec})
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
	if err != nil {
		h.api.Fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
}
