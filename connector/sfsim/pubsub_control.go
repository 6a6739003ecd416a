package sfsim

import (
	"net/http"
	"time"
)

// servePubSubControl is the Pub/Sub API's part of the control surface:
//
//   - POST /__sim/pubsub/drop {"after_events":N}: every open subscription
//     ends with UNAVAILABLE once it has delivered N more events (0 or no
//     body: at once), as a connection lost mid-batch.
//   - POST /__sim/pubsub/gaps {"count":N}: the next N Case change events
//     are GAP_ events (ids, no values).
//   - POST /__sim/pubsub/overflow {"count":N}: the next N Case changes are
//     one GAP_OVERFLOW event (the empty record id, no values).
//   - POST /__sim/pubsub/expire {"before":"2006-01-02T15:04:05Z"}: the
//     change events committed before that time (no body: all of them) are
//     past retention.
func (s *Server) servePubSubControl(w http.ResponseWriter, action string, b []byte) {
	ctlErr := func(status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
	if s.pubsub == nil {
		ctlErr(http.StatusNotFound, "the org serves no Pub/Sub API (--no-pubsub)")
		return
	}
	switch action {
	case "drop":
		var in struct {
			AfterEvents int `json:"after_events"`
		}
		if len(b) > 0 {
			if err := strictJSON(b, &in); err != nil || in.AfterEvents < 0 {
				ctlErr(http.StatusBadRequest, "want {\"after_events\":N} with N >= 0")
				return
			}
		}
		s.DropChangeStreams(in.AfterEvents)
	case "gaps", "overflow":
		var in struct {
			Count int `json:"count"`
		}
		if err := strictJSON(b, &in); err != nil || in.Count < 0 {
			ctlErr(http.StatusBadRequest, "want {\"count\":N} with N >= 0")
			return
		}
		if action == "gaps" {
			s.InjectChangeGaps(in.Count)
		} else {
			s.InjectChangeOverflow(in.Count)
		}
	case "expire":
		var in struct {
			Before *time.Time `json:"before"`
		}
		if len(b) > 0 {
			if err := strictJSON(b, &in); err != nil {
				ctlErr(http.StatusBadRequest, "want {\"before\":\"RFC 3339 time\"}")
				return
			}
		}
		before := time.Unix(1<<40, 0) // after every event
		if in.Before != nil {
			before = *in.Before
		}
		s.ExpireChangeEvents(before)
	default:
		ctlErr(http.StatusNotFound, "unknown control endpoint POST /__sim/pubsub/"+action)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
