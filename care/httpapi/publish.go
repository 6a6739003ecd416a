package httpapi

import (
	"context"
	"net/http"

	"github.com/carebridge/carebridge/care"
)

// Redeliverer requeues a reply the publisher refused (the bbolt store
// does, SPEC §16).
type Redeliverer interface {
	RetryDelivery(ctx context.Context, actor care.User, caseID int64, messageID string) (care.Message, error)
}

// routePublish serves POST /api/v1/cases/{id}/messages/{mid}/retry when
// the service can requeue a reply: the case's assignee or a supervisor
// (403 otherwise); a reply that has not failed is 409 conflict.
func (s *Server) routePublish(svc care.Service) {
	rd, ok := svc.(Redeliverer)
	if !ok {
		return
	}
	s.HandleAPI("POST /api/v1/cases/{id}/messages/{mid}/retry", func(w http.ResponseWriter, r *http.Request, u care.User) {
		if id, ok := PathID(w, r); ok {
			m, err := rd.RetryDelivery(r.Context(), u, id, r.PathValue("mid"))
			answer(s, w, r, http.StatusOK, m, err, MessageView)
		}
	})
}
