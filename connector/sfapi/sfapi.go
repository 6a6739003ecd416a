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
// token of another org lands on the console with ?error=org_mismatch. A
// refused connect or callback is an HTML page with a link back to the console
// when the browser asks for HTML, the API's JSON error otherwise.
package sfapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
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
	// Changes is ChangesEvents while the change stream delivers Salesforce
	// changes, else ChangesPolling ("" = polling) with ChangesReason
	// saying why (no secret, no raw error body).
	Changes       string
	ChangesReason string
}

// How Salesforce changes reach Care: the values of the connection's
// "changes" (SPEC §15).
const (
	ChangesEvents  = "events"
	ChangesPolling = "polling"
)

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
