package sfsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OAuth 2.0 as Salesforce serves it: authorize (auto-approved), token
// (authorization_code with PKCE, refresh_token, JWT bearer), revoke,
// userinfo and the identity URL.

// authCodeTTL is how long an authorization code can be exchanged.
const authCodeTTL = 15 * time.Minute

type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	method      string
	userID      string
	scopes      []string
	nonce       string
	authTime    time.Time
	expires     time.Time
}

// oauthError answers the token endpoint's {"error","error_description"}.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, jobj{{"error", code}, {"error_description", desc}})
}

// serveOAuth handles the OAuth and identity paths; it reports false for
// other paths.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) bool {
	switch path := r.URL.Path; {
	case path == "/services/oauth2/token":
		s.stats.count(opToken)
		s.serveToken(w, r)
	case path == "/services/oauth2/revoke":
		s.stats.count(opRevoke)
		s.handleRevoke(w, r)
	case path == "/services/oauth2/userinfo":
		s.stats.count(opUserinfo)
		s.handleUserinfo(w, r)
	case path == "/id/keys":
		s.handleJWKS(w)
	case path == "/.well-known/openid-configuration":
		s.handleDiscovery(w)
	case strings.HasPrefix(path, "/id/"):
		s.stats.count(opUserinfo)
		s.handleIdentity(w, r)
	default:
		return false
	}
	return true
}

// authorizePage answers an authorize error that cannot go back to the
// client (unknown client or redirect URI), as Salesforce's error page does.
func authorizePage(w http.ResponseWriter, code, desc string) {
	writeRaw(w, http.StatusBadRequest, "text/html;charset=UTF-8",
		fmt.Sprintf("<html><body><h1>OAuth Error</h1><p>error=%s</p><p>error_description=%s</p></body></html>\n", code, desc))
}

// handleAuthorize approves at once (or, with Options.LoginPage, after the
// login form is posted back): login_hint (or the form's username) picks the
// user, a new standard user when unknown; then it redirects to
// redirect_uri with a code.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		authorizePage(w, "invalid_request", "bad request")
		return
	}
	q := r.Form
	if q.Get("client_id") != s.opts.ClientID {
		authorizePage(w, "invalid_client_id", "client identifier invalid")
		return
	}
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if redirect == "" || err != nil || !ru.IsAbs() {
		authorizePage(w, "redirect_uri_mismatch", "redirect_uri must match configuration")
		return
	}
	if s.opts.Callback != "" && redirect != s.opts.Callback {
		authorizePage(w, "redirect_uri_mismatch", "redirect_uri must match configuration")
		return
	}
	back := func(params url.Values) {
		if st := q.Get("state"); st != "" {
			params.Set("state", st)
		}
		u := *ru
		query := u.Query()
		for k, vs := range params {
			query[k] = vs
		}
		u.RawQuery = query.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	fail := func(code, desc string) {
		back(url.Values{"error": {code}, "error_description": {desc}})
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response type not supported")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && !s.opts.PKCEOptional:
		fail("invalid_request", "missing required code challenge")
		return
	case challenge != "" && method == "":
		// Salesforce takes a challenge without a method as S256.
		method = "S256"
	case challenge != "" && method != "S256" && method != "plain":
		fail("invalid_request", "invalid code challenge method")
		return
	}
	username := q.Get("login_hint")
	if s.opts.LoginPage {
		if r.Method != http.MethodPost {
			s.loginPage(w, q)
			return
		}
		username = strings.TrimSpace(q.Get("username"))
	}
	if username == "" {
		username = DefaultUsername
	}
	userID := s.loginUser(username)
	code := "aPrx" + randomToken(48) + "=="
	s.auth.mu.Lock()
	s.auth.codes[code] = &authCode{
		clientID: s.opts.ClientID, redirectURI: redirect, challenge: challenge, method: method,
		userID: userID, scopes: grantedScopes(q.Get("scope")), nonce: q.Get("nonce"),
		authTime: s.now(), expires: s.now().Add(authCodeTTL),
	}
	s.auth.mu.Unlock()
	back(url.Values{"code": {code}})
}

// loginUser finds a user by username or creates a standard user for it.
func (s *Server) loginUser(username string) string {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if r := s.userByName(username); r != nil {
		return r.id
	}
	local := username
	if i := strings.IndexByte(local, '@'); i > 0 {
		local = local[:i]
	}
	first, last, ok := strings.Cut(local, ".")
	if !ok {
		first, last = "", local
	}
	email := ""
	if strings.Contains(username, "@") {
		email = username
	}
	return s.insertUser(nil, username, titleCase(first), titleCase(last), email).id
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var knownScopes = map[string]bool{
	"api": true, "refresh_token": true, "offline_access": true, "openid": true, "full": true,
	"web": true, "id": true, "profile": true, "email": true, "address": true, "phone": true,
	"chatter_api": true, "custom_permissions": true, "visualforce": true, "lightning": true, "content": true,
}

// grantedScopes keeps the known requested scopes; without a scope
// parameter the app's configured scopes (api refresh_token) are granted.
func grantedScopes(requested string) []string {
	if strings.TrimSpace(requested) == "" {
		return []string{"api", "refresh_token"}
	}
	var out []string
	for _, sc := range strings.Fields(requested) {
		if knownScopes[sc] {
			out = append(out, sc)
		}
	}
	return out
}

func hasScope(scopes []string, want ...string) bool {
	for _, s := range scopes {
		for _, w := range want {
			if s == w {
				return true
			}
		}
	}
	return false
}

// clientCredentials reads client_id and client_secret from the form or a
// Basic Authorization header.
func clientCredentials(r *http.Request) (id, secret string) {
	if u, p, ok := r.BasicAuth(); ok {
		return u, p
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
}

// serveToken applies the faults aimed at the token endpoint, then
// answers the token request.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	fault := s.faults.next(FaultTargetToken)
	if fault != nil && fault.Kind == FaultLatency {
		if err := sleep(r.Context(), time.Duration(fault.LatencyMS)*time.Millisecond); err != nil {
			return
		}
		fault = nil
	}
	switch {
	case fault == nil:
		s.handleToken(w, r)
		return
	case fault.AfterCommit:
		// The token is issued (a rotated refresh token voids the old
		// one), then the answer is lost.
		s.handleToken(httptest.NewRecorder(), r)
	}
	if fault.Kind == FaultServerError && fault.Status == http.StatusInternalServerError {
		oauthError(w, http.StatusInternalServerError, "unknown_error", "retry your request")
		return
	}
	s.writeFault(w, fault, nil)
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed request body")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.tokenAuthCode(w, r)
	case "refresh_token":
		s.tokenRefresh(w, r)
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		s.tokenJWT(w, r)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant type is missing")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
	}
}

// checkClient verifies the connected app; a secret must match when given,
// and is required when requireSecret is set.
func (s *Server) checkClient(w http.ResponseWriter, r *http.Request, requireSecret bool) bool {
	id, secret := clientCredentials(r)
	if id != s.opts.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return false
	}
	if (secret != "" || requireSecret) && subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return false
	}
	return true
}

func (s *Server) tokenAuthCode(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	verifier := f.Get("code_verifier")
	// A confidential client sends its secret; a PKCE client may leave it
	// out ("Require Secret for Web Server Flow" off).
	if !s.checkClient(w, r, verifier == "") {
		return
	}
	code := f.Get("code")
	s.auth.mu.Lock()
	ac := s.auth.codes[code]
	delete(s.auth.codes, code) // single use, even when the exchange fails
	s.auth.mu.Unlock()
	switch {
	case ac == nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
		return
	case !s.now().Before(ac.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "expired authorization code")
		return
	case f.Get("redirect_uri") != ac.redirectURI:
		oauthError(w, http.StatusBadRequest, "redirect_uri_mismatch", "redirect_uri must match configuration")
		return
	}
	if ac.challenge != "" {
		want := verifier
		if ac.method == "S256" {
			sum := sha256.Sum256([]byte(verifier))
			want = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if verifier == "" || subtle.ConstantTimeCompare([]byte(want), []byte(ac.challenge)) != 1 {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid code verifier")
			return
		}
	}
	var g *grant
	if hasScope(ac.scopes, "refresh_token", "offline_access") {
		g = s.newGrant(ac.userID, ac.scopes, ac.authTime, true)
	}
	s.writeToken(w, r, ac.userID, ac.scopes, g, g != nil, idLogin{authTime: ac.authTime, nonce: ac.nonce})
}

// newGrant issues a refresh token. approval marks a new approval, of which
// a strict org keeps at most maxApprovals per user.
func (s *Server) newGrant(userID string, scopes []string, authTime time.Time, approval bool) *grant {
	g := &grant{token: "5Aep861" + randomToken(60), userID: userID, scopes: scopes, authTime: authTime}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if approval && s.auth.approvals(userID) >= maxApprovals {
		if s.strictSays.Add(1); s.opts.Strict {
			s.auth.keepApprovals(userID)
		}
	}
	s.auth.seq++
	g.seq = s.auth.seq
	s.auth.changes.bump()
	s.auth.grants[g.token] = g
	return g
}

func (s *Server) tokenRefresh(w http.ResponseWriter, r *http.Request) {
	if !s.checkClient(w, r, false) {
		return
	}
	rt := r.PostForm.Get("refresh_token")
	s.auth.mu.Lock()
	g := s.auth.grants[rt]
	if g != nil && s.opts.RotateRefreshTokens {
		delete(s.auth.grants, rt)
		s.auth.changes.bump()
	}
	s.auth.mu.Unlock()
	if g == nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
		return
	}
	if s.opts.RotateRefreshTokens {
		g = s.newGrant(g.userID, g.scopes, g.authTime, false)
	}
	s.writeToken(w, r, g.userID, g.scopes, g, s.opts.RotateRefreshTokens, idLogin{authTime: g.authTime})
}

// writeToken starts a session and answers Salesforce's token response:
// no expires_in, issued_at in milliseconds as a string, a refresh_token
// only when withRefresh.
func (s *Server) writeToken(w http.ResponseWriter, r *http.Request, userID string, scopes []string, g *grant, withRefresh bool, login idLogin) {
	now := s.now()
	tok := s.orgOf(userID)[:15] + "!AQ" + randomToken(72)
	s.auth.mu.Lock()
	s.auth.sessions[tok] = &session{token: tok, userID: userID, expires: now.Add(s.opts.SessionTTL), grant: g}
	s.auth.changes.bump()
	s.auth.mu.Unlock()
	issued := strconv.FormatInt(now.UnixMilli(), 10)
	id := s.identityURL(userID)
	mac := hmac.New(sha256.New, []byte(s.opts.ClientSecret))
	mac.Write([]byte(id + issued))
	out := jobj{{"access_token", tok}}
	if withRefresh && g != nil {
		out = append(out, kv{"refresh_token", g.token})
	}
	out = append(out,
		kv{"signature", base64.StdEncoding.EncodeToString(mac.Sum(nil))},
		kv{"scope", strings.Join(scopes, " ")},
	)
	if hasScope(scopes, "openid") {
		idt, err := s.idToken(userID, tok, login, now)
		if err == nil {
			out = append(out, kv{"id_token", idt})
		} else {
			s.log.Error("sfsim: sign id_token", "err", err)
		}
	}
	out = append(out,
		kv{"instance_url", s.InstanceURL},
		kv{"id", id},
		kv{"token_type", "Bearer"},
		kv{"issued_at", issued},
	)
	w.Header().Set("Cache-Control", "no-cache, no-store")
	writeJSON(w, http.StatusOK, out)
}

// identityURL is /id/{orgId}/{userId}, with the org the user belongs to.
func (s *Server) identityURL(userID string) string {
	return s.LoginURL + "/id/" + s.orgOf(userID) + "/" + userID
}

// handleRevoke revokes an access token, or a refresh token and every
// access token issued from it. Success is 200 with an empty body.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed request")
		return
	}
	tok := r.Form.Get("token")
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if sess := s.auth.sessions[tok]; sess != nil {
		delete(s.auth.sessions, tok)
		s.auth.changes.bump()
		w.WriteHeader(http.StatusOK)
		return
	}
	if g := s.auth.grants[tok]; g != nil {
		s.auth.revokeGrant(g)
		w.WriteHeader(http.StatusOK)
		return
	}
	oauthError(w, http.StatusBadRequest, "invalid_token", "invalid token")
}
