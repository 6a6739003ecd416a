// Package sfapi serves the Salesforce connection routes of SPEC §4 on the
// Care HTTP API:
//
//	GET    /oauth/salesforce/connect?as=default|user[&environment=production|sandbox][&login_hint=U]
//	GET    /oauth/salesforce/callback?code=&state=
//	GET    /api/v1/salesforce/connection
//	DELETE /api/v1/salesforce/users/{user_id}   ("default" as the user id: the default token)
//	DELETE /api/v1/salesforce/default           (the default token)
//	DELETE /api/v1/salesforce/connection        (forget every token and the org)
//
// Connect starts the OAuth web-server flow with PKCE for the authenticated
// caller: as=user connects the caller's personal token (agents and
// supervisors), as=default the default token with the caller as its holder
// (supervisors). Integration users cannot connect. The state is random,
// single use and lives 10 minutes, and is bound to the browser that
// started the connect by an HttpOnly cookie (SPEC §12 "OAuth"): a callback
// without it is refused, so nobody can make a browser finish a connect
// someone else started. The callback exchanges the code with its PKCE
// verifier and hands the token to the pool (connector/tokens), which reads
// the identity and stores it encrypted, then redirects to the console; a
// token of another org lands on the console with ?error=org_mismatch.
package sfapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
)

// Defaults.
const (
	// DefaultStateTTL is how long a connect state may be used (SPEC §4).
	DefaultStateTTL = 10 * time.Minute
	// DefaultMaxPending bounds the connect flows waiting for their
	// callback, DefaultMaxPendingPerUser those of one user; beyond either a
	// connect is refused (429) until flows finish or expire.
	DefaultMaxPending        = 1000
	DefaultMaxPendingPerUser = 10
	// BindingCookie binds a connect's state to the browser that started
	// it; it is sent only to /oauth/salesforce/.
	BindingCookie = "carebridge_oauth"
	bindingPath   = "/oauth/salesforce/"
)

// SyncStatus is what the connection API reports about the sync parts
// built elsewhere (mapping modes, outbox, poller). The zero value reports
// everything off, zeros and no poll.
type SyncStatus struct {
	StatusSync  string // off|conditions|bidirectional ("" = off)
	MessageSync string // off|continuous|one_time ("" = off)
	ContactSync bool   // mapping contact_sync; reported "on" or "off"
	Outbox      OutboxStatus
	LastPollAt  time.Time // zero = never (null)
}

// OutboxStatus counts the Salesforce outbox.
type OutboxStatus struct {
	Pending   int
	Failed    int
	OldestAge time.Duration
}

// Options configures the handlers.
type Options struct {
	// Pool holds the tokens (required).
	Pool *tokens.Pool
	// Environment is the configured salesforce.environment (production or
	// sandbox); LoginURLOverride the configured salesforce.login_url. When
	// the override is set it is used whatever environment a connect asks
	// for, as in the config.
	Environment      string
	LoginURLOverride string
	// Authenticate identifies the caller of /oauth/salesforce/connect.
	// Nil: the API server's own (*httpapi.Server).Authenticate, a bearer
	// token, else the console's cookie session.
	Authenticate func(r *http.Request) (care.User, bool)
	// Sync reports the sync modes, outbox and last poll; nil reports the
	// zero SyncStatus.
	Sync func(ctx context.Context) SyncStatus
	// ConsoleURL is where the callback sends the browser (default "/").
	ConsoleURL string
	// PublicURL is the daemon's public_url: the binding cookie is Secure
	// when it is https (also when a request came over TLS).
	PublicURL string
	// StateTTL (default 10m), MaxPending (default 1000) and
	// MaxPendingPerUser (default 10) bound the pending connect flows.
	StateTTL          time.Duration
	MaxPending        int
	MaxPendingPerUser int
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler serves the routes. Build it with New and add it to the API
// server with Register.
type Handler struct {
	api      *httpapi.Server // set by Register
	pool     *tokens.Pool
	env      string
	override string
	auth     func(r *http.Request) (care.User, bool)
	sync     func(ctx context.Context) SyncStatus
	console  string
	secure   bool
	now      func() time.Time
	log      *slog.Logger
	states   *stateStore
}

// New checks opts and returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Pool == nil {
		return nil, errors.New("sfapi: Pool is required")
	}
	env := opts.Environment
	if env == "" {
		env = "production"
	}
	if _, err := salesforce.LoginURL(env, opts.LoginURLOverride); err != nil {
		return nil, fmt.Errorf("sfapi: %w", err)
	}
	h := &Handler{pool: opts.Pool, env: env, override: opts.LoginURLOverride, auth: opts.Authenticate,
		sync: opts.Sync, console: opts.ConsoleURL, now: opts.Now, log: opts.Logger,
		secure: strings.HasPrefix(strings.ToLower(opts.PublicURL), "https://")}
	if h.console == "" {
		h.console = "/"
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	ttl, max, perUser := opts.StateTTL, opts.MaxPending, opts.MaxPendingPerUser
	if ttl <= 0 {
		ttl = DefaultStateTTL
	}
	if max <= 0 {
		max = DefaultMaxPending
	}
	if perUser <= 0 {
		perUser = DefaultMaxPendingPerUser
	}
	h.states = newStateStore(ttl, max, perUser)
	return h, nil
}

// Register adds the routes to srv. Without Options.Authenticate, connect
// authenticates its caller through srv.Authenticate.
func (h *Handler) Register(srv *httpapi.Server) {
	h.api = srv
	if h.auth == nil {
		h.auth = srv.Authenticate
	}
	srv.Handle("GET /oauth/salesforce/connect", http.HandlerFunc(h.connect))
	srv.Handle("GET /oauth/salesforce/callback", http.HandlerFunc(h.callback))
	srv.HandleAPI("GET /api/v1/salesforce/connection", h.connection)
	srv.HandleAPI("DELETE /api/v1/salesforce/users/{user_id}", h.disconnectUser)
	srv.HandleAPI("DELETE /api/v1/salesforce/default", h.disconnectDefault)
	srv.HandleAPI("DELETE /api/v1/salesforce/connection", h.forget)
}

// ---- pending connect flows ----

type pending struct {
	verifier    string
	kind        tokens.Kind
	userID      string
	loginURL    string
	environment string
	binding     string // the binding cookie's value
	expires     time.Time
}

// Refusals of stateStore.put.
var (
	errUserPending = errors.New("sfapi: too many connects of this user pending")
	errAllPending  = errors.New("sfapi: too many connects pending")
)

// stateStore keeps the pending flows in memory by state: single use, with
// a lifetime, at most max in all and perUser per user. A full store
// refuses new flows rather than dropping anyone's (one user must not
// evict another's). A restart forgets them (the user connects again).
type stateStore struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	perUser int
	m       map[string]pending
	byUser  map[string]int
}

func newStateStore(ttl time.Duration, max, perUser int) *stateStore {
	return &stateStore{ttl: ttl, max: max, perUser: perUser, m: map[string]pending{}, byUser: map[string]int{}}
}

func (s *stateStore) put(state string, p pending, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.expires = now.Add(s.ttl)
	for k, v := range s.m {
		if !now.Before(v.expires) {
			s.deleteLocked(k, v)
		}
	}
	switch {
	case s.byUser[p.userID] >= s.perUser:
		return errUserPending
	case len(s.m) >= s.max:
		return errAllPending
	}
	s.m[state] = p
	s.byUser[p.userID]++
	return nil
}

func (s *stateStore) deleteLocked(state string, p pending) {
	delete(s.m, state)
	if s.byUser[p.userID]--; s.byUser[p.userID] <= 0 {
		delete(s.byUser, p.userID)
	}
}

// take removes and returns the flow of state; ok is false when it is
// unknown, already used or expired.
func (s *stateStore) take(state string, now time.Time) (pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[state]
	if !ok {
		return pending{}, false
	}
	s.deleteLocked(state, p)
	if !now.Before(p.expires) {
		return pending{}, false
	}
	return p, true
}

// newState returns 32 random bytes, base64url: a state or a binding.
func newState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// binding returns the browser's binding cookie value, or a new one. A
// browser keeps one value across connects, so several connects started in
// one browser (two tabs) all stay valid.
func binding(r *http.Request) (string, error) {
	if c, err := r.Cookie(BindingCookie); err == nil && len(c.Value) == 43 {
		if _, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			return c.Value, nil
		}
	}
	return newState()
}

// boundTo reports whether r carries the binding cookie of p.
func boundTo(r *http.Request, p pending) bool {
	c, err := r.Cookie(BindingCookie)
	return err == nil && p.binding != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.binding)) == 1
}

// ---- handlers ----

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (h *Handler) connect(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "a Salesforce connect cannot be started from another site")
		return
	}
	u, ok := h.auth(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge"`)
		httpapi.WriteError(w, http.StatusUnauthorized, "unauthenticated", "sign in to connect Salesforce")
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
		httpapi.WriteError(w, http.StatusBadRequest, "invalid_argument", `as must be "default" or "user"`)
		return
	}
	switch {
	case !u.IsAgent():
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "integration users cannot connect a Salesforce token")
		return
	case kind == tokens.KindDefault && u.Role != care.RoleSupervisor:
		httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only a supervisor can connect the default Salesforce token")
		return
	}
	env := q.Get("environment")
	switch env {
	case "":
		env = h.env
	case "production", "sandbox":
	default:
		httpapi.WriteError(w, http.StatusBadRequest, "invalid_argument", `environment must be "production" or "sandbox"`)
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
		httpapi.WriteError(w, http.StatusTooManyRequests, "too_many_requests",
			"too many Salesforce connects of yours are pending; finish one or wait 10 minutes")
		return
	case errors.Is(err, errAllPending):
		h.log.Warn("salesforce connect refused: the pending connects are full", "user", u.ID)
		httpapi.WriteError(w, http.StatusTooManyRequests, "too_many_requests",
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
		httpapi.WriteError(w, http.StatusBadRequest, "salesforce_authorization_failed", msg)
		return
	}
	if !ok || !boundTo(r, p) {
		httpapi.WriteError(w, http.StatusBadRequest, "invalid_state",
			"the connect request is unknown, expired, already used or was started in another browser; start connecting again")
		return
	}
	code := q.Get("code")
	if code == "" {
		httpapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the callback has no code")
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
		httpapi.WriteError(w, http.StatusBadRequest, "salesforce_authorization_failed", msg)
	case errors.As(err, &oe), errors.As(err, &ae), errors.As(err, &ne):
		h.log.Warn("salesforce connect failed", "step", what, "error", err)
		httpapi.WriteError(w, http.StatusBadGateway, "salesforce_unavailable", "could not "+what+" with Salesforce; try again")
	default:
		h.internal(w, r, err)
	}
}

// internal answers an unexpected error as the API does: logged in full,
// answered without detail.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) { h.api.Fail(w, r, err) }

// ---- the connection API ----

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
