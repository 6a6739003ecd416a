// Package console is carebridge's web console: the agents' case screens,
// the case page embedded in Salesforce, the Salesforce settings page and the
// sign-in that puts a browser session in front of the /api/v1 API.
//
// Everything the browser loads is embedded in the binary: HTML templates,
// one stylesheet and a few ES modules, served from the daemon's own origin.
// The pages talk to /api/v1 with fetch and the session cookie; nothing is
// fetched from anywhere else.
//
// Sessions are HMAC-signed cookies (user id, session id, expiry); the CSRF
// token is an HMAC of the session id, given to the page in a meta tag and
// sent back in the X-CSRF-Token header. Every request looks the user up
// again, so a user removed from the config loses access at once; signing out
// revokes the session id (kept until it would have expired).
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
)

// Users is the user directory the console checks sessions against (a
// *care.Directory).
type Users interface {
	User(id string) (care.User, bool)
	All() []care.User
}

// Options configure the console.
type Options struct {
	// Users is looked up on every request: removing a user ends their
	// sessions at once. Required.
	Users Users
	// Key signs session cookies; at least MinKeySize bytes. Derive it from
	// the daemon's secret key (tokens.Key.Derive), so the secret itself
	// never signs cookies and rotating it signs everyone out. Required.
	Key []byte
	// PublicURL is the console's external base URL (config public_url).
	// Over https the cookies are Secure and the embed cookie is
	// SameSite=None; Partitioned, as a third-party iframe needs.
	PublicURL string
	// EmbedFrameAncestors are the origins that may frame /embed/cases/{id}
	// (config salesforce.embed_frame_ancestors); empty means none.
	EmbedFrameAncestors []string
	// SessionTTL is how long a sign-in lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	// Revocations, when set, keeps signed-out session ids across restarts
	// (a *bolt.KV namespace). Without it they are kept in memory only.
	Revocations RevocationStore
	// SalesforceSignIn, when set, offers Sign in with Salesforce on /login
	// (config console.salesforce_sign_in).
	SalesforceSignIn *SalesforceSignIn
	// Cases, when set, lets /embed/cases/{id} take a case's external key
	// (what the Salesforce case page knows it by) instead of its id.
	Cases  CaseKeys
	Clock  care.Clock
	Logger *slog.Logger
}

// Console serves the web console.
type Console struct {
	users        Users
	signer       signer
	secure       bool // public_url is https
	publicOrigin string
	embedCSP     string
	ttl          time.Duration
	revoked      *revocations
	clock        care.Clock
	log          *slog.Logger
	assets       *assets
	api          *httpapi.Server
	sf           *sfSignIn // nil: Sign in with Salesforce is off
	cases        CaseKeys
	// localhost: public_url is http://localhost, where browsers take
	// Secure cookies, so the embed cookie can be SameSite=None there too.
	localhost bool
}

// New builds the console. It loads the revoked-session list from
// opts.Revocations, and fails on a missing user directory, a short key, a
// bad public URL or a frame ancestor that is not a CSP source expression.
func New(ctx context.Context, opts Options) (*Console, error) {
	if opts.Users == nil {
		return nil, errors.New("console: a user directory is required")
	}
	if len(opts.Key) < MinKeySize {
		return nil, fmt.Errorf("console: the session key must be at least %d bytes", MinKeySize)
	}
	c := &Console{
		users: opts.Users, signer: newSigner(opts.Key), ttl: opts.SessionTTL,
		clock: opts.Clock, log: opts.Logger,
		revoked: &revocations{store: opts.Revocations}, cases: opts.Cases,
	}
	if c.ttl <= 0 {
		c.ttl = DefaultSessionTTL
	}
	if c.clock == nil {
		c.clock = care.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("console: public URL %q is not an http(s) URL", opts.PublicURL)
		}
		c.secure = u.Scheme == "https"
		c.localhost = u.Hostname() == "localhost"
		c.publicOrigin = u.Scheme + "://" + u.Host
	}
	csp, err := frameAncestors(opts.EmbedFrameAncestors)
	if err != nil {
		return nil, err
	}
	c.embedCSP = csp
	if opts.SalesforceSignIn != nil {
		if c.sf, err = newSFSignIn(*opts.SalesforceSignIn, opts.PublicURL); err != nil {
			return nil, err
		}
	}
	if c.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if err := c.revoked.load(ctx, c.clock.Now()); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return c, nil
}

// sourceExpr is what a frame-ancestors entry may be: a scheme-source, a
// host-source with optional wildcard and port, or 'self'. Nothing that could
// end the directive (';' ',' spaces, quotes) gets into the header.
var sourceExpr = regexp.MustCompile(`^(?:'self'|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::(?:\d+|\*))?/?)$`)

func frameAncestors(list []string) (string, error) {
	if len(list) == 0 {
		return "'none'", nil
	}
	for _, s := range list {
		if !sourceExpr.MatchString(s) {
			return "", fmt.Errorf("console: embed frame ancestor %q is not a CSP source expression", s)
		}
	}
	return strings.Join(list, " "), nil
}

// Register installs the console on the API server: its pages and assets,
// and the cookie-session authentication of /api/v1 (SetSessionAuth).
func (c *Console) Register(api *httpapi.Server) {
	c.api = api
	api.SetSessionAuth(c.SessionAuth)
	api.Handle("GET /{$}", http.HandlerFunc(c.appPage))
	api.Handle("GET /cases/{id}", http.HandlerFunc(c.appPage))
	api.Handle("GET /settings/salesforce", http.HandlerFunc(c.appPage))
	api.Handle("GET /embed/cases/{id}", http.HandlerFunc(c.embedPage))
	api.Handle("GET /login", http.HandlerFunc(c.loginForm))
	api.Handle("POST /login", http.HandlerFunc(c.login))
	api.Handle("POST /logout", http.HandlerFunc(c.logout))
	api.Handle("GET /assets/{name}", http.HandlerFunc(c.asset))
	c.registerSalesforceSignIn(api)
}

// SessionAuth authenticates an /api/v1 request by its session cookie (the
// function Register installs with SetSessionAuth). State-changing requests
// must carry the session's CSRF token in X-CSRF-Token and, where the
// browser says so, come from the console's own origin.
func (c *Console) SessionAuth(r *http.Request) (care.User, bool) {
	changing := !safeMethod(r.Method)
	if changing && !c.sameOrigin(r) {
		return care.User{}, false
	}
	token := r.Header.Get(CSRFHeader)
	for _, s := range c.sessions(r) {
		if changing && !c.signer.csrfOK(s.ID, token) {
			continue
		}
		if u, ok := c.userOf(s); ok {
			return u, true
		}
	}
	return care.User{}, false
}

// sessions returns the valid (signed, unexpired, not revoked) sessions of
// r's cookies, the console cookie first.
func (c *Console) sessions(r *http.Request) []session {
	now := c.clock.Now()
	var out []session
	for _, name := range []string{CookieName, EmbedCookieName} {
		for _, ck := range r.CookiesNamed(name) {
			s, ok := c.signer.open(ck.Value)
			if !ok || !now.Before(s.expiresAt()) || c.revoked.revoked(s.ID) {
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

// userOf looks the session's user up now: gone from the config, or no
// longer an agent or supervisor, means no access.
func (c *Console) userOf(s session) (care.User, bool) {
	u, ok := c.users.User(s.UserID)
	if !ok || !u.IsAgent() {
		return care.User{}, false
	}
	return u, true
}

// current finds the signed-in user of a page request.
func (c *Console) current(r *http.Request) (session, care.User, bool) {
	for _, s := range c.sessions(r) {
		if u, ok := c.userOf(s); ok {
			return s, u, true
		}
	}
	return session{}, care.User{}, false
}

// ---- security headers ----

const cspBase = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors "

// headers sets the headers every console response carries. embed selects
// the embed page's frame-ancestors list instead of 'none'.
func (c *Console) headers(w http.ResponseWriter, embed bool) {
	h := w.Header()
	if embed {
		h.Set("Content-Security-Policy", cspBase+c.embedCSP)
	} else {
		h.Set("Content-Security-Policy", cspBase+"'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// ---- pages ----

var (
	casePath  = regexp.MustCompile(`^/cases/[1-9][0-9]{0,18}$`)
	embedPath = regexp.MustCompile(`^/embed/cases/(?:[1-9][0-9]{0,18}|` + externalKeyPattern + `)$`)
)

// safeNext returns next when it is a console page of this origin, else "/".
// It is what a sign-in returns to; anything else could send the user to
// another site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	switch p := u.Path; {
	case p == "/", p == "/settings/salesforce", casePath.MatchString(p), embedPath.MatchString(p):
		out := p
		if u.RawQuery != "" {
			out += "?" + u.RawQuery
		}
		return out
	}
	return "/"
}

func isEmbedNext(next string) bool {
	p, _, _ := strings.Cut(next, "?")
	return embedPath.MatchString(p)
}

// toLogin answers 303 to the sign-in form, remembering where to return.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request, embed bool) {
	c.headers(w, embed)
	w.Header().Set("Cache-Control", "no-store")
	loc := "/login"
	if next := safeNext(r.URL.RequestURI()); next != "/" {
		loc += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// bootUser is a user as the page sees it.
type bootUser struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Role care.Role `json:"role"`
}

// boot is the data a page starts from, in a meta tag.
type boot struct {
	Mode   string     `json:"mode"` // console | embed
	User   bootUser   `json:"user"`
	Users  []bootUser `json:"users"` // who can be assigned or mentioned
	CaseID int64      `json:"case_id,omitempty"`
	Limits bootLimits `json:"limits"`
}

func (c *Console) boot(mode string, u care.User, caseID int64) boot {
	b := boot{Mode: mode, User: bootUser{u.ID, u.Name, u.Role}, CaseID: caseID, Users: []bootUser{}, Limits: c.limits()}
	for _, o := range c.users.All() {
		if o.IsAgent() {
			b.Users = append(b.Users, bootUser{o.ID, o.Name, o.Role})
		}
	}
	return b
}

func (c *Console) appPage(w http.ResponseWriter, r *http.Request) {
	s, u, ok := c.current(r)
	if !ok {
		c.toLogin(w, r, false)
		return
	}
	var caseID int64
	if id := r.PathValue("id"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			c.headers(w, false)
			http.NotFound(w, r)
			return
		}
		caseID = n
	}
	c.headers(w, false)
	c.render(w, r, http.StatusOK, "app.html", pageData{
		Title: "Care cases", CSRF: c.signer.csrf(s.ID), Boot: c.boot("console", u, caseID), User: u,
	})
}

func (c *Console) embedPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	byKey := err != nil && c.cases != nil && externalKey.MatchString(r.PathValue("id"))
	if (err != nil || id <= 0) && !byKey {
		c.headers(w, true)
		http.NotFound(w, r)
		return
	}
	s, u, ok := c.current(r)
	if !ok {
		c.toLogin(w, r, true)
		return
	}
	c.headers(w, true)
	if byKey {
		if id, ok = c.caseByKey(r, r.PathValue("id")); !ok {
			http.NotFound(w, r)
			return
		}
	}
	c.render(w, r, http.StatusOK, "app.html", pageData{
		Title: fmt.Sprintf("Care case #%d", id), CSRF: c.signer.csrf(s.ID), Boot: c.boot("embed", u, id),
		User: u, Embed: true, Next: r.URL.Path,
	})
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	embed := isEmbedNext(next)
	if _, _, ok := c.current(r); ok {
		c.headers(w, embed)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.headers(w, embed)
	c.render(w, r, http.StatusOK, "login.html", pageData{Title: "Sign in", Next: next, Embed: embed})
}

// maxFormBytes bounds the sign-in and sign-out forms.
const maxFormBytes = 16 << 10

// signForm reads a sign-in or sign-out form (at most maxFormBytes) and
// sets the page's headers: where to go next, whether that is the embedded
// console, and the form's read error, for the caller to answer after its
// origin check.
func (c *Console) signForm(w http.ResponseWriter, r *http.Request) (next string, embed bool, perr error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	perr = r.ParseForm()
	next = safeNext(r.PostFormValue("next"))
	embed = isEmbedNext(next)
	c.headers(w, embed)
	return next, embed, perr
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	next, embed, perr := c.signForm(w, r)
	refuse := func(status int, why string) {
		c.render(w, r, status, "login.html", pageData{Title: "Sign in", Next: next, Embed: embed, Error: why})
	}
	if !c.sameOrigin(r) {
		refuse(http.StatusForbidden, "This sign-in did not come from the carebridge sign-in page. Open the page again and sign in there.")
		return
	}
	if perr != nil {
		refuse(http.StatusBadRequest, "The form could not be read. Please try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	var u care.User
	au, ok := c.api.User(token) // c.api is set by Register, the only way to reach this handler
	if ok {
		u, ok = c.users.User(au.ID) // the directory is the authority
	}
	if !ok {
		c.log.InfoContext(r.Context(), "console sign-in refused", "reason", "unknown token")
		refuse(http.StatusUnauthorized, "That token is not valid. Check it and try again, or ask your administrator for a new one.")
		return
	}
	if !u.IsAgent() {
		c.log.InfoContext(r.Context(), "console sign-in refused", "reason", "not an agent", "user", u.ID, "role", string(u.Role))
		refuse(http.StatusForbidden, "Integration accounts cannot use the console. Sign in with an agent or supervisor token.")
		return
	}
	sid, err := newSessionID()
	if err != nil {
		c.log.ErrorContext(r.Context(), "console sign-in", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	now := c.clock.Now()
	s := session{ID: sid, UserID: u.ID, Expires: now.Add(c.ttl).Unix(), Embed: embed}
	http.SetCookie(w, c.cookie(s, c.signer.seal(s), c.ttl))
	c.log.InfoContext(r.Context(), "console sign-in", "user", u.ID, "embed", embed)
	c.makeAvailable(r.Context(), u)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// cookie builds the session cookie for s (maxAge < 0 deletes it).
func (c *Console) cookie(s session, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{
		Name: CookieName, Value: value, Path: "/", HttpOnly: true,
		Secure: c.secure, SameSite: http.SameSiteLaxMode,
	}
	if s.Embed {
		ck.Name = EmbedCookieName
		if c.secure || c.localhost {
			ck.Secure = true
			// A cookie a cross-site iframe sends must be SameSite=None,
			// which browsers accept only with Secure. Partitioned (CHIPS)
			// keeps it working where third-party cookies are blocked: it is
			// set inside the Salesforce frame and read there.
			ck.SameSite, ck.Partitioned = http.SameSiteNoneMode, true
		}
	}
	if maxAge < 0 {
		ck.MaxAge, ck.Value = -1, ""
	} else {
		ck.MaxAge = int(maxAge / time.Second)
		ck.Expires = time.Unix(s.Expires, 0).UTC()
	}
	return ck
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	next, _, perr := c.signForm(w, r)
	if !c.sameOrigin(r) {
		http.Error(w, "sign-out refused: it did not come from a carebridge page", http.StatusForbidden)
		return
	}
	if perr != nil {
		// Not "the token does not match": the form never got that far.
		http.Error(w, "sign-out refused: the form could not be read; reload the page and try again", http.StatusBadRequest)
		return
	}
	token := r.PostFormValue("csrf")
	if token == "" {
		token = r.Header.Get(CSRFHeader)
	}
	sessions := c.sessions(r)
	var mine []session
	for _, s := range sessions {
		if c.signer.csrfOK(s.ID, token) {
			mine = append(mine, s)
		}
	}
	if len(sessions) > 0 && len(mine) == 0 {
		http.Error(w, "sign-out refused: the form's security token does not match your session; reload the page and try again", http.StatusForbidden)
		return
	}
	for _, s := range mine {
		if err := c.revoked.revoke(r.Context(), s, c.clock.Now()); err != nil {
			c.log.ErrorContext(r.Context(), "console sign-out", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, c.cookie(s, "", -1))
		c.log.InfoContext(r.Context(), "console sign-out", "user", s.UserID)
	}
	loc := "/login"
	if next != "/" {
		loc += "?next=" + url.QueryEscape(next)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, loc, http.StatusSeeOther)
}
