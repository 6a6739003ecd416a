package salesforce

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/expect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const (
	testClientID     = "3MVG9-test-consumer-key"
	testClientSecret = "client-secret-SECRET"
	testRedirect     = "http://127.0.0.1:8080/oauth/salesforce/callback"
)

func TestLoginURL(t *testing.T) {
	tests := []struct {
		env, override, want string
		wantErr             bool
	}{
		{"production", "", ProductionLoginURL, false},
		{"", "", ProductionLoginURL, false},
		{"sandbox", "", SandboxLoginURL, false},
		{"sandbox", "https://acme.my.salesforce.com/", "https://acme.my.salesforce.com", false},
		{"production", "http://127.0.0.1:4567", "http://127.0.0.1:4567", false},
		{"staging", "", "", true},
		{"", "login.salesforce.com", "", true},
		{"", "https://x/?a=b", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.env+"|"+tt.override, func(t *testing.T) {
			got, err := LoginURL(tt.env, tt.override)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q %v", got, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("err %v", err)
			}
		})
	}
}

// countingTransport proves calls go through the injected client.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// fakeLogin is an OAuth authorization server answering with the fixtures.
type fakeLogin struct {
	t        *testing.T
	srv      *httptest.Server
	key      *rsa.PublicKey
	now      time.Time
	mu       sync.Mutex
	forms    []url.Values
	revoked  []string
	verifier string
}

func newFakeLogin(t *testing.T, key *rsa.PublicKey, now time.Time) *fakeLogin {
	f := &fakeLogin{t: t, key: key, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/oauth2/token", f.token)
	mux.HandleFunc("POST /services/oauth2/revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		tok := r.PostForm.Get("token")
		if tok == "" || tok == "unknown" {
			serve(w, 400, []byte(`{"error":"unsupported_token_type","error_description":"this token type is not supported"}`))
			return
		}
		f.mu.Lock()
		f.revoked = append(f.revoked, tok)
		f.mu.Unlock()
		w.WriteHeader(200)
	})
	mux.HandleFunc("GET /services/oauth2/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testAccess {
			w.WriteHeader(403)
			_, _ = w.Write([]byte("Bad_OAuth_Token"))
			return
		}
		serve(w, 200, []byte(`{"sub":"https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS","user_id":"005xx000001Sv6AAAS","organization_id":"00Dxx0000001gPLEAY","preferred_username":"agent@acme.com","nickname":"agent","name":"Ada Agent","email":"agent@acme.com","email_verified":true,"given_name":"Ada","family_name":"Agent","zoneinfo":"Europe/London","photos":{"picture":"x"},"active":true,"user_type":"STANDARD","language":"en_US","locale":"en_GB","utcOffset":0}`))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLogin) setVerifier(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verifier = v
}

func (f *fakeLogin) form(i int) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forms[i]
}

func (f *fakeLogin) revokedTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.revoked...)
}

func (f *fakeLogin) token(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if err := r.ParseForm(); err != nil {
		t.Errorf("form: %v", err)
	}
	form := r.PostForm
	f.mu.Lock()
	f.forms = append(f.forms, form)
	verifier := f.verifier
	f.mu.Unlock()
	if form.Get("client_id") != testClientID {
		serve(w, 400, []byte(`{"error":"invalid_client_id","error_description":"client identifier invalid"}`))
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		if form.Get("client_secret") != testClientSecret || form.Get("redirect_uri") != testRedirect || form.Get("code") != "code-1" {
			serve(w, 400, []byte(`{"error":"invalid_grant","error_description":"invalid authorization code"}`))
			return
		}
		if form.Get("code_verifier") != verifier {
			serve(w, 400, []byte(`{"error":"invalid_grant","error_description":"invalid code verifier"}`))
			return
		}
		serve(w, 200, fixture(t, "oauth_token_webserver_success_redacted.json"))
	case "refresh_token":
		switch form.Get("refresh_token") {
		case "rt-old":
			serve(w, 200, fixture(t, "oauth_refresh_success_no_refresh_token.json"))
		case "rt-rotate":
			serve(w, 200, []byte(`{"access_token":"new-access","refresh_token":"rt-rotated","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","token_type":"Bearer","issued_at":"1700000000000","signature":"x"}`))
		case "rt-503":
			w.WriteHeader(503)
			_, _ = w.Write([]byte("<html>maintenance</html>"))
		default:
			serve(w, 400, fixture(t, "oauth_refresh_error_expired.json"))
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		claims, err := verifyJWT(form.Get("assertion"), f.key)
		if err != nil {
			t.Errorf("assertion: %v", err)
			serve(w, 400, []byte(`{"error":"invalid_grant","error_description":"invalid assertion"}`))
			return
		}
		switch {
		case claims.Aud != f.srv.URL:
			serve(w, 400, fixture(t, "oauth_jwt_error_audience_invalid.json"))
		case claims.Sub != "integration@acme.com":
			serve(w, 400, fixture(t, "oauth_jwt_error_user_not_approved.json"))
		case claims.Iss != testClientID:
			serve(w, 400, []byte(`{"error":"invalid_client_id","error_description":"client identifier invalid"}`))
		case claims.Exp <= f.now.Unix() || claims.Exp > f.now.Add(3*time.Minute).Unix():
			serve(w, 400, []byte(`{"error":"invalid_grant","error_description":"expired authorization code"}`))
		default:
			serve(w, 200, fixture(t, "oauth_token_password_success.json"))
		}
	default:
		serve(w, 400, []byte(`{"error":"unsupported_grant_type","error_description":"grant type not supported"}`))
	}
}

// verifyJWT checks an RS256 assertion with the public key and returns its
// claims.
func verifyJWT(assertion string, key *rsa.PublicKey) (jwtClaims, error) {
	var claims jwtClaims
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return claims, errors.New("not three parts")
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return claims, err
	}
	var h map[string]string
	if err := json.Unmarshal(hdr, &h); err != nil || h["alg"] != "RS256" {
		return claims, errors.New("header not RS256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return claims, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return claims, err
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims, err
	}
	return claims, json.Unmarshal(body, &claims)
}

// testKey is generated once: RSA generation is slow under -race.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newTestOAuth(t *testing.T, f *fakeLogin, cfg OAuthConfig) (*OAuth, *countingTransport) {
	t.Helper()
	ct := &countingTransport{}
	cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL, cfg.LoginURL = testClientID, testClientSecret, testRedirect, f.srv.URL
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: ct}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return f.now }
	}
	o, err := NewOAuth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o, ct
}

func TestAuthCodeURLPKCE(t *testing.T) {
	f := newFakeLogin(t, nil, time.Now())
	o, _ := newTestOAuth(t, f, OAuthConfig{})
	verifier := NewVerifier()
	raw := o.AuthCodeURL("state-123", verifier, "agent@acme.com")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.srv.URL+"/services/oauth2/authorize" {
		t.Errorf("endpoint %s", got)
	}
	sum := sha256.Sum256([]byte(verifier))
	wantChallenge := base64.RawURLEncoding.EncodeToString(sum[:])
	q := u.Query()
	want := map[string]string{
		"response_type":         "code",
		"client_id":             testClientID,
		"redirect_uri":          testRedirect,
		"state":                 "state-123",
		"code_challenge":        wantChallenge,
		"code_challenge_method": "S256",
		"login_hint":            "agent@acme.com",
		"scope":                 "api refresh_token openid",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if strings.Contains(raw, verifier) || strings.Contains(raw, testClientSecret) {
		t.Error("authorize URL carries the verifier or the secret")
	}
	if len(verifier) < 43 {
		t.Errorf("verifier too short: %d", len(verifier))
	}
	if q := mustQuery(t, o.AuthCodeURL("s", verifier, "")); q.Has("login_hint") {
		t.Error("empty login hint sent")
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestExchange(t *testing.T) {
	f := newFakeLogin(t, nil, time.Now())
	reg := prometheus.NewRegistry()
	m, _ := NewMetrics(reg)
	var logs logBuffer
	o, ct := newTestOAuth(t, f, OAuthConfig{Metrics: m, Logger: logs.Logger()})
	verifier := NewVerifier()
	f.setVerifier(verifier)

	tok, err := o.Exchange(context.Background(), "code-1", verifier)
	if err != nil {
		t.Fatal(err)
	}
	want := Token{
		AccessToken:  "REDACTED",
		RefreshToken: "REDACTED",
		InstanceURL:  "https://nango-dev-ed.develop.my.salesforce.com",
		ID:           "https://login.salesforce.com/id/REDACTED/REDACTED",
		IssuedAt:     time.UnixMilli(1676372418560),
		Scope:        "refresh_token full",
		TokenType:    "Bearer",
	}
	if tok != want {
		t.Errorf("token %#v", tok)
	}
	if ct.n.Load() != 1 {
		t.Errorf("injected client used %d times", ct.n.Load())
	}
	form := f.form(0)
	if form.Get("grant_type") != "authorization_code" || form.Get("code_verifier") != verifier {
		t.Errorf("form %v", form)
	}

	_, err = o.Exchange(context.Background(), "code-1", "wrong-verifier")
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" || oe.Description != "invalid code verifier" || !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("wrong verifier: %v", err)
	}
	if Classify(err) != Auth {
		t.Errorf("class %v", Classify(err))
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("token", "200")); got != 1 {
		t.Errorf("token 200 = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("token", "400")); got != 1 {
		t.Errorf("token 400 = %v", got)
	}
	expect.NoSecret(t, "the error", err.Error(), testClientSecret, verifier)
	expect.NoSecret(t, "the log", logs.String(), testClientSecret, verifier)
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name        string
		refresh     string
		wantAccess  string
		wantRefresh string
		wantIssued  time.Time
		wantClass   Class
		wantGrant   bool
		wantErr     bool
	}{
		{"no refresh token in answer keeps the old", "rt-old", "refreshed_access_token", "rt-old", time.UnixMilli(1309974610026), 0, false, false},
		{"rotation returns the new one", "rt-rotate", "new-access", "rt-rotated", time.UnixMilli(1700000000000), 0, false, false},
		{"expired refresh token", "rt-dead", "", "", time.Time{}, Auth, true, true},
		{"server down", "rt-503", "", "", time.Time{}, Retryable, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeLogin(t, nil, time.Now())
			o, ct := newTestOAuth(t, f, OAuthConfig{})
			tok, err := o.Refresh(context.Background(), tt.refresh)
			if ct.n.Load() != 1 {
				t.Errorf("injected client used %d times", ct.n.Load())
			}
			if tt.wantErr {
				if err == nil || Classify(err) != tt.wantClass || errors.Is(err, ErrInvalidGrant) != tt.wantGrant {
					t.Fatalf("err %v class %v", err, Classify(err))
				}
				expect.NoSecret(t, "the error", err.Error(), tt.refresh, testClientSecret)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != tt.wantAccess || tok.RefreshToken != tt.wantRefresh || !tok.IssuedAt.Equal(tt.wantIssued) || tok.InstanceURL == "" {
				t.Errorf("token %+v / %s %s", tok, tok.AccessToken, tok.RefreshToken)
			}
			if f.form(0).Get("grant_type") != "refresh_token" || f.form(0).Get("client_secret") != testClientSecret {
				t.Errorf("form %v", f.form(0))
			}
		})
	}
}

func TestJWTBearer(t *testing.T) {
	key := testKey()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	tests := []struct {
		name     string
		user     string
		pem      []byte
		audience string
		wantErr  error
		wantDesc string
	}{
		{"pkcs1", "integration@acme.com", pkcs1, "", nil, ""},
		{"pkcs8", "integration@acme.com", pkcs8, "", nil, ""},
		{"not approved", "someone@acme.com", pkcs1, "", ErrInvalidGrant, "user hasn't approved this consumer"},
		{"wrong audience", "integration@acme.com", pkcs1, "https://login.salesforce.com/services/oauth2/token", ErrInvalidGrant, "audience is invalid"},
		{"bad key", "integration@acme.com", []byte("-----BEGIN NOTHING-----\nzzz\n-----END NOTHING-----\n"), "", ErrBadPrivateKey, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeLogin(t, &key.PublicKey, now)
			o, ct := newTestOAuth(t, f, OAuthConfig{JWTAudience: tt.audience})
			tok, err := o.JWTBearer(context.Background(), tt.user, tt.pem)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v", err)
				}
				var oe *OAuthError
				if tt.wantDesc != "" && (!errors.As(err, &oe) || oe.Description != tt.wantDesc || Classify(err) != Auth) {
					t.Errorf("oauth error %v", err)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Error("error holds key material")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ct.n.Load() != 1 {
				t.Errorf("injected client used %d times", ct.n.Load())
			}
			// No token_type, scope or refresh token in this answer.
			if tok.AccessToken == "" || tok.RefreshToken != "" || tok.InstanceURL != "https://na1.salesforce.com" ||
				!tok.IssuedAt.Equal(time.UnixMilli(1278448832702)) || tok.UserID() != "005x00000012Q9P" {
				t.Errorf("token %+v", tok)
			}
			claims, err := verifyJWT(f.form(0).Get("assertion"), &key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if claims.Iss != testClientID || claims.Sub != "integration@acme.com" || claims.Aud != f.srv.URL || claims.Exp != now.Add(3*time.Minute).Unix() {
				t.Errorf("claims %+v", claims)
			}
		})
	}
}

func TestRevokeAndIdentity(t *testing.T) {
	f := newFakeLogin(t, nil, time.Now())
	reg := prometheus.NewRegistry()
	m, _ := NewMetrics(reg)
	o, ct := newTestOAuth(t, f, OAuthConfig{Metrics: m})
	ctx := context.Background()
	if err := o.Revoke(ctx, testRefresh); err != nil {
		t.Fatal(err)
	}
	if r := f.revokedTokens(); len(r) != 1 || r[0] != testRefresh {
		t.Errorf("revoked %v", r)
	}
	err := o.Revoke(ctx, "unknown")
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "unsupported_token_type" || oe.Status != 400 {
		t.Errorf("revoke unknown: %v", err)
	}

	ui, err := o.Identity(ctx, Token{AccessToken: testAccess})
	if err != nil {
		t.Fatal(err)
	}
	if ui.UserID != "005xx000001Sv6AAAS" || ui.OrganizationID != "00Dxx0000001gPLEAY" || ui.PreferredUsername != "agent@acme.com" ||
		ui.Name != "Ada Agent" || ui.Email != "agent@acme.com" {
		t.Errorf("identity %+v", ui)
	}
	_, err = o.Identity(ctx, Token{AccessToken: "stale-SECRET"})
	if !errors.As(err, &oe) || oe.Status != 403 || strings.Contains(err.Error(), "stale-SECRET") {
		t.Errorf("identity with bad token: %v", err)
	}
	if ct.n.Load() != 4 {
		t.Errorf("injected client used %d times", ct.n.Load())
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("revoke", "200")); got != 1 {
		t.Errorf("revoke 200 = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("userinfo", "403")); got != 1 {
		t.Errorf("userinfo 403 = %v", got)
	}
}

func TestNewOAuthChecks(t *testing.T) {
	if _, err := NewOAuth(OAuthConfig{LoginURL: ProductionLoginURL}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("no client id: %v", err)
	}
	if _, err := NewOAuth(OAuthConfig{ClientID: "x"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("no login URL: %v", err)
	}
	o, err := NewOAuth(OAuthConfig{ClientID: "x", LoginURL: SandboxLoginURL + "/"})
	if err != nil || o.LoginURL() != SandboxLoginURL || o.audience != SandboxLoginURL || o.http == http.DefaultClient || o.http.Timeout == 0 {
		t.Errorf("defaults: %v", err)
	}
	// Network failures become NetworkErrors without the URL.
	o, _ = NewOAuth(OAuthConfig{ClientID: "x", LoginURL: "http://127.0.0.1:1", HTTPClient: testHTTPClient()})
	_, err = o.Refresh(context.Background(), "rt")
	var ne *NetworkError
	if !errors.As(err, &ne) || Classify(err) != Retryable || strings.Contains(err.Error(), "/services/oauth2") {
		t.Errorf("network: %v", err)
	}
	if _, err := o.Refresh(context.Background(), ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty refresh token: %v", err)
	}
}

func TestTokenAnswerWithoutInstanceURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`{"access_token":"a","issued_at":"1"}`))
	}))
	defer srv.Close()
	o, _ := NewOAuth(OAuthConfig{ClientID: "x", LoginURL: srv.URL, HTTPClient: testHTTPClient()})
	if _, err := o.Refresh(context.Background(), "rt"); err == nil || !strings.Contains(err.Error(), "instance_url") {
		t.Errorf("err %v", err)
	}
}

func TestJWTAudience(t *testing.T) {
	tests := []struct {
		name, configured, env, login, want string
	}{
		{"production", "", "production", ProductionLoginURL, ProductionLoginURL},
		{"no environment", "", "", ProductionLoginURL, ProductionLoginURL},
		{"sandbox", "", "sandbox", SandboxLoginURL, SandboxLoginURL},
		{"test host without environment", "", "", "https://test.salesforce.com/", SandboxLoginURL},
		{"My Domain keeps production", "", "production", "https://acme.my.salesforce.com", ProductionLoginURL},
		{"My Domain of a sandbox", "", "sandbox", "https://acme--dev.sandbox.my.salesforce.com", SandboxLoginURL},
		{"sandbox My Domain host alone", "", "", "https://acme--dev.sandbox.my.salesforce.com", SandboxLoginURL},
		{"Experience Cloud site", "", "production", "https://help.acme.com/", "https://help.acme.com"},
		{"simulator", "", "production", "http://127.0.0.1:4567", "http://127.0.0.1:4567"},
		{"look-alike host", "", "production", "https://evilsalesforce.com", "https://evilsalesforce.com"},
		{"configured wins", "https://login.salesforce.com/", "sandbox", "https://acme.my.salesforce.com", ProductionLoginURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := JWTAudience(tt.configured, tt.env, tt.login); got != tt.want {
				t.Errorf("JWTAudience(%q, %q, %q) = %q, want %q", tt.configured, tt.env, tt.login, got, tt.want)
			}
		})
	}
	// An OAuth for a My Domain login URL signs for login.salesforce.com.
	o, err := NewOAuth(OAuthConfig{ClientID: testClientID, LoginURL: "https://acme.my.salesforce.com"})
	if err != nil {
		t.Fatal(err)
	}
	if o.audience != ProductionLoginURL {
		t.Fatalf("default audience of a My Domain login URL: %q", o.audience)
	}
}
