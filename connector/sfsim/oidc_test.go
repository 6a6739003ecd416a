package sfsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// oidcClient is a relying party of the simulated org, as the console's
// Sign in with Salesforce is: go-oidc discovers the org and verifies id
// tokens against its keys.
type oidcClient struct {
	t        *testing.T
	ctx      context.Context
	provider *oidc.Provider
	cfg      *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCClient(t *testing.T, srv *Server) *oidcClient {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	provider, err := oidc.NewProvider(ctx, srv.LoginURL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	// Salesforce accepts both client auth styles; auto-detection would
	// spend a single-use code on its first try.
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams
	return &oidcClient{
		t: t, ctx: ctx, provider: provider,
		cfg: &oauth2.Config{
			ClientID: DefaultClientID, ClientSecret: DefaultClientSecret, RedirectURL: testRedirect,
			Endpoint: endpoint,
			Scopes:   []string{oidc.ScopeOpenID, "email", "profile", "refresh_token"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: DefaultClientID, Now: srv.now}),
	}
}

// code runs authorize with PKCE and a nonce and returns the code.
func (c *oidcClient) code(loginHint, nonce, verifier string) string {
	c.t.Helper()
	return codeAt(c.t, c.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier),
		oidc.Nonce(nonce), oauth2.SetAuthURLParam("login_hint", loginHint)))
}

// idToken verifies the id_token of a token response.
func (c *oidcClient) idToken(tok *oauth2.Token) *oidc.IDToken {
	c.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		c.t.Fatalf("no id_token in %+v", tok)
	}
	idt, err := c.verifier.Verify(c.ctx, raw)
	if err != nil {
		c.t.Fatalf("verify id_token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		c.t.Fatalf("at_hash: %v", err)
	}
	return idt
}

type idClaims struct {
	Email             string `json:"email"`
	EmailVerified     bool   `json:"email_verified"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
	UserID            string `json:"user_id"`
	OrganizationID    string `json:"organization_id"`
	AuthTime          int64  `json:"auth_time"`
	Nonce             string `json:"nonce"`
}

func (c *oidcClient) claims(idt *oidc.IDToken) idClaims {
	c.t.Helper()
	var cl idClaims
	if err := idt.Claims(&cl); err != nil {
		c.t.Fatal(err)
	}
	return cl
}

func TestOIDCDiscoveryAndKeys(t *testing.T) {
	srv := startServer(t, Options{})
	var doc map[string]any
	getJSON(t, srv.LoginURL+"/.well-known/openid-configuration", &doc)
	want := map[string]string{
		"issuer": srv.LoginURL, "authorization_endpoint": srv.LoginURL + "/services/oauth2/authorize",
		"token_endpoint": srv.LoginURL + "/services/oauth2/token", "userinfo_endpoint": srv.LoginURL + "/services/oauth2/userinfo",
		"jwks_uri": srv.LoginURL + "/id/keys",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %s", k, doc[k], v)
		}
	}
	for k, v := range map[string]string{"id_token_signing_alg_values_supported": "RS256", "code_challenge_methods_supported": "S256 plain",
		"response_types_supported": "code"} {
		if got := joinAny(doc[k]); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, sc := range []string{"openid", "email", "profile", "api", "refresh_token"} {
		if !strings.Contains(" "+joinAny(doc["scopes_supported"])+" ", " "+sc+" ") {
			t.Errorf("scopes_supported lacks %s", sc)
		}
	}

	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	getJSON(t, srv.LoginURL+"/id/keys", &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0]["kty"] != "RSA" || jwks.Keys[0]["alg"] != "RS256" || jwks.Keys[0]["kid"] == "" {
		t.Fatalf("keys: %v", jwks)
	}
	// The id_token names the key the JWKS serves.
	c := newOIDCClient(t, srv)
	verifier := oauth2.GenerateVerifier()
	tok, err := c.cfg.Exchange(c.ctx, c.code("", "n", verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	var header struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}
	if err := decodeSegment(strings.Split(raw, ".")[0], &header); err != nil {
		t.Fatal(err)
	}
	if header.Kid != jwks.Keys[0]["kid"] || header.Alg != "RS256" {
		t.Fatalf("id_token header %+v, keys %v", header, jwks.Keys)
	}
}

func TestOIDCSignIn(t *testing.T) {
	clock := newClock()
	srv := startServer(t, Options{Now: clock.Now})
	if _, err := srv.CreateUser("ada@example.com", "Ada", "Agent", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	c := newOIDCClient(t, srv)
	verifier := oauth2.GenerateVerifier()
	loginAt := clock.Now()
	tok, err := c.cfg.Exchange(c.ctx, c.code("ada@example.com", "nonce-42", verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt := c.idToken(tok)
	cl := c.claims(idt)
	u, _ := srv.User("ada@example.com")
	if idt.Issuer != srv.LoginURL || idt.Subject != srv.LoginURL+"/id/"+srv.OrgID()+"/"+u.ID {
		t.Errorf("iss %s sub %s", idt.Issuer, idt.Subject)
	}
	if len(idt.Audience) != 1 || idt.Audience[0] != DefaultClientID {
		t.Errorf("aud %v", idt.Audience)
	}
	if idt.Nonce != "nonce-42" || cl.Nonce != "nonce-42" {
		t.Errorf("nonce %q not echoed", idt.Nonce)
	}
	if cl != (idClaims{Email: "ada@example.com", EmailVerified: true, PreferredUsername: "ada@example.com", Name: "Ada Agent",
		UserID: u.ID, OrganizationID: srv.OrgID(), AuthTime: loginAt.Unix(), Nonce: "nonce-42"}) {
		t.Errorf("claims %+v", cl)
	}
	if !idt.Expiry.After(clock.Now()) || !idt.IssuedAt.Equal(clock.Now().Truncate(time.Second)) {
		t.Errorf("iat %v exp %v", idt.IssuedAt, idt.Expiry)
	}

	info, err := c.provider.UserInfo(c.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != idt.Subject || info.Email != "ada@example.com" || !info.EmailVerified {
		t.Errorf("userinfo %+v", info)
	}

	// A refresh answers a new id_token: the same login time, no nonce.
	clock.Add(time.Hour)
	tok.Expiry = clock.Now().Add(-time.Minute)
	next, err := c.cfg.TokenSource(c.ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	rcl := c.claims(c.idToken(next))
	if rcl.AuthTime != loginAt.Unix() || rcl.Nonce != "" || rcl.UserID != u.ID {
		t.Errorf("refreshed claims %+v", rcl)
	}

	// Without openid there is no id_token.
	c.cfg.Scopes = []string{"api", "refresh_token"}
	plain, err := c.cfg.Exchange(c.ctx, c.code("", "", verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Extra("id_token") != nil {
		t.Error("id_token without the openid scope")
	}
}

func TestOIDCWrongVerifier(t *testing.T) {
	srv := startServer(t, Options{})
	c := newOIDCClient(t, srv)
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"wrong":   {oauth2.VerifierOption(oauth2.GenerateVerifier())},
		"missing": nil,
	} {
		t.Run(name, func(t *testing.T) {
			code := c.code("", "n", oauth2.GenerateVerifier())
			_, err := c.cfg.Exchange(c.ctx, code, opts...)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "invalid code verifier" {
				t.Fatalf("got %v, want invalid_grant invalid code verifier", err)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	srv := startServer(t, Options{LoginPage: true})
	c := newOIDCClient(t, srv)
	verifier := oauth2.GenerateVerifier()
	authURL := c.cfg.AuthCodeURL("st-9", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-9"),
		oauth2.SetAuthURLParam("login_hint", `grace"<x>@example.com`))
	resp, err := noRedirect().Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(page), `value="grace&#34;&lt;x&gt;@example.com"`) {
		t.Fatalf("login_hint not prefilled (escaped):\n%s", page)
	}
	// Posting the form back with another username logs that user in.
	form, _ := url.ParseQuery(strings.SplitN(authURL, "?", 2)[1])
	form.Set("username", "grace@example.com")
	resp, err = noRedirect().PostForm(srv.LoginURL+"/services/oauth2/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st-9" {
		t.Fatalf("after the form: %d %s", resp.StatusCode, loc)
	}
	tok, err := c.cfg.Exchange(c.ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.claims(c.idToken(tok)); cl.PreferredUsername != "grace@example.com" || cl.Nonce != "n-9" {
		t.Fatalf("claims %+v", cl)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	r := get(t, u, "")
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func joinAny(v any) string {
	arr, _ := v.([]any)
	out := make([]string, len(arr))
	for i, x := range arr {
		out[i], _ = x.(string)
	}
	return strings.Join(out, " ")
}
