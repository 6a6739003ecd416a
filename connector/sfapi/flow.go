// The OAuth web-server flow: connect and its callback.

package sfapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
)

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (h *Handler) connect(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		h.refuse(w, r, http.StatusForbidden, "forbidden", "a Salesforce connect cannot be started from another site")
		return
	}
	u, ok := h.auth(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge"`)
		h.refuse(w, r, http.StatusUnauthorized, "unauthenticated", "sign in to connect Salesforce")
		return
	}
	q := r.URL.Query()
	var kind tokens.Kind
	switch as := q.Get("as"); as {
	case "user", "":
		kind = tokens.KindUser
	case "default":
		kind = tokens.KindDefault
	default:
		h.refuse(w, r, http.StatusBadRequest, "invalid_argument", `as must be "default" or "user"`)
		return
	}
	switch {
	case !u.IsAgent():
		h.refuse(w, r, http.StatusForbidden, "forbidden", "integration users cannot connect a Salesforce token")
		return
	case kind == tokens.KindDefault && u.Role != care.RoleSupervisor:
		h.refuse(w, r, http.StatusForbidden, "forbidden", "only a supervisor can connect the default Salesforce token")
		return
	}
	env := q.Get("environment")
	switch env {
	case "":
		env = h.env
	case "production", "sandbox":
	default:
		h.refuse(w, r, http.StatusBadRequest, "invalid_argument", `environment must be "production" or "sandbox"`)
		return
	}
	loginURL, err := salesforce.LoginURL(env, h.override)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	auth, err := h.pool.OAuth(loginURL)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	state, err := newState()
	if err != nil {
		h.internal(w, r, err)
		return
	}
	bind, err := binding(r)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	verifier := salesforce.NewVerifier()
	err = h.states.put(state, pending{verifier: verifier, kind: kind, userID: u.ID, loginURL: loginURL,
		environment: env, binding: bind}, h.now())
	switch {
	case errors.Is(err, errUserPending):
		h.refuse(w, r, http.StatusTooManyRequests, "too_many_requests",
			"too many Salesforce connects of yours are pending; finish one or wait 10 minutes")
		return
	case errors.Is(err, errAllPending):
		h.log.Warn("salesforce connect refused: the pending connects are full", "user", u.ID)
		h.refuse(w, r, http.StatusTooManyRequests, "too_many_requests",
			"too many Salesforce connects are pending; try again in a few minutes")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: BindingCookie, Value: bind, Path: bindingPath,
		MaxAge: int(h.states.ttl / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.secure || r.TLS != nil})
	h.log.Info("salesforce connect started", "user", u.ID, "as", string(kind), "environment", env)
	http.Redirect(w, r, auth.AuthCodeURL(state, verifier, q.Get("login_hint")), http.StatusFound)
}

// maxEcho caps what the callback repeats of Salesforce's error parameters.
const maxEcho = 200

func clip(s string) string {
	if len(s) > maxEcho {
		return s[:maxEcho] + "…"
	}
	return s
}

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	q := r.URL.Query()
	p, ok := h.states.take(q.Get("state"), h.now())
	if e := q.Get("error"); e != "" {
		msg := "Salesforce did not authorize the connection: " + clip(e)
		if d := q.Get("error_description"); d != "" {
			msg += ": " + clip(d)
		}
		h.log.Warn("salesforce connect refused by Salesforce", "user", p.userID, "error", clip(e))
		h.refuse(w, r, http.StatusBadRequest, "salesforce_authorization_failed", msg)
		return
	}
	if !ok || !boundTo(r, p) {
		h.refuse(w, r, http.StatusBadRequest, "invalid_state",
			"the connect request is unknown, expired, already used or was started in another browser; start connecting again")
		return
	}
	code := q.Get("code")
	if code == "" {
		h.refuse(w, r, http.StatusBadRequest, "invalid_argument", "the callback has no code")
		return
	}
	auth, err := h.pool.OAuth(p.loginURL)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	tok, err := auth.Exchange(r.Context(), code, p.verifier)
	if err != nil {
		h.salesforceFailed(w, r, "exchange the authorization code", err)
		return
	}
	info, err := h.pool.Connect(r.Context(), tokens.Grant{Kind: p.kind, UserID: p.userID, Token: tok,
		LoginURL: p.loginURL, Environment: p.environment})
	if errors.Is(err, tokens.ErrOrgMismatch) {
		h.log.Warn("salesforce connect refused: token of another org", "user", p.userID, "as", string(p.kind))
		http.Redirect(w, r, h.consoleWithError("org_mismatch"), http.StatusFound)
		return
	}
	if err != nil {
		h.salesforceFailed(w, r, "store the token", err)
		return
	}
	h.log.Info("salesforce token connected", "user", p.userID, "as", string(p.kind), "sf_user_id", info.SFUserID)
	http.Redirect(w, r, h.console, http.StatusFound)
}

// consoleWithError is the console URL with ?error=code.
func (h *Handler) consoleWithError(code string) string {
	u, err := url.Parse(h.console)
	if err != nil {
		return "/?error=" + url.QueryEscape(code)
	}
	q := u.Query()
	q.Set("error", code)
	u.RawQuery = q.Encode()
	return u.String()
}

// salesforceFailed answers a failed exchange or identity read: Salesforce
// refusing (400 salesforce_authorization_failed, with its error code and
// description), Salesforce unreachable or failing (502
// salesforce_unavailable), anything else as an internal error.
func (h *Handler) salesforceFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	var oe *salesforce.OAuthError
	var ae *salesforce.APIError
	var ne *salesforce.NetworkError
	switch {
	case errors.As(err, &oe) && oe.Status >= 400 && oe.Status < 500:
		msg := "Salesforce refused to " + what + ": " + oe.Code
		if oe.Description != "" {
			msg += ": " + oe.Description
		}
		h.log.Warn("salesforce connect failed", "step", what, "error", oe.Code)
		h.refuse(w, r, http.StatusBadRequest, "salesforce_authorization_failed", msg)
	case errors.As(err, &oe), errors.As(err, &ae), errors.As(err, &ne):
		h.log.Warn("salesforce connect failed", "step", what, "error", err)
		h.refuse(w, r, http.StatusBadGateway, "salesforce_unavailable", "could not "+what+" with Salesforce; try again")
	default:
		h.internal(w, r, err)
	}
}

// internal answers an unexpected error as the API does: logged in full,
// answered without detail (a page for a browser).
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	if !wantsHTML(r) || errors.Is(err, context.Canceled) {
		h.api.Fail(w, r, err)
		return
	}
	h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
	h.errorPage(w, http.StatusInternalServerError, "internal", "carebridge could not finish this step; try again, and ask your administrator to look at its log if it keeps failing.")
}
