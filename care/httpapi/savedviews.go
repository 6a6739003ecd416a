package httpapi

import (
	"net/http"
	"strconv"

	"github.com/carebridge/carebridge/care"
)

// The live console's read side (SPEC §14): view counts, customer search
// and saved views.

func (s *Server) routeSavedViews() {
	s.HandleAPI("GET /api/v1/views/counts", s.viewCounts)
	s.HandleAPI("GET /api/v1/views", s.listSavedViews)
	s.HandleAPI("POST /api/v1/views", s.createSavedView)
	s.HandleAPI("DELETE /api/v1/views/{id}", s.deleteSavedView)
	s.HandleAPI("GET /api/v1/customers", s.searchCustomers)
}

// caseQueryView fills the view of q from view=: a saved view's id (a
// number), else a default view's name (an unknown name is refused as one).
func caseQueryView(q *care.CaseQuery, view string) {
	if _, err := strconv.ParseUint(view, 10, 64); err == nil {
		q.SavedView = view
		return
	}
	q.View = care.View(view)
}

func (s *Server) viewCounts(w http.ResponseWriter, r *http.Request, u care.User) {
	counts, err := s.svc.ViewCounts(r.Context(), u)
	answer(s, w, r, http.StatusOK, counts, err, asIs)
}

func (s *Server) searchCustomers(w http.ResponseWriter, r *http.Request, u care.User) {
	limit, ok := queryLimit(w, r)
	if !ok {
		return
	}
	list, err := s.svc.Customers(r.Context(), u, r.URL.Query().Get("q"), limit)
	answer(s, w, r, http.StatusOK, list, err, func(list []care.Customer) any {
		out := struct {
			Customers []CustomerJSON `json:"customers"`
		}{Customers: make([]CustomerJSON, 0, len(list))}
		for _, c := range list {
			out.Customers = append(out.Customers, CustomerView(c))
		}
		return out
	})
}

// queryLimit reads ?limit= (0 when absent), answering 400 when it is not
// a positive integer.
func queryLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		WriteError(w, http.StatusBadRequest, "invalid_argument", "limit must be a positive integer")
		return 0, false
	}
	return n, true
}

// savedViewInput is the body of POST /api/v1/views: what a caller may set.
type savedViewInput struct {
	Name    string           `json:"name"`
	Filters care.ViewFilters `json:"filters"`
	Sort    string           `json:"sort"`
	Shared  bool             `json:"shared"`
}

func (s *Server) createSavedView(w http.ResponseWriter, r *http.Request, u care.User) {
	var in savedViewInput
	if !Decode(w, r, &in) {
		return
	}
	v, err := s.svc.CreateView(r.Context(), u, care.SavedView{Name: in.Name, Filters: in.Filters, Sort: in.Sort, Shared: in.Shared})
	answer(s, w, r, http.StatusCreated, v, err, asIs)
}

func (s *Server) listSavedViews(w http.ResponseWriter, r *http.Request, u care.User) {
	list, err := s.svc.SavedViews(r.Context(), u)
	answer(s, w, r, http.StatusOK, list, err, func(list []care.SavedViewCount) any {
		if list == nil {
			list = []care.SavedViewCount{}
		}
		return map[string]any{"views": list}
	})
}

func (s *Server) deleteSavedView(w http.ResponseWriter, r *http.Request, u care.User) {
	if err := s.svc.DeleteView(r.Context(), u, r.PathValue("id")); err != nil {
		s.Fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
