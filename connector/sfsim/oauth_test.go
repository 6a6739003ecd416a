package sfsim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

func TestTokenResponseShape(t *testing.T) {
	clock := newClock()
	srv := startServer(t, Options{Now: clock.Now})
	status, body := authorize(t, srv, "", "api refresh_token openid")
	if status != http.StatusOK {
		t.Fatalf("status %d %s", status, body)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "refresh_token", "signature", "scope", "id_token", "instance_url", "id", "token_type", "issued_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("token response lacks %s: %s", k, body)
		}
	}
	if _, ok := raw["expires_in"]; ok {
		t.Error("Salesforce sends no expires_in")
	}
	issued, ok := raw["issued_at"].(string)
	if !ok || issued != strconv.FormatInt(clock.Now().UnixMilli(), 10) {
		t.Errorf("issued_at = %#v, want the clock in ms as a string", raw["issued_at"])
	}
	if raw["instance_url"] != srv.InstanceURL || srv.InstanceURL == srv.LoginURL {
		t.Errorf("instance_url %v, login %s", raw["instance_url"], srv.LoginURL)
	}
	admin, _ := srv.User(DefaultUsername)
	if want := srv.LoginURL + "/id/" + srv.OrgID() + "/" + admin.ID; raw["id"] != want {
		t.Errorf("id = %v, want %s", raw["id"], want)
	}
	mac := hmac.New(sha256.New, []byte(DefaultClientSecret))
	mac.Write([]byte(raw["id"].(string) + issued))
	if raw["signature"] != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Error("signature is not HMAC-SHA256(id + issued_at) keyed with the client secret")
	}
	if raw["token_type"] != "Bearer" || raw["scope"] != "api refresh_token openid" {
		t.Errorf("token_type %v scope %v", raw["token_type"], raw["scope"])
	}
	if parts := strings.Split(raw["id_token"].(string), "."); len(parts) != 3 {
		t.Errorf("id_token is not a JWS: %v", raw["id_token"])
	}

	// Without the refresh_token scope there is no refresh token.
	_, body = authorize(t, srv, "", "api")
	if strings.Contains(string(body), "refresh_token") {
		t.Errorf("refresh token issued without the refresh_token scope: %s", body)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	srv := startServer(t, Options{Callback: testRedirect})
	base := url.Values{
		"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {testRedirect},
		"code_challenge": {"abc"}, "state": {"s"},
	}
	tests := []struct {
		name     string
		change   func(url.Values)
		status   int
		wantText string // in the page or the redirect
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "nope") }, 400, "invalid_client_id"},
		{"redirect mismatch", func(v url.Values) { v.Set("redirect_uri", testRedirect+"/x") }, 400, "redirect_uri_mismatch"},
		{"missing redirect", func(v url.Values) { v.Del("redirect_uri") }, 400, "redirect_uri_mismatch"},
		{"missing code challenge", func(v url.Values) { v.Del("code_challenge") }, 302, "error=invalid_request&error_description=missing+required+code+challenge&state=s"},
		{"unsupported response type", func(v url.Values) { v.Set("response_type", "token") }, 302, "error=unsupported_response_type"},
		{"bad challenge method", func(v url.Values) { v.Set("code_challenge_method", "S512") }, 302, "error=invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range base {
				q[k] = append([]string(nil), v...)
			}
			tc.change(q)
			resp, err := noRedirect().Get(srv.LoginURL + "/services/oauth2/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			page, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			got := string(page)
			if tc.status == 302 {
				got = resp.Header.Get("Location")
				if !strings.HasPrefix(got, testRedirect+"?") {
					t.Fatalf("redirect %s", got)
				}
			}
			if !strings.Contains(got, tc.wantText) {
				t.Fatalf("got %q, want %q", got, tc.wantText)
			}
		})
	}
}

// codeFor runs authorize and returns the code.
func codeFor(t *testing.T, srv *Server, q url.Values) string {
	t.Helper()
	return codeAt(t, srv.LoginURL+"/services/oauth2/authorize?"+q.Encode())
}

// codeAt follows an authorize URL and returns the code.
func codeAt(t *testing.T, authURL string) string {
	t.Helper()
	resp, err := noRedirect().Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	if !strings.HasSuffix(code, "==") {
		t.Fatalf("codes end with == as Salesforce's do (clients must URL-decode): %s", code)
	}
	return code
}

func TestCodeExchange(t *testing.T) {
	clock := newClock()
	srv := startServer(t, Options{Now: clock.Now})
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	s256 := base64.RawURLEncoding.EncodeToString(sum[:])
	authz := func(challenge, method string) url.Values {
		q := url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {testRedirect}, "code_challenge": {challenge}}
		if method != "" {
			q.Set("code_challenge_method", method)
		}
		return q
	}
	exchange := func(code string, change func(url.Values)) (int, map[string]any) {
		f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {DefaultClientID},
			"client_secret": {DefaultClientSecret}, "redirect_uri": {testRedirect}, "code_verifier": {verifier}}
		if change != nil {
			change(f)
		}
		status, body := postForm(t, srv.LoginURL+"/services/oauth2/token", f)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return status, m
	}
	tests := []struct {
		name      string
		authz     url.Values
		before    func()
		change    func(url.Values)
		wantErr   string
		wantDesc  string
		reuseCode bool
	}{
		{name: "S256", authz: authz(s256, "S256")},
		{name: "challenge without method is S256", authz: authz(s256, "")},
		{name: "plain", authz: authz(verifier, "plain")},
		{name: "PKCE client without secret", authz: authz(s256, "S256"), change: func(f url.Values) { f.Del("client_secret") }},
		{name: "basic auth credentials", authz: authz(s256, "S256"), change: func(f url.Values) { f.Del("client_id"); f.Del("client_secret") }},
		{name: "wrong verifier", authz: authz(s256, "S256"), change: func(f url.Values) { f.Set("code_verifier", "wrong") }, wantErr: "invalid_grant", wantDesc: "invalid code verifier"},
		{name: "missing verifier", authz: authz(s256, "S256"), change: func(f url.Values) { f.Del("code_verifier") }, wantErr: "invalid_grant", wantDesc: "invalid code verifier"},
		{name: "reused code", authz: authz(s256, "S256"), reuseCode: true, wantErr: "invalid_grant", wantDesc: "invalid authorization code"},
		{name: "expired code", authz: authz(s256, "S256"), before: func() { clock.Add(16 * time.Minute) }, wantErr: "invalid_grant", wantDesc: "expired authorization code"},
		{name: "wrong redirect_uri", authz: authz(s256, "S256"), change: func(f url.Values) { f.Set("redirect_uri", "http://evil/") }, wantErr: "redirect_uri_mismatch"},
		{name: "wrong client id", authz: authz(s256, "S256"), change: func(f url.Values) { f.Set("client_id", "x") }, wantErr: "invalid_client_id", wantDesc: "client identifier invalid"},
		{name: "wrong secret", authz: authz(s256, "S256"), change: func(f url.Values) { f.Set("client_secret", "x") }, wantErr: "invalid_client", wantDesc: "invalid client credentials"},
		{name: "unknown grant", authz: authz(s256, "S256"), change: func(f url.Values) { f.Set("grant_type", "password") }, wantErr: "unsupported_grant_type"},
		{name: "missing grant", authz: authz(s256, "S256"), change: func(f url.Values) { f.Del("grant_type") }, wantErr: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := codeFor(t, srv, tc.authz)
			if tc.before != nil {
				tc.before()
			}
			if tc.reuseCode {
				if status, _ := exchange(code, nil); status != 200 {
					t.Fatalf("first exchange: %d", status)
				}
			}
			change := tc.change
			if tc.name == "basic auth credentials" {
				// Send the credentials in a Basic header instead.
				f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {verifier}}
				req, _ := http.NewRequest(http.MethodPost, srv.LoginURL+"/services/oauth2/token", strings.NewReader(f.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
				resp, err := testClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("basic auth exchange: %d", resp.StatusCode)
				}
				return
			}
			status, m := exchange(code, change)
			if tc.wantErr == "" {
				if status != 200 || m["access_token"] == nil {
					t.Fatalf("status %d body %v", status, m)
				}
				return
			}
			wantOAuthError(t, "exchange", status, m, tc.wantErr, tc.wantDesc)
		})
	}
}

func refresh(t *testing.T, srv *Server, rt string) (int, map[string]any) {
	t.Helper()
	status, body := postForm(t, srv.LoginURL+"/services/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {srv.opts.ClientID}, "client_secret": {srv.opts.ClientSecret},
	})
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("refresh body %s: %v", body, err)
	}
	return status, m
}

func TestRefreshToken(t *testing.T) {
	t.Run("no rotation", func(t *testing.T) {
		srv := startServer(t, Options{})
		tr := login(t, srv, "")
		for i := 0; i < 2; i++ { // the same refresh token keeps working
			status, m := refresh(t, srv, tr.RefreshToken)
			if status != 200 {
				t.Fatalf("refresh %d: %d %v", i, status, m)
			}
			if _, ok := m["refresh_token"]; ok {
				t.Fatal("a refresh answer carries no refresh_token unless rotation is on")
			}
			if m["access_token"] == tr.AccessToken || m["instance_url"] != srv.InstanceURL {
				t.Fatalf("refresh answer %v", m)
			}
		}
	})
	t.Run("rotation", func(t *testing.T) {
		srv := startServer(t, Options{RotateRefreshTokens: true})
		tr := login(t, srv, "")
		status, m := refresh(t, srv, tr.RefreshToken)
		next, _ := m["refresh_token"].(string)
		if status != 200 || next == "" || next == tr.RefreshToken {
			t.Fatalf("rotation must answer a new refresh token: %d %v", status, m)
		}
		status, m = refresh(t, srv, tr.RefreshToken)
		wantOAuthError(t, "old refresh token", status, m, "invalid_grant", "expired access/refresh token")
		if status, _ := refresh(t, srv, next); status != 200 {
			t.Fatalf("new refresh token: %d", status)
		}
	})
}

// exactInvalidSession is the body SPEC §8 fixes for an expired session.
const exactInvalidSession = `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`

func TestSessionExpiry(t *testing.T) {
	clock := newClock()
	srv := startServer(t, Options{Now: clock.Now, SessionTTL: 30 * time.Minute})
	tr := login(t, srv, "")
	a := &api{t: t, base: srv.InstanceURL, token: tr.AccessToken, version: "62.0", hc: testClient}
	if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	clock.Add(29 * time.Minute)
	if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
		t.Fatalf("before the TTL: %d", r.status)
	}
	clock.Add(time.Minute)
	r := a.call(http.MethodGet, "limits", nil)
	if r.status != 401 || string(r.body) != exactInvalidSession {
		t.Fatalf("after the TTL: %d %s", r.status, r.body)
	}
	if r.header.Get("Sforce-Limit-Info") != "" {
		t.Error("a 401 is not counted")
	}
	_, m := refresh(t, srv, tr.RefreshToken)
	a.token = m["access_token"].(string)
	if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
		t.Fatalf("refreshed token: %d", r.status)
	}
}

func TestExpireAndRevokeHooks(t *testing.T) {
	srv := startServer(t, Options{})
	alice := login(t, srv, "alice@example.com")
	bob := login(t, srv, "bob@example.com")
	get := func(tok string) int {
		a := &api{t: t, base: srv.InstanceURL, token: tok, version: "62.0", hc: testClient}
		return a.call(http.MethodGet, "sobjects", nil).status
	}
	post := func(path string) int {
		resp, err := testClient.Post(srv.LoginURL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if post("/__sim/sessions/expire") != 204 {
		t.Fatal("expire hook")
	}
	if get(alice.AccessToken) != 401 || get(bob.AccessToken) != 401 {
		t.Fatal("every access token stops working")
	}
	_, m := refresh(t, srv, alice.RefreshToken)
	aliceNew := m["access_token"].(string)
	if get(aliceNew) != 200 {
		t.Fatal("refresh tokens survive session expiry")
	}
	if post("/__sim/users/alice@example.com/revoke") != 204 {
		t.Fatal("revoke hook")
	}
	if get(aliceNew) != 401 {
		t.Fatal("revoked user's access token still works")
	}
	if status, m := refresh(t, srv, alice.RefreshToken); status != 400 || m["error_description"] != "expired access/refresh token" {
		t.Fatalf("revoked user's refresh token: %d %v", status, m)
	}
	if status, _ := refresh(t, srv, bob.RefreshToken); status != 200 {
		t.Fatal("other users are not revoked")
	}
	if post("/__sim/users/nobody@example.com/revoke") != 404 {
		t.Fatal("unknown user")
	}
}

func TestRevokeEndpoint(t *testing.T) {
	srv := startServer(t, Options{})
	revoke := func(tok string) (int, string) {
		status, body := postForm(t, srv.LoginURL+"/services/oauth2/revoke", url.Values{"token": {tok}})
		return status, string(body)
	}
	a := newAPI(t, srv, "")
	tr := login(t, srv, "")
	if status, body := revoke(a.token); status != 200 || body != "" {
		t.Fatalf("revoke access token: %d %q", status, body)
	}
	if r := a.call(http.MethodGet, "limits", nil); r.status != 401 {
		t.Fatal("revoked access token works")
	}
	if status, _ := revoke(tr.RefreshToken); status != 200 {
		t.Fatal("revoke refresh token")
	}
	b := &api{t: t, base: srv.InstanceURL, token: tr.AccessToken, version: "62.0", hc: testClient}
	if r := b.call(http.MethodGet, "limits", nil); r.status != 401 {
		t.Fatal("access tokens of a revoked refresh token must die")
	}
	status, m := refresh(t, srv, tr.RefreshToken)
	wantOAuthError(t, "revoked refresh token", status, m, "invalid_grant", "")
	if status, body := revoke("nonsense"); status != 400 || !strings.Contains(body, "invalid_token") {
		t.Fatalf("unknown token: %d %s", status, body)
	}
}

func TestUserinfoAndIdentity(t *testing.T) {
	srv := startServer(t, Options{})
	tr := login(t, srv, "ada.agent@example.com")
	u, _ := srv.User("ada.agent@example.com")
	r := get(t, srv.LoginURL+"/services/oauth2/userinfo", tr.AccessToken)
	m := r.obj(t)
	if r.status != 200 || m["user_id"] != u.ID || m["preferred_username"] != "ada.agent@example.com" || m["organization_id"] != srv.OrgID() || m["name"] != "Ada Agent" {
		t.Fatalf("userinfo %d %s", r.status, r.body)
	}
	// The id URL of the token response resolves, on the login host.
	r = get(t, tr.ID, tr.AccessToken)
	m = r.obj(t)
	if r.status != 200 || m["username"] != "ada.agent@example.com" || m["id"] != tr.ID || m["user_id"] != u.ID {
		t.Fatalf("identity %d %s", r.status, r.body)
	}
	// ... with the token as a parameter too (as jsforce sends it).
	if r := get(t, tr.ID+"?format=json&oauth_token="+url.QueryEscape(tr.AccessToken), ""); r.status != 200 {
		t.Fatalf("identity with oauth_token: %d", r.status)
	}
	admin, _ := srv.User(DefaultUsername)
	if r := get(t, srv.LoginURL+"/id/"+srv.OrgID()+"/"+admin.ID, tr.AccessToken); r.status != 403 {
		t.Fatalf("another user's identity: %d", r.status)
	}
	if r := get(t, srv.LoginURL+"/services/oauth2/userinfo", "bad"); r.status != 403 || string(r.body) != "Bad_OAuth_Token" {
		t.Fatalf("bad token: %d %s", r.status, r.body)
	}
}

func TestLoginHintUsersAndCreatedBy(t *testing.T) {
	srv := startServer(t, Options{})
	alice := newAPI(t, srv, "alice@example.com")
	bob := newAPI(t, srv, "bob@example.com")
	admin := newAPI(t, srv, "")
	ua, ok := srv.User("alice@example.com")
	ub, _ := srv.User("bob@example.com")
	uadmin, _ := srv.User(DefaultUsername)
	if !ok || ua.ID == ub.ID || ua.Email != "alice@example.com" || ua.Name != "Alice" {
		t.Fatalf("login_hint users: %+v %+v", ua, ub)
	}
	if admin.count("SELECT Username FROM User WHERE Username = 'alice@example.com'") != "1" {
		t.Fatal("the new user is no User record")
	}
	id := alice.mustCreate("Case", map[string]any{"Subject": "by alice"})
	rec, _ := srv.Record("Case", id)
	if rec["CreatedById"] != ua.ID || rec["OwnerId"] != ua.ID || rec["LastModifiedById"] != ua.ID {
		t.Fatalf("created by alice: %v", rec)
	}
	if r := bob.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"Subject": "by bob"}); r.status != 204 {
		t.Fatal(r.status)
	}
	rec, _ = srv.Record("Case", id)
	if rec["CreatedById"] != ua.ID || rec["LastModifiedById"] != ub.ID {
		t.Fatalf("modified by bob: %v", rec)
	}
	if err := srv.UpdateRecord("Case", id, map[string]any{"Status": "Working"}); err != nil {
		t.Fatal(err)
	}
	rec, _ = srv.Record("Case", id)
	if rec["LastModifiedById"] != uadmin.ID {
		t.Fatalf("control-surface change is made as the admin: %v", rec)
	}
}

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func jwtKey(t *testing.T) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		var err error
		testKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return testKey
}

func pemKey(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func certPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sfsim-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// signJWT builds an RS256 assertion by hand.
func signJWT(t *testing.T, k *rsa.PrivateKey, claims map[string]any) string {
	hb, _ := json.Marshal(map[string]string{"alg": "RS256"})
	cb, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestJWTBearer(t *testing.T) {
	key := jwtKey(t)
	pub, err := ParseJWTKey(certPEM(t, key))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if k2, err := ParseJWTKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil || k2.N.Cmp(pub.N) != 0 {
		t.Fatalf("PUBLIC KEY PEM: %v", err)
	}
	if k3, err := ParseJWTKey(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})); err != nil || k3.N.Cmp(pub.N) != 0 {
		t.Fatalf("RSA PUBLIC KEY PEM: %v", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	for name, data := range map[string][]byte{
		"garbage":           []byte("not pem"),
		"private key only":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"broken public key": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der[:20]}),
		"EC public key":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}),
	} {
		if _, err := ParseJWTKey(data); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	srv := startServer(t, Options{JWTPublicKey: pub})
	if _, err := srv.CreateUser("integration@example.com", "Int", "User", "integration@example.com"); err != nil {
		t.Fatal(err)
	}

	t.Run("golang.org/x/oauth2/jwt", func(t *testing.T) {
		cfg := &jwt.Config{
			Email: DefaultClientID, Subject: "integration@example.com", PrivateKey: pemKey(key),
			TokenURL: srv.LoginURL + "/services/oauth2/token", Audience: srv.LoginURL, Expires: 3 * time.Minute,
		}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
		tok, err := cfg.TokenSource(ctx).Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != "" || !tok.Expiry.IsZero() || tok.Extra("instance_url") != srv.InstanceURL {
			t.Fatalf("token %+v", tok)
		}
		a := &api{t: t, base: srv.InstanceURL, token: tok.AccessToken, version: "62.0", hc: testClient}
		id := a.mustCreate("Lead", map[string]any{"LastName": "Jwt", "Company": "Acme"})
		u, _ := srv.User("integration@example.com")
		if rec, _ := srv.Record("Lead", id); rec["CreatedById"] != u.ID {
			t.Fatalf("JWT session acts as the subject: %v", rec["CreatedById"])
		}
	})

	now := time.Now()
	good := func() map[string]any {
		return map[string]any{"iss": DefaultClientID, "sub": "integration@example.com", "aud": srv.LoginURL, "exp": now.Add(3 * time.Minute).Unix()}
	}
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		change   func(map[string]any)
		signer   *rsa.PrivateKey
		wantErr  string
		wantDesc string
	}{
		{name: "valid, aud with trailing slash", change: func(c map[string]any) { c["aud"] = srv.LoginURL + "/" }},
		{name: "aud as a list", change: func(c map[string]any) { c["aud"] = []string{srv.LoginURL} }},
		{name: "aud is the token URL", change: func(c map[string]any) { c["aud"] = srv.LoginURL + "/services/oauth2/token" }, wantErr: "invalid_grant", wantDesc: "audience is invalid"},
		{name: "aud is production login", change: func(c map[string]any) { c["aud"] = "https://login.salesforce.com" }, wantErr: "invalid_grant", wantDesc: "audience is invalid"},
		{name: "wrong iss", change: func(c map[string]any) { c["iss"] = "other-app" }, wantErr: "invalid_client_id", wantDesc: "client identifier invalid"},
		{name: "unknown user", change: func(c map[string]any) { c["sub"] = "ghost@example.com" }, wantErr: "invalid_grant", wantDesc: "user hasn't approved this consumer"},
		{name: "expired", change: func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }, wantErr: "invalid_grant", wantDesc: "expired authorization code"},
		{name: "exp in milliseconds", change: func(c map[string]any) { c["exp"] = now.Add(time.Minute).UnixMilli() }, wantErr: "invalid_grant", wantDesc: "invalid assertion"},
		{name: "missing exp", change: func(c map[string]any) { delete(c, "exp") }, wantErr: "invalid_grant"},
		{name: "signed with another key", signer: other, wantErr: "invalid_grant", wantDesc: "invalid assertion"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims := good()
			if tc.change != nil {
				tc.change(claims)
			}
			signer := key
			if tc.signer != nil {
				signer = tc.signer
			}
			status, body := postForm(t, srv.LoginURL+"/services/oauth2/token", url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {signJWT(t, signer, claims)},
			})
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			if tc.wantErr == "" {
				if status != 200 || m["access_token"] == nil || m["refresh_token"] != nil {
					t.Fatalf("%d %s", status, body)
				}
				return
			}
			wantOAuthError(t, "JWT bearer", status, m, tc.wantErr, tc.wantDesc)
		})
	}

	t.Run("no key configured", func(t *testing.T) {
		plain := startServer(t, Options{})
		status, body := postForm(t, plain.LoginURL+"/services/oauth2/token", url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {signJWT(t, key, good())},
		})
		if status != 400 || !strings.Contains(string(body), "invalid assertion") {
			t.Fatalf("%d %s", status, body)
		}
	})
}

// TestXOAuth2WebFlow runs the authorization-code flow with PKCE through
// golang.org/x/oauth2, as the daemon does.
func TestXOAuth2WebFlow(t *testing.T) {
	srv := startServer(t, Options{Callback: testRedirect, RotateRefreshTokens: true})
	cfg := &oauth2.Config{
		ClientID: DefaultClientID, ClientSecret: DefaultClientSecret, RedirectURL: testRedirect,
		Scopes: []string{"api", "refresh_token"},
		Endpoint: oauth2.Endpoint{
			AuthURL: srv.LoginURL + "/services/oauth2/authorize", TokenURL: srv.LoginURL + "/services/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", "xo@example.com"))
	resp, err := noRedirect().Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || !tok.Expiry.IsZero() || tok.Extra("issued_at") == nil {
		t.Fatalf("token %+v", tok)
	}
	// Force a refresh: rotation hands out a new refresh token.
	tok.Expiry = time.Now().Add(-time.Hour)
	next, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
		t.Fatalf("rotation: %+v", next)
	}
	stale := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	_, err = cfg.TokenSource(ctx, stale).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "expired access/refresh token" {
		t.Fatalf("voided refresh token: %v", err)
	}
}
