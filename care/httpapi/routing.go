package httpapi

import (
	"net/http"

	"github.com/carebridge/carebridge/care"
)

// Routing (SPEC §16): GET /api/v1/me shows a routed agent's skills,
// capacity, availability and load; PATCH /api/v1/me {"available":bool}
// switches their availability.

// meJSON is a routed agent as GET /api/v1/me shows them.
type meJSON struct {
	care.User
	care.AgentState
}

// routeRouting serves PATCH /api/v1/me when the service routes cases.
func (s *Server) routeRouting(svc care.Service) {
	rt, ok := svc.(care.Router)
	if !ok {
		return
	}
	s.router = rt
	s.HandleAPI("PATCH /api/v1/me", func(w http.ResponseWriter, r *http.Request, u care.User) {
		var body struct {
			Available *bool `json:"available"`
		}
		if !Decode(w, r, &body) {
			return
		}
		if body.Available == nil {
			s.Fail(w, r, care.Errorf(care.CodeInvalidArgument, "available (true or false) is required"))
			return
		}
		st, err := rt.SetAvailable(r.Context(), u, *body.Available)
		answer(s, w, r, http.StatusOK, st, err, func(st care.AgentState) meJSON { return meJSON{u, st} })
	})
}

// Router is the routing side of the service (nil when it routes nothing):
// the console switches an agent available when they sign in.
func (s *Server) Router() care.Router { return s.router }

// writeMe answers GET /api/v1/me: the user, and for a routed agent their
// routing state.
func (s *Server) writeMe(w http.ResponseWriter, r *http.Request, u care.User) {
	if s.router == nil {
		WriteJSON(w, http.StatusOK, u)
		return
	}
	st, err := s.router.AgentState(r.Context(), u)
	switch {
	case err != nil:
		s.Fail(w, r, err)
	case st.Routed:
		WriteJSON(w, http.StatusOK, meJSON{u, st})
	default:
		WriteJSON(w, http.StatusOK, u)
	}
}
