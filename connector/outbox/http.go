package outbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
)

// API listing limits.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// Handler serves the outbox routes of SPEC §4, for supervisors only:
//
//	GET  /api/v1/salesforce/outbox?state=failed|pending[&limit=N]
//	     → {"entries":[...]}, oldest first (state defaults to failed)
//	POST /api/v1/salesforce/outbox/{id}/retry
//	     → the entry, pending again and due at once; 404 for an unknown
//	       id, 409 when the entry is not failed
//
// Each entry carries Salesforce's error as {"code","message"}.
type Handler struct {
	store AdminStore
	fail  func(w http.ResponseWriter, r *http.Request, err error)
}

// NewHandler returns the outbox API over store.
func NewHandler(store AdminStore) *Handler { return &Handler{store: store} }

// Register adds the routes to the API server.
func (h *Handler) Register(srv *httpapi.Server) {
	h.fail = srv.Fail
	srv.HandleAPI("GET /api/v1/salesforce/outbox", h.list)
	srv.HandleAPI("POST /api/v1/salesforce/outbox/{id}/retry", h.retry)
}

// EntryJSON is an outbox entry as the API shows it.
type EntryJSON struct {
	ID            uint64     `json:"id"`
	Kind          string     `json:"kind"`
	CaseID        int64      `json:"case_id"`
	MessageID     string     `json:"message_id,omitempty"`
	Value         string     `json:"value,omitempty"`
	Actor         string     `json:"actor,omitempty"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	Error         *ErrorJSON `json:"error"` // the last error, null when none
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ErrorJSON is the error that stopped an entry: Salesforce's code, or
// carebridge's salesforce_record_deleted (empty when the error has no
// code), and message.
type ErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EntryView renders an entry for the API.
func EntryView(e care.OutboxEntry) EntryJSON {
	out := EntryJSON{
		ID: e.ID, Kind: string(e.Kind), CaseID: e.CaseID, MessageID: e.MessageID, Value: e.Value, Actor: e.Actor,
		State: string(e.State), Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt.UTC(),
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
	if e.LastError != "" {
		out.Error = splitError(e.LastError)
	}
	return out
}

// splitError reads back the "CODE: message" form errorText records.
func splitError(s string) *ErrorJSON {
	code, msg, ok := strings.Cut(s, ": ")
	if ok && code == ReasonRecordDeleted {
		return &ErrorJSON{Code: code, Message: msg}
	}
	if ok && code != "" && strings.IndexFunc(code, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_'
	}) < 0 {
		return &ErrorJSON{Code: code, Message: msg}
	}
	return &ErrorJSON{Message: s}
}

// supervisor answers 403 unless u is a supervisor. Errors go through the
// API's Fail, whose one table maps codes to statuses.
func (h *Handler) supervisor(w http.ResponseWriter, r *http.Request, u care.User) bool {
	if u.Role != care.RoleSupervisor {
		h.fail(w, r, care.Errorf(care.CodeForbidden, "only supervisors see the Salesforce outbox"))
		return false
	}
	return true
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, u care.User) {
	if !h.supervisor(w, r, u) {
		return
	}
	q := r.URL.Query()
	state := care.OutboxFailed
	switch s := q.Get("state"); s {
	case "", string(care.OutboxFailed):
	case string(care.OutboxPending):
		state = care.OutboxPending
	default:
		h.fail(w, r, care.Errorf(care.CodeInvalidArgument, "state must be failed or pending"))
		return
	}
	limit := defaultListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			h.fail(w, r, care.Errorf(care.CodeInvalidArgument, "limit must be a number from 1 to %d", maxListLimit))
			return
		}
		limit = n
	}
	entries, err := h.store.OutboxList(r.Context(), state, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]EntryJSON, len(entries))
	for i, e := range entries {
		out[i] = EntryView(e)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
}

func (h *Handler) retry(w http.ResponseWriter, r *http.Request, u care.User) {
	if !h.supervisor(w, r, u) {
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		h.fail(w, r, care.Errorf(care.CodeNotFound, "no such outbox entry: %s", r.PathValue("id")))
		return
	}
	e, err := h.store.OutboxRequeue(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, EntryView(e))
}
