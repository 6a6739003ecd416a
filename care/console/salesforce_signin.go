package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/config/sfid"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// SalesforceSignIn configures Sign in with Salesforce (SPEC §13): an
// OpenID Connect code flow with PKCE against the org's login URL, through
// the connected app carebridge already uses.
type SalesforceSignIn struct {
	// LoginURL is the OpenID provider: login.salesforce.com,
	// test.salesforce.com, a My Domain or the simulator. Its discovery
	// document and keys are read on the first sign-in.
	LoginURL     string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback the connected app lists; default
	// Options.PublicURL + CallbackPath.
	RedirectURL string
	// HTTPClient makes the discovery, keys and token calls; default one
	// with a 15 s timeout.
	HTTPClient *http.Client
	// OrgID is the org carebridge is bound to (salesforce.org_id, else the
	// org of the first default token connected; the token pool's OrgID):
	// only its users sign in. While it is "" (or OrgID is nil) Sign in with
	// Salesforce is refused: a user of any org could otherwise sign in as
	// the Care user whose email they set.
	OrgID func() string
	// LinkedUser is the Care user who connected a personal token as the
	// Salesforce user sfUserID (005…, 15 or 18 characters).
	LinkedUser func(sfUserID string) (careUserID string, ok bool)
}

// Sign-in paths and names.
const (
	SignInPath   = "/login/salesforce"
	CallbackPath = "/login/salesforce/callback"
	TicketPath   = "/login/salesforce/ticket"
	// flowCookie binds a sign-in's state, nonce and PKCE verifier to the
	// browser that started it.
	flowCookie = "carebridge_sf_signin"
	flowTTL    = 10 * time.Minute
	// ticketTTL bounds the one-time ticket the sign-in popup hands to the
	// framed page.
	ticketTTL    = time.Minute
	signInScopes = "openid email profile"
	maxHintBytes = 256
)

// notBoundMessage says why Sign in with Salesforce is refused before the
// org is known.
const notBoundMessage = "carebridge is not connected to a Salesforce org yet: a supervisor signs in with their Care token " +
	"and connects the default token first, or the admin sets salesforce.org_id."

// sfSignIn is the running Sign in with Salesforce.
type sfSignIn struct {
	cfg   SalesforceSignIn
	oauth oauth2.Config

	mu       sync.Mutex
	provider *oidc.Provider       // discovered on first use
	used     map[string]time.Time // spent ticket ids -> expiry
}

func newSFSignIn(cfg SalesforceSignIn, publicURL string) (*sfSignIn, error) {
	if cfg.LoginURL == "" || cfg.ClientID == "" {
		return nil, errors.New("console: Sign in with Salesforce needs the login URL and the connected app's client id")
	}
	if cfg.RedirectURL == "" {
		if publicURL == "" {
			return nil, errors.New("console: Sign in with Salesforce needs the public URL or a redirect URL")
		}
		cfg.RedirectURL = strings.TrimRight(publicURL, "/") + CallbackPath
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	return &sfSignIn{cfg: cfg, used: map[string]time.Time{},
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Scopes: strings.Fields(signInScopes)}}, nil
}

// discover returns the provider, reading the discovery document once it
// answers (a failure is tried again on the next sign-in).
func (s *sfSignIn) discover(ctx context.Context) (*oidc.Provider, oauth2.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.cfg.HTTPClient), s.cfg.LoginURL)
		if err != nil {
			return nil, oauth2.Config{}, fmt.Errorf("salesforce openid discovery: %w", err)
		}
		s.provider = p
		s.oauth.Endpoint = p.Endpoint()
		s.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return s.provider, s.oauth, nil
}

// orgID is the org users must belong to, "" while it is not known.
func (s *sfSignIn) orgID() string {
	if s.cfg.OrgID == nil {
		return ""
	}
	return s.cfg.OrgID()
}

// spend marks a ticket id used; false when it already was.
func (s *sfSignIn) spend(id string, exp, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.used {
		if !now.Before(e) {
			delete(s.used, k)
		}
	}
	if _, ok := s.used[id]; ok {
		return false
	}
	s.used[id] = exp
	return true
}

// signInFlow is what the flow cookie carries between the start and the
// callback.
type signInFlow struct {
	State    string `json:"st"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"nx"`
	Popup    bool   `json:"p,omitempty"`
	Expires  int64  `json:"exp"`
}

// signInTicket lets the framed page take over a sign-in its popup did.
type signInTicket struct {
	ID      string `json:"id"`
	UserID  string `json:"uid"`
	Expires int64  `json:"exp"`
}

// sealAs signs v under a purpose prefix that no session cookie has, so a
// flow cookie or a ticket can never pass for a session (or each other).
func (k signer) sealAs(prefix string, v any) string {
	payload, _ := json.Marshal(v) // structs of strings, bools and ints
	body := prefix + b64.EncodeToString(payload)
	return body + "." + b64.EncodeToString(k.mac(body))
}

func (k signer) openAs(prefix, s string, v any) bool {
	if !strings.HasPrefix(s, prefix) || len(s) > 4096 {
		return false
	}
	i := strings.LastIndexByte(s, '.')
	if i <= len(prefix) {
		return false
	}
	got, err := b64.DecodeString(s[i+1:])
	if err != nil || !hmac.Equal(got, k.mac(s[:i])) {
		return false
	}
	payload, err := b64.DecodeString(s[len(prefix):i])
	return err == nil && json.Unmarshal(payload, v) == nil
}

func randomID() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return b64.EncodeToString(b[:]), nil
}

// registerSalesforceSignIn installs the sign-in routes when it is on.
func (c *Console) registerSalesforceSignIn(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	if c.sf == nil {
		return
	}
	mux.Handle("GET "+SignInPath, http.HandlerFunc(c.salesforceStart))
	mux.Handle("GET "+CallbackPath, http.HandlerFunc(c.salesforceCallback))
	mux.Handle("POST "+TicketPath, http.HandlerFunc(c.salesforceTicket))
}

// salesforceSignInURL is the sign-in link of the /login page: "" when
// Sign in with Salesforce is off or not yet possible (no org known). It
// keeps next and a login_hint, and in the Salesforce iframe asks for the
// popup flow.
func (c *Console) salesforceSignInURL(r *http.Request, next string, embed bool) string {
	if c.sf == nil || c.sf.orgID() == "" {
		return ""
	}
	q := url.Values{}
	if next != "" && next != "/" {
		q.Set("next", next)
	}
	if hint := r.URL.Query().Get("login_hint"); hint != "" && len(hint) <= maxHintBytes {
		q.Set("login_hint", hint)
	}
	if embed {
		q.Set("popup", "1")
	}
	if len(q) == 0 {
		return SignInPath
	}
	return SignInPath + "?" + q.Encode()
}

func (c *Console) flowCookie(value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{Name: flowCookie, Value: value, Path: SignInPath, HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		ck.MaxAge, ck.Value = -1, ""
	}
	return ck
}

// salesforceStart is GET /login/salesforce: it binds a new state, nonce and
// PKCE verifier to the browser and sends it to Salesforce's authorize page.
func (c *Console) salesforceStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := safeNext(q.Get("next"))
	popup := q.Get("popup") == "1"
	c.headers(w, popup || isEmbedNext(next))
	w.Header().Set("Cache-Control", "no-store")
	if c.sf.orgID() == "" {
		c.log.InfoContext(r.Context(), "salesforce sign-in refused", "reason", "no org")
		c.signInError(w, r, http.StatusForbidden, next, popup, "Sign in with Salesforce is not available yet", notBoundMessage)
		return
	}
	_, oc, err := c.sf.discover(r.Context())
	if err != nil {
		c.log.WarnContext(r.Context(), "salesforce sign-in", "step", "discovery", "err", err)
		c.signInError(w, r, http.StatusBadGateway, next, popup, "Salesforce could not be reached",
			"carebridge could not read Salesforce's sign-in settings. Try again in a minute, or sign in with your access token.")
		return
	}
	flow := signInFlow{Next: next, Popup: popup, Verifier: oauth2.GenerateVerifier(),
		Expires: c.clock.Now().Add(flowTTL).Unix()}
	if flow.State, err = randomID(); err == nil {
		flow.Nonce, err = randomID()
	}
	if err != nil {
		c.log.ErrorContext(r.Context(), "salesforce sign-in", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, c.flowCookie(c.signer.sealAs("f1.", flow), flowTTL))
	opts := []oauth2.AuthCodeOption{oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier)}
	if hint := strings.TrimSpace(q.Get("login_hint")); hint != "" && len(hint) <= maxHintBytes {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	http.Redirect(w, r, oc.AuthCodeURL(flow.State, opts...), http.StatusSeeOther)
}

// idClaims are the id token claims the sign-in reads.
type idClaims struct {
	Subject       string `json:"sub"` // the identity URL: …/id/<org>/<user>
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Nonce         string `json:"nonce"`
}

// orgAndUser reads the org and user ids of the identity URL in sub (or the
// user_id claim).
func (cl idClaims) orgAndUser() (org, user string) {
	if i := strings.LastIndex(cl.Subject, "/id/"); i >= 0 {
		if o, u, ok := strings.Cut(cl.Subject[i+len("/id/"):], "/"); ok {
			org, user = o, u
		}
	}
	if cl.UserID != "" {
		user = cl.UserID
	}
	return org, user
}

// salesforceCallback is GET /login/salesforce/callback: it checks the
// state against the browser's flow cookie, trades the code (with the PKCE
// verifier), verifies the id token (issuer, audience, expiry, signature by
// the org's keys, nonce) and signs the matching Care user in.
func (c *Console) salesforceCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var flow signInFlow
	ck, err := r.Cookie(flowCookie)
	ok := err == nil && c.signer.openAs("f1.", ck.Value, &flow) && c.clock.Now().Before(time.Unix(flow.Expires, 0))
	http.SetCookie(w, c.flowCookie("", -1))
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		c.headers(w, true)
		c.signInError(w, r, http.StatusBadRequest, "/", false, "This sign-in has expired",
			"It took too long, or it was started in another browser or tab. Start again from the sign-in page.")
		return
	}
	c.headers(w, flow.Popup || isEmbedNext(flow.Next))
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1 {
		c.log.InfoContext(ctx, "salesforce sign-in refused", "reason", "state mismatch")
		c.signInError(w, r, http.StatusBadRequest, flow.Next, flow.Popup, "This sign-in does not match",
			"The answer from Salesforce belongs to another sign-in. Start again from the sign-in page.")
		return
	}
	if e := q.Get("error"); e != "" {
		c.log.InfoContext(ctx, "salesforce sign-in refused", "reason", "salesforce error", "error", clipCode(e))
		status, msg := http.StatusBadGateway, "Salesforce did not sign you in (error "+clipCode(e)+"). Try again, or ask your Salesforce administrator to check the carebridge connected app."
		if e == "access_denied" {
			status, msg = http.StatusForbidden, "You did not allow carebridge to use your Salesforce identity."
		}
		c.signInError(w, r, status, flow.Next, flow.Popup, "Not signed in", msg)
		return
	}
	provider, oc, err := c.sf.discover(ctx)
	var claims idClaims
	if err == nil {
		claims, err = c.sf.exchange(ctx, provider, oc, q.Get("code"), flow)
	}
	if err != nil {
		c.log.WarnContext(ctx, "salesforce sign-in refused", "reason", "token", "err", err)
		c.signInError(w, r, http.StatusBadGateway, flow.Next, flow.Popup, "Salesforce did not confirm who you are",
			"carebridge could not complete the sign-in with Salesforce. Start again; if it keeps failing, ask your administrator to check the connected app's consumer key and secret.")
		return
	}
	u, reason := c.salesforceUser(claims)
	if reason != "" {
		c.log.InfoContext(ctx, "salesforce sign-in refused", "reason", reason)
		msg := "Your Salesforce user has no carebridge account. Ask your carebridge administrator to add you with the email of your Salesforce user."
		if claims.Email != "" && reason == "no care user" {
			msg = "Your Salesforce user (" + claims.Email + ") has no carebridge account. Ask your carebridge administrator to add you with this email (carebridge user add)."
		}
		switch reason {
		case "other org":
			msg = "Your Salesforce user belongs to another Salesforce org than the one carebridge is connected to."
		case "no org":
			msg = notBoundMessage
		}
		c.signInError(w, r, http.StatusForbidden, flow.Next, flow.Popup, "No access to carebridge", msg)
		return
	}
	embed := flow.Popup || isEmbedNext(flow.Next)
	if err := c.signIn(w, r, u, embed); err != nil {
		c.log.ErrorContext(ctx, "salesforce sign-in", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.log.InfoContext(ctx, "console sign-in", "user", u.ID, "embed", embed, "with", "salesforce")
	if !flow.Popup {
		http.Redirect(w, r, flow.Next, http.StatusSeeOther)
		return
	}
	t := signInTicket{UserID: u.ID, Expires: c.clock.Now().Add(ticketTTL).Unix()}
	if t.ID, err = randomID(); err != nil {
		c.log.ErrorContext(ctx, "salesforce sign-in", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.render(w, r, http.StatusOK, "signin_done.html", pageData{Title: "Signed in", Next: flow.Next, Embed: true,
		Ticket: c.signer.sealAs("t1.", t)})
}

// exchange trades the code for tokens and returns the verified id token's
// claims. The access token is not kept: signing in needs only the identity.
func (s *sfSignIn) exchange(ctx context.Context, p *oidc.Provider, oc oauth2.Config, code string, flow signInFlow) (idClaims, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return idClaims{}, fmt.Errorf("token endpoint answered %d %s", re.Response.StatusCode, clipCode(re.ErrorCode))
		}
		return idClaims{}, errors.New("token endpoint unreachable")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return idClaims{}, errors.New("no id_token in the token response (is openid among the connected app's scopes?)")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID}).Verify(oidc.ClientContext(ctx, s.cfg.HTTPClient), raw)
	if err != nil {
		return idClaims{}, fmt.Errorf("id token: %w", err)
	}
	var cl idClaims
	if err := idt.Claims(&cl); err != nil {
		return idClaims{}, fmt.Errorf("id token claims: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(flow.Nonce)) != 1 {
		return idClaims{}, errors.New("id token nonce does not match")
	}
	return cl, nil
}

// salesforceUser is the Care user a verified Salesforce identity signs in
// as: the one who connected a personal token as that Salesforce user, else
// the one agent or supervisor with its email. reason says why none.
func (c *Console) salesforceUser(cl idClaims) (care.User, string) {
	org, sfUser := cl.orgAndUser()
	switch want := c.sf.orgID(); {
	case want == "":
		return care.User{}, "no org"
	case !sfid.Same(want, org):
		return care.User{}, "other org"
	}
	if c.sf.cfg.LinkedUser != nil && sfUser != "" {
		if id, ok := c.sf.cfg.LinkedUser(sfUser); ok {
			if u, ok := c.users.User(id); ok && u.IsAgent() {
				return u, ""
			}
		}
	}
	if cl.Email == "" || (cl.EmailVerified != nil && !*cl.EmailVerified) {
		return care.User{}, "no verified email"
	}
	var found []care.User
	for _, u := range c.users.All() {
		if u.IsAgent() && strings.EqualFold(strings.TrimSpace(u.Email), cl.Email) {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 1:
		return found[0], ""
	case 0:
		return care.User{}, "no care user"
	}
	return care.User{}, "email of several care users"
}

// signIn starts a session for u and sets its cookie.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, u care.User, embed bool) error {
	sid, err := newSessionID()
	if err != nil {
		return err
	}
	s := session{ID: sid, UserID: u.ID, Expires: c.clock.Now().Add(c.ttl).Unix(), Embed: embed}
	http.SetCookie(w, c.cookie(s, c.signer.seal(s), c.ttl))
	c.makeAvailable(r.Context(), u)
	return nil
}

// salesforceTicket is POST /login/salesforce/ticket: the framed page trades
// the one-time ticket its sign-in popup posted to it for a session cookie
// of its own (set inside the Salesforce frame, where the popup's cookie is
// not sent when the browser partitions third-party cookies).
func (c *Console) salesforceTicket(w http.ResponseWriter, r *http.Request) {
	c.headers(w, true)
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if !c.sameOrigin(r) {
		http.Error(w, "sign-in refused: it did not come from a carebridge page", http.StatusForbidden)
		return
	}
	var t signInTicket
	now := c.clock.Now()
	if err := r.ParseForm(); err != nil || !c.signer.openAs("t1.", r.PostFormValue("ticket"), &t) ||
		!now.Before(time.Unix(t.Expires, 0)) || !c.sf.spend(t.ID, time.Unix(t.Expires, 0), now) {
		http.Error(w, "sign-in refused: the ticket is not valid; sign in again", http.StatusForbidden)
		return
	}
	u, ok := c.users.User(t.UserID)
	if !ok || !u.IsAgent() {
		http.Error(w, "sign-in refused: the ticket is not valid; sign in again", http.StatusForbidden)
		return
	}
	if err := c.signIn(w, r, u, true); err != nil {
		c.log.ErrorContext(r.Context(), "salesforce sign-in", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// signInError answers a failed sign-in with an HTML page: back to the
// sign-in page, or, in the popup, a button that closes it.
func (c *Console) signInError(w http.ResponseWriter, r *http.Request, status int, next string, popup bool, title, msg string) {
	back := "/login"
	if next != "/" {
		back += "?next=" + url.QueryEscape(next)
	}
	c.render(w, r, status, "signin_error.html", pageData{Title: title, Error: msg, Next: back, Embed: popup})
}

// clipCode bounds an OAuth error code for logs and pages.
func clipCode(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
}
