package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/live"
)

// routeEvents serves GET /api/v1/events when the server has a broker.
func (s *Server) routeEvents() {
	if s.live != nil {
		s.HandleAPI("GET /api/v1/events", s.events)
	}
}

// events streams the caller's live events as Server-Sent Events (SPEC §14)
// until the client goes, the broker drops it for falling behind, or the
// broker closes (shutdown). With ?case_id= it streams that one case's
// events (the embedded case page), to anyone who may read the case.
func (s *Server) events(w http.ResponseWriter, r *http.Request, u care.User) {
	if !u.IsAgent() {
		WriteError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("role %s reads no case events", u.Role))
		return
	}
	lastID, resume := lastEventID(r)
	var sub *live.Subscription
	var err error
	if v := r.URL.Query().Get("case_id"); v != "" {
		id, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || id <= 0 {
			WriteError(w, http.StatusBadRequest, "invalid_argument", "case_id must be a case id")
			return
		}
		if _, err := s.svc.Case(r.Context(), u, id); err != nil {
			s.Fail(w, r, err)
			return
		}
		sub, err = s.live.SubscribeCase(u, id, lastID, resume)
	} else {
		sub, err = s.live.Subscribe(u, lastID, resume)
	}
	switch {
	case errors.Is(err, live.ErrTooManyStreams):
		w.Header().Set("Retry-After", "10")
		WriteError(w, http.StatusTooManyRequests, "too_many_requests", "too many open event streams: close one")
		return
	case err != nil:
		WriteError(w, http.StatusServiceUnavailable, "unavailable", "the event stream is shutting down")
		return
	}
	defer sub.Close()
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), deadline: s.live.WriteDeadline()}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if sw.raw("retry: 3000\n: connected\n\n") != nil {
		return
	}
	for _, e := range sub.Backlog() {
		if sw.event(e) != nil {
			return
		}
	}
	tick := time.NewTicker(s.live.Keepalive())
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.Done():
			if sub.Lagged() {
				// Fell behind: reload, then resume from here.
				sw.event(live.Event{ID: s.live.LastID(), Type: live.TypeReset})
			}
			return
		case e := <-sub.Events():
			if sw.event(e) != nil {
				return
			}
		case <-tick.C:
			if sw.raw(": keepalive\n\n") != nil {
				return
			}
		}
	}
}

// lastEventID reads Last-Event-ID, else ?last_event_id= (a client that
// opens a new EventSource cannot set the header); one that is not a
// number resumes from nothing kept, so the client resets.
func lastEventID(r *http.Request) (uint64, bool) {
	v := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		v = strings.TrimSpace(r.URL.Query().Get("last_event_id"))
	}
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, true
	}
	return n, true
}

// sseWriter writes an event stream, each write flushed and bounded by a
// deadline so a client that stops reading is cut off.
type sseWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	deadline time.Duration
}

func (sw *sseWriter) raw(s string) error {
	// The server's WriteTimeout would end a long stream: each write gets
	// its own deadline instead.
	if err := sw.rc.SetWriteDeadline(time.Now().Add(sw.deadline)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := sw.w.Write([]byte(s)); err != nil {
		return err
	}
	return sw.rc.Flush()
}

func (sw *sseWriter) event(e live.Event) error {
	data := e.Data
	if data == nil {
		data = []byte("{}")
	}
	return sw.raw("id: " + strconv.FormatUint(e.ID, 10) + "\nevent: " + e.Type + "\ndata: " + string(data) + "\n\n")
}
