package sfapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
)

var users = []care.User{
	{ID: "sam", Name: "Sam Supervisor", Role: care.RoleSupervisor},
	{ID: "alice", Name: "Alice Agent", Role: care.RoleAgent},
	{ID: "bob", Name: "Bob Agent", Role: care.RoleAgent},
	{ID: "ivy", Name: "Ivy Integration", Role: care.RoleIntegration},
}

func bearer(id string) string { return testworld.Token(id) }

type env struct {
	t     *testing.T
	jar   http.CookieJar // the test browser's cookies
	sim   *sfsim.Server
	ts    *httptest.Server
	pool  *tokens.Pool
	clock *simtest.Clock
	dir   string
	store *bolt.Store
	logs  *simtest.Logs
	sync  SyncStatus
}

// envOptions changes what newEnv builds.
type envOptions struct {
	dir     string         // data directory (default a new one)
	handler func(*Options) // changes the handler's options
}

func newEnv(t *testing.T, mods ...func(*envOptions)) *env {
	t.Helper()
	var eo envOptions
	for _, m := range mods {
		m(&eo)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: simtest.NewClock(time.Date(2025, 7, 31, 12, 0, 0, 0, time.UTC)), jar: jar}
	tw := testworld.New(t, testworld.WithDir(eo.dir), testworld.WithClock(e.clock), testworld.WithUsers(users...),
		testworld.WithPool(func(o *tokens.Options) { o.Now = e.clock.Now }),
		testworld.WithAPI(func(_ *testworld.World, o *httpapi.Options) { o.SessionAuth = sessionAuth }),
		testworld.WithRoutes(func(tw *testworld.World, api *httpapi.Server) {
			hopts := Options{Pool: tw.Pool, Environment: "production", LoginURLOverride: tw.Sim.LoginURL,
				Now: e.clock.Now, Logger: tw.Log, Sync: func(context.Context) SyncStatus { return e.sync }}
			if eo.handler != nil {
				eo.handler(&hopts)
			}
			h, err := New(hopts)
			if err != nil {
				t.Fatal(err)
			}
			h.Register(api)
		}))
	e.sim, e.ts, e.pool, e.dir, e.store, e.logs = tw.Sim, tw.Server, tw.Pool, tw.Dir, tw.Store, tw.Logs
	return e
}

// sessionCookie stands in for the console's session cookie: its value is
// the user id.
const sessionCookie = "test_session"

func sessionAuth(r *http.Request) (care.User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return care.User{}, false
	}
	for _, u := range users {
		if u.ID == c.Value {
			return u, true
		}
	}
	return care.User{}, false
}

// browser follows redirects like a browser, across the daemon and the
// org, and stops at the console ("/").
func (e *env) browser() *http.Client {
	return &http.Client{Jar: e.jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/" || len(via) > 5 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func noRedirect() *http.Client {
	return &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// request sends one request; a client without a cookie jar gets the test
// browser's.
func (e *env) request(c *http.Client, method, path, who string) *http.Response {
	e.t.Helper()
	if c.Jar == nil {
		c.Jar = e.jar
	}
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.HasPrefix(path, "http") {
		req.URL, _ = url.Parse(e.ts.URL + path)
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+bearer(who))
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// connect runs the whole redirect flow: daemon connect → org authorize →
// daemon callback → console.
func (e *env) connect(who, as, loginHint string) *http.Response {
	e.t.Helper()
	return e.request(e.browser(), "GET", "/oauth/salesforce/connect?as="+as+"&login_hint="+url.QueryEscape(loginHint), who)
}

// callbackURL runs connect and authorize without following the org's
// redirect, and returns the callback URL the org sends the browser to.
func (e *env) callbackURL(who, as, loginHint string) *url.URL {
	e.t.Helper()
	resp := e.request(noRedirect(), "GET", "/oauth/salesforce/connect?as="+as+"&login_hint="+url.QueryEscape(loginHint), who)
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("connect: %d %s", resp.StatusCode, body(e.t, resp))
	}
	resp = e.request(noRedirect(), "GET", resp.Header.Get("Location"), "")
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// wantRedirect fails t unless resp is a 302 to location (the end of a
// connect flow).
func wantRedirect(t *testing.T, resp *http.Response, location string) {
	t.Helper()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != location {
		t.Fatalf("end of flow: %d to %q, want 302 to %q: %s", resp.StatusCode, resp.Header.Get("Location"), location, body(t, resp))
	}
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decode reads a JSON answer into v.
func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	raw := body(t, resp)
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("not JSON: %q", raw)
	}
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var eb httpapi.ErrorBody
	raw := body(t, resp)
	if err := json.Unmarshal([]byte(raw), &eb); err != nil {
		t.Fatalf("not the JSON error shape: %q", raw)
	}
	return eb.Error.Code
}

func TestConnectFlow(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, who, as, hint string
		kind                tokens.Kind
		owner               string
	}{
		{"supervisor connects the default token", "sam", "default", "sam@acme.test", tokens.KindDefault, "sam"},
		{"agent connects a personal token", "alice", "user", "alice@acme.test", tokens.KindUser, "alice"},
		{"supervisor connects a personal token", "sam", "user", "sam.personal@acme.test", tokens.KindUser, "sam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.connect(tt.who, tt.as, tt.hint)
			wantRedirect(t, resp, "/")
			if resp.Request.URL.Path != "/oauth/salesforce/callback" {
				t.Fatalf("flow ended at %s", resp.Request.URL)
			}
			info, ok := e.pool.Get(tt.kind, tt.owner)
			if !ok || !info.Healthy || info.SFUsername != tt.hint || info.Holder != tt.owner {
				t.Fatalf("stored token: %+v (present %v)", info, ok)
			}
		})
	}
	// The stored tokens work against the org.
	conn, err := e.pool.ForUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ui, err := conn.Client.UserInfo(context.Background()); err != nil || ui.PreferredUsername != "alice@acme.test" {
		t.Fatalf("alice's client: %+v %v", ui, err)
	}
}

func TestConnectRedirect(t *testing.T) {
	e := newEnv(t)
	resp := e.request(noRedirect(), "GET", "/oauth/salesforce/connect?as=user&login_hint=alice%40acme.test", "alice")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != e.sim.LoginURL+"/services/oauth2/authorize" {
		t.Fatalf("redirect to %s", got)
	}
	q := loc.Query()
	want := map[string]string{
		"response_type":         "code",
		"client_id":             sfsim.DefaultClientID,
		"redirect_uri":          e.ts.URL + "/oauth/salesforce/callback",
		"code_challenge_method": "S256",
		"login_hint":            "alice@acme.test",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("state")) < 40 || len(q.Get("code_challenge")) != 43 {
		t.Errorf("state %q, code_challenge %q", q.Get("state"), q.Get("code_challenge"))
	}
	// Two connects never share a state.
	resp2 := e.request(noRedirect(), "GET", "/oauth/salesforce/connect?as=user", "alice")
	loc2, _ := url.Parse(resp2.Header.Get("Location"))
	if loc2.Query().Get("state") == q.Get("state") || loc2.Query().Get("code_challenge") == q.Get("code_challenge") {
		t.Fatal("state or challenge reused")
	}
	if loc2.Query().Has("login_hint") {
		t.Fatal("login_hint sent although none was given")
	}
}

func TestConnectRefused(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, who, query string
		status           int
		code             string
	}{
		{"no credentials", "", "as=user", 401, "unauthenticated"},
		{"agent cannot connect the default", "alice", "as=default", 403, "forbidden"},
		{"integration cannot connect", "ivy", "as=user", 403, "forbidden"},
		{"integration cannot connect the default", "ivy", "as=default", 403, "forbidden"},
		{"bad as", "sam", "as=everyone", 400, "invalid_argument"},
		{"bad environment", "sam", "as=default&environment=staging", 400, "invalid_argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.request(noRedirect(), "GET", "/oauth/salesforce/connect?"+tt.query, tt.who)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := errorCode(t, resp); got != tt.code {
				t.Fatalf("code %q, want %q", got, tt.code)
			}
		})
	}
	if _, ok := e.pool.Get(tokens.KindDefault, ""); ok {
		t.Fatal("a refused connect stored a token")
	}
}

func TestCallbackState(t *testing.T) {
	e := newEnv(t)
	cb := func(u *url.URL) *http.Response { return e.request(noRedirect(), "GET", u.String(), "") }
	with := func(u *url.URL, k, v string) *url.URL {
		c := *u
		q := c.Query()
		q.Set(k, v)
		c.RawQuery = q.Encode()
		return &c
	}
	tests := []struct {
		name   string
		run    func(t *testing.T, u *url.URL) *http.Response // u: a fresh callback for alice
		status int
		code   string
	}{
		{"tampered state", func(t *testing.T, u *url.URL) *http.Response {
			st := u.Query().Get("state")
			return cb(with(u, "state", st[:len(st)-1]+string("AB"[st[len(st)-1]%2])))
		}, 400, "invalid_state"},
		{"missing state", func(t *testing.T, u *url.URL) *http.Response {
			return cb(with(u, "state", ""))
		}, 400, "invalid_state"},
		{"replayed state", func(t *testing.T, u *url.URL) *http.Response {
			if resp := cb(u); resp.StatusCode != http.StatusFound {
				t.Fatalf("first callback: %d %s", resp.StatusCode, body(t, resp))
			}
			return cb(u)
		}, 400, "invalid_state"},
		{"expired state", func(t *testing.T, u *url.URL) *http.Response {
			e.clock.Advance(DefaultStateTTL + time.Second)
			return cb(u)
		}, 400, "invalid_state"},
		{"state just in time", func(t *testing.T, u *url.URL) *http.Response {
			e.clock.Advance(DefaultStateTTL - time.Second)
			return cb(u)
		}, 302, ""},
		{"Salesforce denied", func(t *testing.T, u *url.URL) *http.Response {
			q := url.Values{"error": {"access_denied"}, "error_description": {"end-user denied authorization"},
				"state": {u.Query().Get("state")}}
			u.RawQuery = q.Encode()
			resp := cb(u)
			if resp.StatusCode == 400 {
				// The state is used up by the denial.
				u.RawQuery = url.Values{"code": {"x"}, "state": {q.Get("state")}}.Encode()
				if again := cb(u); again.StatusCode != 400 || errorCode(t, again) != "invalid_state" {
					t.Fatalf("state reusable after a denial: %d", again.StatusCode)
				}
			}
			return resp
		}, 400, "salesforce_authorization_failed"},
		{"code refused by Salesforce", func(t *testing.T, u *url.URL) *http.Response {
			return cb(with(u, "code", "aPrxbogus=="))
		}, 400, "salesforce_authorization_failed"},
		{"no code", func(t *testing.T, u *url.URL) *http.Response {
			return cb(with(u, "code", ""))
		}, 400, "invalid_argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = e.pool.DisconnectUser(context.Background(), "alice")
			resp := tt.run(t, e.callbackURL("alice", "user", "alice@acme.test"))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body(t, resp))
			}
			_, connected := e.pool.Get(tokens.KindUser, "alice")
			if tt.code != "" {
				raw := body(t, resp)
				var eb httpapi.ErrorBody
				if err := json.Unmarshal([]byte(raw), &eb); err != nil || eb.Error.Code != tt.code {
					t.Fatalf("body %s, want code %s", raw, tt.code)
				}
				if tt.code == "salesforce_authorization_failed" && !strings.Contains(eb.Error.Message, "access_denied") &&
					!strings.Contains(eb.Error.Message, "invalid_grant") {
					t.Fatalf("message does not say what Salesforce answered: %q", eb.Error.Message)
				}
				if connected && tt.name != "replayed state" {
					t.Fatal("a refused callback stored a token")
				}
			} else if !connected {
				t.Fatal("callback succeeded without storing the token")
			}
		})
	}
}

func TestConnectionAPI(t *testing.T) {
	e := newEnv(t)
	get := func(who string) (int, map[string]any) {
		t.Helper()
		resp := e.request(noRedirect(), "GET", "/api/v1/salesforce/connection", who)
		var m map[string]any
		raw := body(t, resp)
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("%s: %q", who, raw)
		}
		return resp.StatusCode, m
	}
	for _, who := range []string{"alice", "ivy"} {
		if st, _ := get(who); st != 403 {
			t.Fatalf("%s reads the connection: %d", who, st)
		}
	}
	if resp := e.request(noRedirect(), "GET", "/api/v1/salesforce/connection", ""); resp.StatusCode != 401 {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}

	st, m := get("sam")
	if st != 200 {
		t.Fatal(st)
	}
	wantZero := map[string]any{
		"state": "not_connected", "error": nil, "org_id": nil, "environment": "production", "instance_url": "",
		"default_token": nil, "users": []any{}, "status_sync": "off", "message_sync": "off", "contact_sync": "off",
		"outbox":       map[string]any{"pending": 0.0, "failed": 0.0, "oldest_age_seconds": 0.0},
		"last_poll_at": nil, "changes": "polling", "changes_reason": nil,
	}
	for k, v := range wantZero {
		if got, _ := json.Marshal(m[k]); string(got) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
		}
	}
	if len(m) != len(wantZero) {
		t.Errorf("keys %v", keys(m))
	}

	e.connect("sam", "default", "sam@acme.test")
	e.connect("alice", "user", "alice@acme.test")
	poll := time.Date(2025, 7, 31, 11, 59, 30, 0, time.UTC)
	e.sync = SyncStatus{StatusSync: "bidirectional", MessageSync: "continuous", ContactSync: true,
		Outbox: OutboxStatus{Pending: 3, Failed: 1, OldestAge: 90 * time.Second}, LastPollAt: poll}
	_, m = get("sam")
	if m["state"] != "connected" || m["instance_url"] != e.sim.InstanceURL || m["org_id"] != e.sim.OrgID() {
		t.Fatalf("after connect: %v", m)
	}
	d := m["default_token"].(map[string]any)
	if d["holder"] != "sam" || d["user_id"] != "sam" || d["flow"] != "web" || d["sf_username"] != "sam@acme.test" ||
		d["healthy"] != true || d["error"] != nil || d["last_refreshed_at"] != "2025-07-31T12:00:00Z" {
		t.Fatalf("default_token %v", d)
	}
	us := m["users"].([]any)
	if len(us) != 1 {
		t.Fatalf("users %v", us)
	}
	u := us[0].(map[string]any)
	if u["user_id"] != "alice" || u["sf_username"] != "alice@acme.test" || u["healthy"] != true ||
		!strings.HasPrefix(u["sf_user_id"].(string), "005") {
		t.Fatalf("user %v", u)
	}
	for _, k := range []string{"user_id", "sf_user_id", "sf_username", "healthy", "last_refreshed_at", "error"} {
		if _, ok := u[k]; !ok {
			t.Errorf("user entry lacks %s", k)
		}
	}
	if m["status_sync"] != "bidirectional" || m["message_sync"] != "continuous" || m["contact_sync"] != "on" ||
		mustJSON(m["outbox"]) != `{"failed":1,"oldest_age_seconds":90,"pending":3}` || m["last_poll_at"] != "2025-07-31T11:59:30Z" {
		t.Fatalf("sync fields: %v", m)
	}
	// How changes arrive: polling with the reason, or events (no reason).
	e.sync.ChangesReason = "the change stream is refused: Pub/Sub API not enabled"
	if _, m = get("sam"); m["changes"] != "polling" || m["changes_reason"] != e.sync.ChangesReason {
		t.Fatalf("changes while polling: %v, %v", m["changes"], m["changes_reason"])
	}
	e.sync.Changes, e.sync.ChangesReason = ChangesEvents, ""
	if _, m = get("sam"); m["changes"] != "events" || m["changes_reason"] != nil {
		t.Fatalf("changes by events: %v, %v", m["changes"], m["changes_reason"])
	}

	// Every token revoked: expired; a new connect: connected again.
	for _, sf := range []string{"sam@acme.test", "alice@acme.test"} {
		if err := e.sim.RevokeUser(sf); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	err := e.pool.DoBackground(ctx, func(c *tokens.Conn) error {
		_, err := c.Client.Query(ctx, "SELECT Id FROM User LIMIT 1")
		return err
	})
	if err == nil {
		t.Fatal("calls succeed with every token revoked")
	}
	_, m = get("sam")
	d = m["default_token"].(map[string]any)
	if m["state"] != "expired" || d["healthy"] != false || !strings.Contains(d["error"].(string), "invalid_grant") {
		t.Fatalf("after revoke: %v", m)
	}
	e.connect("alice", "user", "alice@acme.test")
	if _, m = get("sam"); m["state"] != "connected" {
		t.Fatalf("after reconnect: %v", m["state"])
	}
}

func TestDisconnect(t *testing.T) {
	e := newEnv(t)
	e.connect("sam", "default", "sam@acme.test")
	e.connect("alice", "user", "alice@acme.test")
	e.connect("bob", "user", "bob@acme.test")
	e.connect("sam", "user", "sam.personal@acme.test")
	bobTok, err := e.pool.Session(tokens.KindUser, "bob").Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		who, path string
		status    int
	}{
		{"alice", "/api/v1/salesforce/users/bob", 403},
		{"ivy", "/api/v1/salesforce/users/ivy", 403},
		{"alice", "/api/v1/salesforce/users/default", 403},
		{"alice", "/api/v1/salesforce/default", 403},
		{"alice", "/api/v1/salesforce/users/alice", 204},
		{"alice", "/api/v1/salesforce/users/alice", 404},
		{"sam", "/api/v1/salesforce/users/bob", 204},
		{"sam", "/api/v1/salesforce/users/carol", 404},
		{"sam", "/api/v1/salesforce/users/sam", 204},
		{"sam", "/api/v1/salesforce/users/default", 204},
		{"sam", "/api/v1/salesforce/default", 404},
		{"", "/api/v1/salesforce/users/alice", 401},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.path, func(t *testing.T) {
			resp := e.request(noRedirect(), "DELETE", tt.path, tt.who)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body(t, resp))
			}
		})
	}
	if st := e.pool.State(); st != tokens.NotConnected {
		t.Fatalf("state after every disconnect: %s", st)
	}
	// bob's token, disconnected by a supervisor, was revoked at the org.
	auth, err := e.pool.OAuth("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Refresh(context.Background(), bobTok.RefreshToken); !errors.Is(err, salesforce.ErrInvalidGrant) {
		t.Fatalf("bob's refresh token still works: %v", err)
	}
}

func TestNoSecretsOnTheWire(t *testing.T) {
	e := newEnv(t)
	e.connect("sam", "default", "sam@acme.test")
	e.connect("alice", "user", "alice@acme.test")
	resp := e.request(noRedirect(), "GET", "/api/v1/salesforce/connection", "sam")
	api := body(t, resp)
	var secrets []string
	for _, k := range []tokens.Kind{tokens.KindDefault, tokens.KindUser} {
		id := map[tokens.Kind]string{tokens.KindDefault: "", tokens.KindUser: "alice"}[k]
		tok, err := e.pool.Session(k, id).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(e.dir, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	logs := e.logs.Bytes()
	simtest.NoSecrets(t, append(secrets, sfsim.DefaultClientSecret),
		map[string][]byte{"API answer": []byte(api), "logs": logs, "bbolt file": file})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestConnectWithConsoleSession: without Options.Authenticate, connect
// knows the caller as the API does, by the console session too.
func TestConnectWithConsoleSession(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, session string
		status        int
	}{
		{"signed-in supervisor", "sam", http.StatusFound},
		{"signed-in agent asks for the default", "alice", http.StatusForbidden},
		{"unknown session", "mallory", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", e.ts.URL+"/oauth/salesforce/connect?as=default&login_hint=sam%40acme.test", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tt.session})
			resp, err := e.browser().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tt.status != http.StatusFound {
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body(t, resp))
				}
				return
			}
			if resp.StatusCode != http.StatusFound || resp.Request.URL.Path != "/oauth/salesforce/callback" {
				t.Fatalf("flow ended with %d at %s: %s", resp.StatusCode, resp.Request.URL, body(t, resp))
			}
			if info, ok := e.pool.Get(tokens.KindDefault, ""); !ok || info.Holder != tt.session || !info.Healthy {
				t.Fatalf("default token %+v (present %v), want held by %s", info, ok, tt.session)
			}
		})
	}
}

func TestStateStore(t *testing.T) {
	t0 := time.Date(2025, 7, 31, 12, 0, 0, 0, time.UTC)
	s := newStateStore(time.Minute, 3, 2)
	put := func(state, user string, at time.Duration) error {
		return s.put(state, pending{userID: user}, t0.Add(at))
	}
	for i, st := range []string{"a", "b", "c"} {
		if err := put(st, st, time.Duration(i)*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := put("d", "d", 3*time.Second); !errors.Is(err, errAllPending) {
		t.Fatalf("put into a full store: %v, want errAllPending", err)
	}
	tests := []struct {
		name, state string
		at          time.Duration // after t0
		ok          bool
	}{
		{"a full store evicts nobody", "a", 10 * time.Second, true},
		{"refused flow not kept", "d", 10 * time.Second, false},
		{"single use", "a", 10 * time.Second, false},
		{"expired at its TTL", "b", time.Second + time.Minute, false},
		{"just before its TTL", "c", 2*time.Second + time.Minute - time.Nanosecond, true},
		{"unknown", "zz", 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := s.take(tt.state, t0.Add(tt.at))
			if ok != tt.ok || (ok && p.userID != tt.state) {
				t.Fatalf("take(%q) = %+v, %v; want ok=%v", tt.state, p, ok, tt.ok)
			}
		})
	}
	// Per user: the third pending flow of one user is refused, another
	// user's still fits; a taken or expired flow frees its slot.
	s = newStateStore(time.Minute, 10, 2)
	for _, st := range []string{"u1", "u2"} {
		if err := put(st, "alice", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := put("u3", "alice", 0); !errors.Is(err, errUserPending) {
		t.Fatalf("third flow of one user: %v, want errUserPending", err)
	}
	if err := put("v1", "bob", 0); err != nil {
		t.Fatalf("another user: %v", err)
	}
	s.take("u1", t0)
	if err := put("u3", "alice", 0); err != nil {
		t.Fatalf("after one was taken: %v", err)
	}
	if err := put("u4", "alice", 2*time.Minute); err != nil || len(s.m) != 1 {
		t.Fatalf("expired flows not swept: %v, %d pending", err, len(s.m))
	}
}
