// The connection API: its state, disconnecting a token, forgetting the org.

package sfapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/tokens"
)

type connectionJSON struct {
	State        string            `json:"state"`
	Error        *string           `json:"error"`  // why misconfigured, or the lost key
	OrgID        *string           `json:"org_id"` // the bound org; null before the first default connect
	Environment  string            `json:"environment"`
	InstanceURL  string            `json:"instance_url"`
	DefaultToken *defaultTokenJSON `json:"default_token"`
	Users        []userTokenJSON   `json:"users"`
	StatusSync   string            `json:"status_sync"`
	MessageSync  string            `json:"message_sync"`
	ContactSync  string            `json:"contact_sync"`
	Outbox       outboxJSON        `json:"outbox"`
	LastPollAt   *string           `json:"last_poll_at"`
	// Changes is how Salesforce changes reach Care: events (the change
	// stream is up) or polling, with ChangesReason saying why (SPEC §15).
	Changes       string  `json:"changes"`
	ChangesReason *string `json:"changes_reason"`
}

type defaultTokenJSON struct {
	Holder          string  `json:"holder"`  // Care user id, or the JWT username
	UserID          *string `json:"user_id"` // Care user id; null for the JWT flow
	Flow            string  `json:"flow"`    // web | jwt
	SFUserID        string  `json:"sf_user_id"`
	SFUsername      string  `json:"sf_username"`
	OrgID           string  `json:"org_id"`
	Healthy         bool    `json:"healthy"`
	ConnectedAt     *string `json:"connected_at"`
	LastRefreshedAt *string `json:"last_refreshed_at"`
	Error           *string `json:"error"`
}

type userTokenJSON struct {
	UserID          string  `json:"user_id"`
	SFUserID        string  `json:"sf_user_id"`
	SFUsername      string  `json:"sf_username"`
	Healthy         bool    `json:"healthy"`
	LastRefreshedAt *string `json:"last_refreshed_at"`
	Error           *string `json:"error"`
}

type outboxJSON struct {
	Pending          int   `json:"pending"`
	Failed           int   `json:"failed"`
	OldestAgeSeconds int64 `json:"oldest_age_seconds"`
}

func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func strJSON(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

func (h *Handler) connection(w http.ResponseWriter, r *http.Request, u care.User) {
	if u.Role != care.RoleSupervisor {
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only a supervisor can see the Salesforce connection")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, h.connectionBody(r.Context()))
}

// connectionBody builds the body of GET /api/v1/salesforce/connection.
func (h *Handler) connectionBody(ctx context.Context) connectionJSON {
	st := h.pool.Status()
	var sync SyncStatus
	if h.sync != nil {
		sync = h.sync(ctx)
	}
	out := connectionJSON{
		State: string(st.State), Error: strJSON(st.Error), OrgID: strJSON(st.OrgID),
		Environment: st.Environment, InstanceURL: st.InstanceURL,
		Users:      make([]userTokenJSON, 0, len(st.Users)),
		StatusSync: orOff(sync.StatusSync), MessageSync: orOff(sync.MessageSync), ContactSync: "off",
		Outbox: outboxJSON{Pending: sync.Outbox.Pending, Failed: sync.Outbox.Failed,
			OldestAgeSeconds: int64(sync.Outbox.OldestAge / time.Second)},
		LastPollAt: timeJSON(sync.LastPollAt),
		Changes:    ChangesPolling, ChangesReason: strJSON(sync.ChangesReason),
	}
	if sync.Changes == ChangesEvents {
		out.Changes, out.ChangesReason = ChangesEvents, nil
	}
	if sync.ContactSync {
		out.ContactSync = "on"
	}
	if d := st.Default; d != nil {
		flow := "web"
		if d.JWT {
			flow = "jwt"
		}
		out.DefaultToken = &defaultTokenJSON{Holder: d.Holder, UserID: strJSON(d.UserID), Flow: flow,
			SFUserID: d.SFUserID, SFUsername: d.SFUsername, OrgID: d.OrgID, Healthy: d.Healthy,
			ConnectedAt: timeJSON(d.ConnectedAt), LastRefreshedAt: timeJSON(d.LastRefreshedAt), Error: strJSON(d.Error)}
	}
	for _, t := range st.Users {
		out.Users = append(out.Users, userTokenJSON{UserID: t.UserID, SFUserID: t.SFUserID, SFUsername: t.SFUsername,
			Healthy: t.Healthy, LastRefreshedAt: timeJSON(t.LastRefreshedAt), Error: strJSON(t.Error)})
	}
	return out
}

// defaultUserID in DELETE /api/v1/salesforce/users/{user_id} names the
// default token.
const defaultUserID = "default"

func (h *Handler) disconnectUser(w http.ResponseWriter, r *http.Request, u care.User) {
	id := r.PathValue("user_id")
	if id == defaultUserID {
		h.disconnectDefault(w, r, u)
		return
	}
	switch {
	case !u.IsAgent():
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "integration users have no Salesforce token")
		return
	case id != u.ID && u.Role != care.RoleSupervisor:
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only a supervisor can disconnect another user's Salesforce token")
		return
	}
	h.finishDisconnect(w, r, u, id, h.pool.DisconnectUser(r.Context(), id))
}

func (h *Handler) disconnectDefault(w http.ResponseWriter, r *http.Request, u care.User) {
	if u.Role != care.RoleSupervisor {
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only a supervisor can disconnect the default Salesforce token")
		return
	}
	h.finishDisconnect(w, r, u, defaultUserID, h.pool.DisconnectDefault(r.Context()))
}

func (h *Handler) finishDisconnect(w http.ResponseWriter, r *http.Request, u care.User, which string, err error) {
	switch {
	case errors.Is(err, tokens.ErrNotFound):
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no Salesforce token for "+which)
	case err != nil:
		h.internal(w, r, err)
	default:
		h.log.Info("salesforce token disconnected", "token", which, "by", u.ID)
		w.WriteHeader(http.StatusNoContent)
	}
}

// forget is DELETE /api/v1/salesforce/connection: every token revoked at
// Salesforce and forgotten, the org id too (SPEC §12 "Forget").
func (h *Handler) forget(w http.ResponseWriter, r *http.Request, u care.User) {
	if u.Role != care.RoleSupervisor {
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only a supervisor can forget the Salesforce connection")
		return
	}
	if err := h.pool.Forget(r.Context()); err != nil {
		h.internal(w, r, err)
		return
	}
	h.log.Info("salesforce connection forgotten", "by", u.ID)
	w.WriteHeader(http.StatusNoContent)
}
