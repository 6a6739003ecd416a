// The caller's own Salesforce account and the online mapping check, for the
// console's Salesforce settings (SPEC §14).

package sfapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// AccountRoutes serves GET /api/v1/salesforce/me (whether the caller has
// connected their own Salesforce account, and as whom) and POST
// /api/v1/mapping/validate (a supervisor checks the mapping file, with
// ?online=true against the org's describe as `mapping check --online` does).
type AccountRoutes struct {
	Pool *tokens.Pool
	// MappingFile is the path of the mapping file (mapping.Holder.Path).
	MappingFile func() string
	Logger      *slog.Logger // optional
}

// Register installs the routes on api.
func (a *AccountRoutes) Register(api *httpapi.Server) {
	api.HandleAPI("GET /api/v1/salesforce/me", a.me)
	api.HandleAPI("POST /api/v1/mapping/validate", a.validate)
}

type accountJSON struct {
	Connected       bool    `json:"connected"`
	SFUsername      *string `json:"sf_username"`
	SFUserID        *string `json:"sf_user_id"`
	Healthy         bool    `json:"healthy"`
	LastRefreshedAt *string `json:"last_refreshed_at"`
	Error           *string `json:"error"`
	// DefaultHolder says the caller holds the default token.
	DefaultHolder bool `json:"default_holder"`
}

func (a *AccountRoutes) me(w http.ResponseWriter, r *http.Request, u care.User) {
	if !u.IsAgent() {
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "integration users have no Salesforce account")
		return
	}
	st := a.Pool.Status()
	out := accountJSON{DefaultHolder: st.Default != nil && st.Default.UserID == u.ID}
	for _, t := range st.Users {
		if t.UserID == u.ID {
			out = accountJSON{Connected: true, SFUsername: strJSON(t.SFUsername), SFUserID: strJSON(t.SFUserID),
				Healthy: t.Healthy, LastRefreshedAt: timeJSON(t.LastRefreshedAt), Error: strJSON(t.Error),
				DefaultHolder: out.DefaultHolder}
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

type validationJSON struct {
	File     string            `json:"file"`
	Online   bool              `json:"online"`
	OK       bool              `json:"ok"`
	Problems []mapping.Problem `json:"problems"`
}

func (a *AccountRoutes) validate(w http.ResponseWriter, r *http.Request, u care.User) {
	if u.Role != care.RoleSupervisor {
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only a supervisor validates the mapping")
		return
	}
	var online bool
	switch r.URL.Query().Get("online") {
	case "", "false":
	case "true":
		online = true
	default:
		httpapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "online must be true or false")
		return
	}
	file := a.MappingFile()
	if file == "" {
		httpapi.WriteError(w, http.StatusConflict, "mapping_not_configured", "no mapping file is configured")
		return
	}
	var describer mapping.Describer
	if online {
		conn, err := a.Pool.Background(r.Context())
		if errors.Is(err, tokens.ErrNoHealthyToken) {
			httpapi.WriteError(w, http.StatusServiceUnavailable, "salesforce_connection_expired", "no healthy Salesforce token: connect Salesforce first")
			return
		}
		if err != nil {
			httpapi.WriteError(w, http.StatusBadGateway, "salesforce_unavailable", "the Salesforce connection failed")
			return
		}
		describer = connector.Describer{Client: conn.Client}
	}
	rep, err := mapping.CheckFile(r.Context(), file, describer)
	if err != nil {
		// The error may carry the instance URL: it is not echoed.
		if a.Logger != nil {
			a.Logger.ErrorContext(r.Context(), "mapping validation failed", "online", online, "err", err)
		}
		httpapi.WriteError(w, http.StatusBadGateway, "salesforce_unavailable", "the mapping could not be checked (the describe failed, or the file could not be read)")
		return
	}
	problems := rep.Problems
	if problems == nil {
		problems = []mapping.Problem{}
	}
	httpapi.WriteJSON(w, http.StatusOK, validationJSON{File: rep.File, Online: rep.Online, OK: rep.OK(), Problems: problems})
}
