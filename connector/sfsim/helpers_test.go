package sfsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 7, 31, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// clockedOrg starts an org on a fake clock (opts.Now is set) and an API
// client of its admin.
func clockedOrg(t testing.TB, opts Options) (*fakeClock, *Server, *api) {
	t.Helper()
	clock := newClock()
	opts.Now = clock.Now
	srv := startServer(t, opts)
	return clock, srv, newAPI(t, srv, "")
}

// testClient is the HTTP client of the tests (never http.DefaultClient).
var testClient = &http.Client{Timeout: 10 * time.Second}

// noRedirect is an HTTP client that does not follow redirects.
func noRedirect() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tokenResponse is the decoded token endpoint answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	InstanceURL  string `json:"instance_url"`
	ID           string `json:"id"`
	IssuedAt     string `json:"issued_at"`
	Signature    string `json:"signature"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	IDToken      string `json:"id_token"`
}

const testRedirect = "http://localhost:9999/oauth/callback"

// authorize runs the authorization-code flow with PKCE and returns the raw
// token body and its status.
func authorize(t testing.TB, srv *Server, loginHint, scope string) (int, []byte) {
	t.Helper()
	verifier := "verifier-" + strings.Repeat("x", 40)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {srv.opts.ClientID},
		"redirect_uri":          {testRedirect},
		"state":                 {"st8"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	if loginHint != "" {
		q.Set("login_hint", loginHint)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	resp, err := noRedirect().Get(srv.LoginURL + "/services/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("state") != "st8" {
		t.Fatalf("state not echoed: %s", loc)
	}
	code := loc.Query().Get("code")
	return postForm(t, srv.LoginURL+"/services/oauth2/token", url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"client_id":     {srv.opts.ClientID},
		"client_secret": {srv.opts.ClientSecret},
		"redirect_uri":  {testRedirect},
		"code_verifier": {verifier},
	})
}

// get sends a GET with the access token, or none (as a browser or an
// OIDC client's discovery does) when token is empty.
func get(t testing.TB, u, token string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

func postForm(t testing.TB, u string, form url.Values) (int, []byte) {
	t.Helper()
	resp, err := testClient.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// wantOAuthError checks a token endpoint answer (status, decoded body m):
// 400 with the OAuth error code and, unless desc is "", its
// error_description.
func wantOAuthError(t testing.TB, what string, status int, m map[string]any, code, desc string) {
	t.Helper()
	if status != http.StatusBadRequest || m["error"] != code || desc != "" && m["error_description"] != desc {
		t.Fatalf("%s: %d %v, want 400 %s %q", what, status, m, code, desc)
	}
}

// login returns a token for the user (the admin when empty).
func login(t testing.TB, srv *Server, username string) tokenResponse {
	t.Helper()
	status, body := authorize(t, srv, username, "")
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// api is a tiny REST client for tests.
type api struct {
	t       testing.TB
	base    string
	token   string
	version string
	hc      *http.Client
}

func newAPI(t testing.TB, srv *Server, username string) *api {
	t.Helper()
	tr := login(t, srv, username)
	return &api{t: t, base: tr.InstanceURL, token: tr.AccessToken, version: "62.0", hc: &http.Client{Timeout: 10 * time.Second}}
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t testing.TB) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

func (r result) obj(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("want an object, got %s", r.body)
	}
	return m
}

// errCode returns the errorCode of a REST error array body.
func (r result) errCode(t testing.TB) string {
	t.Helper()
	arr, ok := r.json(t).([]any)
	if !ok || len(arr) == 0 {
		t.Fatalf("want an error array, got %d %s", r.status, r.body)
	}
	return arr[0].(map[string]any)["errorCode"].(string)
}

func (r result) errMessage(t testing.TB) string {
	t.Helper()
	arr := r.json(t).([]any)
	return arr[0].(map[string]any)["message"].(string)
}

// wantError fails t unless r is an API error answer of status whose first
// error has code and a message containing msg; what names the call.
func wantError(t testing.TB, what string, r result, status int, code, msg string) {
	t.Helper()
	if r.status != status || r.errCode(t) != code || msg != "" && !strings.Contains(r.errMessage(t), msg) {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

// call sends a request; path is relative to /services/data/vXX.X/ unless
// it starts with /.
func (a *api) call(method, path string, body any, hdr ...string) result {
	a.t.Helper()
	u := path
	if !strings.HasPrefix(path, "/") {
		u = "/services/data/v" + a.version + "/" + path
	}
	if !strings.HasPrefix(u, "http") {
		u = a.base + u
	}
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, u, rdr)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

func (a *api) mustCreate(object string, fields map[string]any) string {
	a.t.Helper()
	r := a.call(http.MethodPost, "sobjects/"+object, fields)
	if r.status != http.StatusCreated {
		a.t.Fatalf("create %s: %d %s", object, r.status, r.body)
	}
	return r.obj(a.t)["id"].(string)
}

func (a *api) query(soql string, hdr ...string) result {
	a.t.Helper()
	return a.call(http.MethodGet, "query?q="+url.QueryEscape(soql), nil, hdr...)
}

// count runs a query and answers its totalSize, e.g. of a SELECT COUNT().
func (a *api) count(soql string) string {
	a.t.Helper()
	r := a.query(soql)
	n, ok := r.obj(a.t)["totalSize"].(json.Number)
	if r.status != http.StatusOK || !ok {
		a.t.Fatalf("query %s: %d %s", soql, r.status, r.body)
	}
	return n.String()
}

// replication calls getUpdated or getDeleted (kind "updated" or "deleted")
// of object over [from, to).
func (a *api) replication(object, kind string, from, to time.Time) result {
	a.t.Helper()
	return a.call(http.MethodGet, "sobjects/"+object+"/"+kind+"/?start="+url.QueryEscape(from.Format(time.RFC3339))+"&end="+url.QueryEscape(to.Format(time.RFC3339)), nil)
}
