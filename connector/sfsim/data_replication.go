package sfsim

import (
	"net/http"
	"time"
)

// handleUpdated serves getUpdated: ids whose SystemModstamp lies in
// [start, end), both cut to the minute, at most 30 days back.
func (s *Server) handleUpdated(c *call, o *object) *response {
	start, end, errR := s.replicationWindow(c)
	if errR != nil {
		return errR
	}
	ids := []string{}
	for _, r := range s.store.table(o).rows {
		if r.deleted {
			continue
		}
		if t, ok := r.vals["SystemModstamp"].(time.Time); ok && !t.Before(start) && t.Before(end) {
			ids = append(ids, r.id)
		}
	}
	return jsonResp(http.StatusOK, jobj{{"ids", ids}, {"latestDateCovered", formatTime(end)}})
}

// deletedKept is how far back getDeleted answers: "no more than 15 days
// previous to the day the call is executed".
const deletedKept = 15 * 24 * time.Hour

// handleDeleted serves getDeleted from the delete log: the records of o
// deleted in [start, end) (minutes), oldest first, within the last 15
// days; earliestDateAvailable is where the log begins.
func (s *Server) handleDeleted(c *call, o *object) *response {
	start, end, errR := s.replicationWindow(c)
	if errR != nil {
		return errR
	}
	earliest := s.started.Truncate(time.Minute)
	if kept := s.now().UTC().Add(-deletedKept).Truncate(time.Minute); kept.After(earliest) {
		earliest = kept
	}
	recs := []jobj{}
	for _, r := range s.store.table(o).rows {
		if r.deleted && !r.deletedAt.Before(start) && r.deletedAt.Before(end) && !r.deletedAt.Before(earliest) {
			recs = append(recs, jobj{{"id", r.id}, {"deletedDate", formatTime(r.deletedAt)}})
		}
	}
	return jsonResp(http.StatusOK, jobj{{"deletedRecords", recs}, {"earliestDateAvailable", formatTime(earliest)}, {"latestDateCovered", formatTime(end)}})
}

func (s *Server) replicationWindow(c *call) (time.Time, time.Time, *response) {
	if c.method != http.MethodGet {
		return time.Time{}, time.Time{}, errResp(errMethodNotAllowed(c.method, "GET,HEAD"))
	}
	startS, endS := c.query.Get("start"), c.query.Get("end")
	if startS == "" || endS == "" {
		return time.Time{}, time.Time{}, errResp(badRequest("MISSING_ARGUMENT", "start and end are required"))
	}
	start, err1 := parseInputTime(startS)
	end, err2 := parseInputTime(endS)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, errResp(badRequest("INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times"))
	}
	now := s.now().UTC()
	start = start.Truncate(time.Minute)
	end = end.Truncate(time.Minute)
	if cap := now.Truncate(time.Minute); end.After(cap) {
		end = cap
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, errResp(badRequest("INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate by more than one minute"))
	}
	if start.Before(now.Add(-30 * 24 * time.Hour)) {
		return time.Time{}, time.Time{}, errResp(badRequest("INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago"))
	}
	return start, end, nil
}
