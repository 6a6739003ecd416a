package sfsim

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	expires     time.Time
}

// grant is a refresh token and what it was issued for.
type grant struct {
	token  string
	userID string
	scopes []string
	// seq orders grants by approval: the oldest has the lowest.
	seq uint64
}

type session struct {
	token   string
	userID  string
	expires time.Time
	grant   *grant // nil for JWT bearer sessions
}

type authState struct {
	mu       sync.Mutex
	codes    map[string]*authCode
	sessions map[string]*session
	grants   map[string]*grant
	seq      uint64 // last grant seq handed out

	keyOnce sync.Once
	idKey   *rsa.PrivateKey // signs id_tokens; made on first use
	keyErr  error
}

func newAuthState() *authState {
	return &authState{codes: map[string]*authCode{}, sessions: map[string]*session{}, grants: map[string]*grant{}}
}

// bearer reads the access token of a request: Authorization: Bearer or
// OAuth, as Salesforce accepts both.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// authenticate returns the live session of the request, or nil.
func (a *authState) authenticate(r *http.Request, now time.Time) *session {
	tok := bearer(r)
	if tok == "" {
		return nil
	}
	return a.lookup(tok, now)
}

func (a *authState) lookup(tok string, now time.Time) *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[tok]
	if s == nil {
		return nil
	}
	if !now.Before(s.expires) {
		delete(a.sessions, tok)
		return nil
	}
	return s
}

func (a *authState) expireAll() {
	a.mu.Lock()
	a.sessions = map[string]*session{}
	a.mu.Unlock()
}

func (a *authState) revokeUser(userID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t, g := range a.grants {
		if g.userID == userID {
			delete(a.grants, t)
		}
	}
	for t, s := range a.sessions {
		if s.userID == userID {
			delete(a.sessions, t)
		}
	}
}

// refreshTokens counts the user's live refresh tokens.
func (a *authState) refreshTokens(userID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, g := range a.grants {
		if g.userID == userID {
			n++
		}
	}
	return n
}

// revokeGrant voids a refresh token and the sessions issued from it.
// Callers hold a.mu.
func (a *authState) revokeGrant(g *grant) {
	delete(a.grants, g.token)
	for t, sess := range a.sessions {
		if sess.grant == g {
			delete(a.sessions, t)
		}
	}
}

// maxApprovals is how many refresh tokens a user keeps per connected app;
// a strict org revokes the oldest on the next approval, as Salesforce does.
const maxApprovals = 5

// keepApprovals revokes the user's oldest refresh tokens until fewer than
// maxApprovals remain. Callers hold a.mu.
func (a *authState) keepApprovals(userID string) {
	for {
		var oldest *grant
		n := 0
		for _, g := range a.grants {
			if g.userID != userID {
				continue
			}
			n++
			if oldest == nil || g.seq < oldest.seq {
				oldest = g
			}
		}
		if n < maxApprovals {
			return
		}
		a.revokeGrant(oldest)
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
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

// handleAuthorize auto-approves: login_hint picks the user (a new standard
// user when unknown), then it redirects to redirect_uri with a code.
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
	if username == "" {
		username = DefaultUsername
	}
	userID := s.loginUser(username)
	code := "aPrx" + randomToken(48) + "=="
	s.auth.mu.Lock()
	s.auth.codes[code] = &authCode{
		clientID: s.opts.ClientID, redirectURI: redirect, challenge: challenge, method: method,
		userID: userID, scopes: grantedScopes(q.Get("scope")), nonce: q.Get("nonce"),
		expires: s.now().Add(authCodeTTL),
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
		g = s.newGrant(ac.userID, ac.scopes, s.opts.Strict)
	}
	s.writeToken(w, r, ac.userID, ac.scopes, g, g != nil, ac.nonce)
}

// newGrant issues a refresh token. approval marks a new approval in a
// strict org, which keeps at most maxApprovals per user.
func (s *Server) newGrant(userID string, scopes []string, approval bool) *grant {
	g := &grant{token: "5Aep861" + randomToken(60), userID: userID, scopes: scopes}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if approval {
		s.auth.keepApprovals(userID)
	}
	s.auth.seq++
	g.seq = s.auth.seq
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
	}
	s.auth.mu.Unlock()
	if g == nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
		return
	}
	if s.opts.RotateRefreshTokens {
		g = s.newGrant(g.userID, g.scopes, false)
	}
	s.writeToken(w, r, g.userID, g.scopes, g, s.opts.RotateRefreshTokens, "")
}

// writeToken starts a session and answers Salesforce's token response:
// no expires_in, issued_at in milliseconds as a string, a refresh_token
// only when withRefresh.
func (s *Server) writeToken(w http.ResponseWriter, r *http.Request, userID string, scopes []string, g *grant, withRefresh bool, nonce string) {
	now := s.now()
	tok := s.orgOf(userID)[:15] + "!AQ" + randomToken(72)
	s.auth.mu.Lock()
	s.auth.sessions[tok] = &session{token: tok, userID: userID, expires: now.Add(s.opts.SessionTTL), grant: g}
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
		idt, err := s.idToken(userID, tok, nonce, now)
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

// ParseJWTKey reads the public key that verifies JWT bearer assertions
// from PEM: a CERTIFICATE (as uploaded to a connected app), a PUBLIC KEY or
// an RSA PUBLIC KEY.
func ParseJWTKey(pemBytes []byte) (*rsa.PublicKey, error) {
	for rest := pemBytes; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("sfsim: no certificate or RSA public key found in PEM data")
		}
		switch blk.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("sfsim: parse certificate: %w", err)
			}
			if k, ok := cert.PublicKey.(*rsa.PublicKey); ok {
				return k, nil
			}
			return nil, errors.New("sfsim: certificate key is not RSA")
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("sfsim: parse public key: %w", err)
			}
			if rk, ok := k.(*rsa.PublicKey); ok {
				return rk, nil
			}
			return nil, errors.New("sfsim: public key is not RSA")
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("sfsim: parse RSA public key: %w", err)
			}
			return k, nil
		}
	}
}

// jwtMaxAhead bounds exp: Salesforce asks for an assertion that expires
// within minutes. The simulator accepts up to a day ahead (clients such as
// golang.org/x/oauth2/jwt default to one hour) and refuses anything further,
// which catches an exp written in milliseconds.
const jwtMaxAhead = 24 * time.Hour

func (s *Server) tokenJWT(w http.ResponseWriter, r *http.Request) {
	invalid := func(desc string) { oauthError(w, http.StatusBadRequest, "invalid_grant", desc) }
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		invalid("invalid assertion")
		return
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		invalid("invalid assertion")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || s.opts.JWTPublicKey == nil {
		invalid("invalid assertion")
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(s.opts.JWTPublicKey, crypto.SHA256, sum[:], sig) != nil {
		invalid("invalid assertion")
		return
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp json.Number     `json:"exp"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		invalid("invalid assertion")
		return
	}
	if claims.Iss != s.opts.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if !s.audienceOK(claims.Aud) {
		invalid("audience is invalid")
		return
	}
	exp, err := claims.Exp.Int64()
	now := s.now()
	switch {
	case err != nil:
		invalid("invalid assertion")
		return
	case exp <= now.Unix():
		invalid("expired authorization code")
		return
	case exp > now.Add(jwtMaxAhead).Unix():
		invalid("invalid assertion")
		return
	}
	s.store.mu.RLock()
	u := s.userByName(claims.Sub)
	s.store.mu.RUnlock()
	if u == nil {
		invalid("user hasn't approved this consumer")
		return
	}
	s.writeToken(w, r, u.id, []string{"api"}, nil, false, "")
}

func (s *Server) audienceOK(raw json.RawMessage) bool {
	want := strings.TrimRight(s.LoginURL, "/")
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return strings.TrimRight(one, "/") == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, a := range many {
			if strings.TrimRight(a, "/") == want {
				return true
			}
		}
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
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

// tokenFromRequest reads the bearer token, or an oauth_token / access_token
// parameter as the identity URL also accepts.
func tokenFromRequest(r *http.Request) string {
	if t := bearer(r); t != "" {
		return t
	}
	if t := r.URL.Query().Get("oauth_token"); t != "" {
		return t
	}
	return r.URL.Query().Get("access_token")
}

func badOAuthToken(w http.ResponseWriter) {
	writeRaw(w, http.StatusForbidden, "text/plain;charset=UTF-8", "Bad_OAuth_Token")
}

func (s *Server) userRecord(userID string) *record {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	r := s.store.byID(userID)
	if r == nil {
		return nil
	}
	cp := *r
	return &cp
}

func (s *Server) urls(version string) jobj {
	in := s.InstanceURL
	return jobj{
		{"enterprise", in + "/services/Soap/c/" + version + "/" + s.orgID[:15]},
		{"metadata", in + "/services/Soap/m/" + version + "/" + s.orgID[:15]},
		{"partner", in + "/services/Soap/u/" + version + "/" + s.orgID[:15]},
		{"rest", in + "/services/data/v" + version + "/"},
		{"sobjects", in + "/services/data/v" + version + "/sobjects/"},
		{"search", in + "/services/data/v" + version + "/search/"},
		{"query", in + "/services/data/v" + version + "/query/"},
		{"recent", in + "/services/data/v" + version + "/recent/"},
		{"tooling_soap", in + "/services/Soap/T/" + version + "/" + s.orgID[:15]},
		{"tooling_rest", in + "/services/data/v" + version + "/tooling/"},
		{"feeds", in + "/services/data/v" + version + "/chatter/feeds"},
		{"groups", in + "/services/data/v" + version + "/chatter/groups"},
		{"users", in + "/services/data/v" + version + "/chatter/users"},
		{"feed_items", in + "/services/data/v" + version + "/chatter/feed-items"},
		{"custom_domain", in},
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	sess := s.auth.lookup(tokenFromRequest(r), s.now())
	if sess == nil {
		badOAuthToken(w)
		return
	}
	u := s.userRecord(sess.userID)
	if u == nil {
		badOAuthToken(w)
		return
	}
	updated := u.vals["LastModifiedDate"].(time.Time)
	writeJSON(w, http.StatusOK, jobj{
		{"sub", s.identityURL(u.id)},
		{"user_id", u.id},
		{"organization_id", s.orgOf(u.id)},
		{"preferred_username", str(u.vals["Username"])},
		{"nickname", str(u.vals["CommunityNickname"])},
		{"name", str(u.vals["Name"])},
		{"email", str(u.vals["Email"])},
		{"email_verified", true},
		{"given_name", str(u.vals["FirstName"])},
		{"family_name", str(u.vals["LastName"])},
		{"zoneinfo", "GMT"},
		{"photos", jobj{{"picture", s.InstanceURL + "/profilephoto/005/F"}, {"thumbnail", s.InstanceURL + "/profilephoto/005/T"}}},
		{"profile", s.InstanceURL + "/" + u.id},
		{"picture", s.InstanceURL + "/profilephoto/005/F"},
		{"address", jobj{}},
		{"is_salesforce_integration_user", false},
		{"urls", s.urls("{version}")},
		{"active", u.vals["IsActive"] == true},
		{"user_type", "STANDARD"},
		{"language", "en_US"},
		{"locale", "en_US"},
		{"utcOffset", 0},
		{"updated_at", updated.UTC().Format("2006-01-02T15:04:05Z")},
		{"is_app_installed", true},
	})
}

// handleIdentity serves the identity URL /id/{orgId}/{userId}.
func (s *Server) handleIdentity(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(strings.TrimPrefix(r.URL.Path, "/id/"))
	sess := s.auth.lookup(tokenFromRequest(r), s.now())
	if sess == nil {
		badOAuthToken(w)
		return
	}
	if len(parts) != 2 {
		writeRaw(w, http.StatusNotFound, "text/plain;charset=UTF-8", "Bad_Id")
		return
	}
	org, okOrg := NormalizeID(parts[0])
	uid, okUser := NormalizeID(parts[1])
	if !okOrg || !okUser || org != s.orgOf(uid) || uid != sess.userID {
		writeRaw(w, http.StatusForbidden, "text/plain;charset=UTF-8", "Bad_Id")
		return
	}
	u := s.userRecord(uid)
	if u == nil {
		writeRaw(w, http.StatusNotFound, "text/plain;charset=UTF-8", "Bad_Id")
		return
	}
	version := "{version}"
	if v := r.URL.Query().Get("version"); v != "" {
		version = v
	}
	writeJSON(w, http.StatusOK, jobj{
		{"id", s.identityURL(u.id)},
		{"asserted_user", true},
		{"user_id", u.id},
		{"organization_id", s.orgOf(u.id)},
		{"username", str(u.vals["Username"])},
		{"nick_name", str(u.vals["CommunityNickname"])},
		{"display_name", str(u.vals["Name"])},
		{"email", str(u.vals["Email"])},
		{"email_verified", true},
		{"first_name", u.vals["FirstName"]},
		{"last_name", str(u.vals["LastName"])},
		{"timezone", "GMT"},
		{"photos", jobj{{"picture", s.InstanceURL + "/profilephoto/005/F"}, {"thumbnail", s.InstanceURL + "/profilephoto/005/T"}}},
		{"addr_street", nil}, {"addr_city", nil}, {"addr_state", nil}, {"addr_country", nil}, {"addr_zip", nil},
		{"mobile_phone", nil},
		{"mobile_phone_verified", false},
		{"is_lightning_login_user", false},
		{"status", jobj{{"created_date", nil}, {"body", nil}}},
		{"urls", s.urls(version)},
		{"active", u.vals["IsActive"] == true},
		{"user_type", "STANDARD"},
		{"language", "en_US"},
		{"locale", "en_US"},
		{"utcOffset", 0},
		{"last_modified_date", formatTime(u.vals["LastModifiedDate"].(time.Time))},
		{"is_app_installed", true},
	})
}

// The id_token signing key is made on first use: most tests never ask
// for openid.
func (a *authState) signingKey() (*rsa.PrivateKey, error) {
	a.keyOnce.Do(func() {
		a.idKey, a.keyErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	return a.idKey, a.keyErr
}

func (s *Server) idToken(userID, accessToken, nonce string, now time.Time) (string, error) {
	key, err := s.auth.signingKey()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(accessToken))
	claims := jobj{
		{"at_hash", base64.RawURLEncoding.EncodeToString(sum[:16])},
		{"sub", s.identityURL(userID)},
		{"aud", s.opts.ClientID},
		{"iss", s.LoginURL},
		{"exp", now.Add(5 * time.Minute).Unix()},
		{"iat", now.Unix()},
	}
	if nonce != "" {
		claims = append(claims, kv{"nonce", nonce})
	}
	hb, _ := marshal(jobj{{"kid", "sfsim"}, {"typ", "JWT"}, {"alg", "RS256"}})
	cb, err := marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (s *Server) handleJWKS(w http.ResponseWriter) {
	key, err := s.auth.signingKey()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	e := big.NewInt(int64(key.E)).Bytes()
	writeJSON(w, http.StatusOK, jobj{{"keys", []jobj{{
		{"kty", "RSA"}, {"n", base64.RawURLEncoding.EncodeToString(key.N.Bytes())},
		{"e", base64.RawURLEncoding.EncodeToString(e)}, {"alg", "RS256"}, {"use", "sig"}, {"kid", "sfsim"},
	}}}})
}

func (s *Server) handleDiscovery(w http.ResponseWriter) {
	l := s.LoginURL
	writeJSON(w, http.StatusOK, jobj{
		{"issuer", l},
		{"authorization_endpoint", l + "/services/oauth2/authorize"},
		{"token_endpoint", l + "/services/oauth2/token"},
		{"revocation_endpoint", l + "/services/oauth2/revoke"},
		{"userinfo_endpoint", l + "/services/oauth2/userinfo"},
		{"jwks_uri", l + "/id/keys"},
		{"response_types_supported", []string{"code"}},
		{"grant_types_supported", []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"}},
		{"code_challenge_methods_supported", []string{"S256", "plain"}},
		{"scopes_supported", sortedKeys(knownScopes)},
		{"id_token_signing_alg_values_supported", []string{"RS256"}},
		{"subject_types_supported", []string{"public"}},
	})
}
