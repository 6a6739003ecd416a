package sfapi

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/tokens"
)

// otherOrgUser creates a user of another org at the simulator.
func (e *env) otherOrgUser(username string) { simtest.OtherOrgUser(e.t, e.sim, username) }

// liveRefreshTokens is how many refresh tokens the org holds for a user.
func (e *env) liveRefreshTokens(username string) int {
	return simtest.LiveRefreshTokens(e.t, e.sim, username)
}

// otherBrowser is a client with a cookie jar of its own that follows no
// redirect.
func otherBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := noRedirect()
	c.Jar = jar
	return c
}

func TestOrgMismatchLandsOnConsole(t *testing.T) {
	e := newEnv(t)
	e.connect("sam", "default", "sam@acme.test")
	e.otherOrgUser("eve@other.test")
	e.otherOrgUser("mal@other.test")
	tests := []struct {
		name, who, as, sfUser string
		kind                  tokens.Kind
		owner                 string
	}{
		{"personal token of another org", "alice", "user", "eve@other.test", tokens.KindUser, "alice"},
		{"default token of another org", "sam", "default", "mal@other.test", tokens.KindDefault, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRedirect(t, e.connect(tt.who, tt.as, tt.sfUser), "/?error=org_mismatch")
			if info, ok := e.pool.Get(tt.kind, tt.owner); ok && info.SFUsername == tt.sfUser {
				t.Fatalf("token of another org stored: %+v", info)
			}
			if n := e.liveRefreshTokens(tt.sfUser); n != 0 {
				t.Fatalf("the refused token is still live at the org (%d)", n)
			}
		})
	}
	if d, ok := e.pool.Get(tokens.KindDefault, ""); !ok || d.SFUsername != "sam@acme.test" || !d.Healthy {
		t.Fatalf("default token after refusals: %+v", d)
	}
}

func TestOrgMismatchKeepsConsoleQuery(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.handler = func(h *Options) { h.ConsoleURL = "/settings/salesforce?tab=connection" }
	})
	e.request(e.browser(), "GET", "/oauth/salesforce/connect?as=default&login_hint=sam%40acme.test", "sam")
	e.otherOrgUser("eve@other.test")
	resp := e.request(noRedirect(), "GET", e.callbackURL("alice", "user", "eve@other.test").String(), "")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Path != "/settings/salesforce" ||
		loc.Query().Get("error") != "org_mismatch" || loc.Query().Get("tab") != "connection" {
		t.Fatalf("%d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestStateBoundToBrowser(t *testing.T) {
	e := newEnv(t)
	cb := func(c *http.Client, u *url.URL) *http.Response { return e.request(c, "GET", u.String(), "") }

	t.Run("cookie attributes", func(t *testing.T) {
		for _, public := range []string{"", "https://care.acme.test"} {
			e := newEnv(t, func(o *envOptions) { o.handler = func(h *Options) { h.PublicURL = public } })
			resp := e.request(noRedirect(), "GET", "/oauth/salesforce/connect?as=user", "alice")
			var c *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == BindingCookie {
					c = ck
				}
			}
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/oauth/salesforce/" ||
				c.Secure != (public != "") || len(c.Value) != 43 || c.MaxAge != int(DefaultStateTTL.Seconds()) {
				t.Fatalf("public URL %q: binding cookie %+v", public, c)
			}
		}
	})
	t.Run("callback in another browser", func(t *testing.T) {
		u := e.callbackURL("alice", "user", "alice@acme.test")
		resp := cb(otherBrowser(t), u)
		if resp.StatusCode != 400 || errorCode(t, resp) != "invalid_state" {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, ok := e.pool.Get(tokens.KindUser, "alice"); ok {
			t.Fatal("token stored from another browser's callback")
		}
	})
	t.Run("callback with another binding", func(t *testing.T) {
		u := e.callbackURL("alice", "user", "alice@acme.test")
		c := otherBrowser(t)
		base, _ := url.Parse(e.ts.URL + "/oauth/salesforce/")
		c.Jar.SetCookies(base, []*http.Cookie{{Name: BindingCookie, Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Path: "/oauth/salesforce/"}})
		if resp := cb(c, u); resp.StatusCode != 400 || errorCode(t, resp) != "invalid_state" {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("two connects in one browser", func(t *testing.T) {
		u1 := e.callbackURL("alice", "user", "alice@acme.test")
		u2 := e.callbackURL("bob", "user", "bob@acme.test")
		for _, u := range []*url.URL{u1, u2} {
			if resp := cb(noRedirect(), u); resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: %d %s", resp.StatusCode, body(t, resp))
			}
		}
	})
}

func TestCrossSiteConnectRefused(t *testing.T) {
	e := newEnv(t)
	for site, want := range map[string]int{"cross-site": 403, "same-origin": 302, "same-site": 302, "none": 302, "": 302} {
		t.Run(site, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.ts.URL+"/oauth/salesforce/connect?as=user", nil)
			req.Header.Set("Authorization", "Bearer "+bearer("alice"))
			if site != "" {
				req.Header.Set("Sec-Fetch-Site", site)
			}
			resp, err := noRedirect().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
			if want == 403 && errorCode(t, resp) != "forbidden" {
				t.Fatal("not the forbidden error")
			}
		})
	}
}

func TestPendingConnectCaps(t *testing.T) {
	start := func(e *env, who string) *http.Response {
		return e.request(noRedirect(), "GET", "/oauth/salesforce/connect?as=user", who)
	}
	t.Run("per user", func(t *testing.T) {
		e := newEnv(t)
		for i := 0; i < DefaultMaxPendingPerUser; i++ {
			if resp := start(e, "alice"); resp.StatusCode != http.StatusFound {
				t.Fatalf("connect %d: %d", i+1, resp.StatusCode)
			}
		}
		if resp := start(e, "alice"); resp.StatusCode != http.StatusTooManyRequests || errorCode(t, resp) != "too_many_requests" {
			t.Fatalf("connect %d: %d", DefaultMaxPendingPerUser+1, resp.StatusCode)
		}
		if resp := start(e, "bob"); resp.StatusCode != http.StatusFound {
			t.Fatalf("another user's connect: %d", resp.StatusCode)
		}
	})
	t.Run("in all, without eviction", func(t *testing.T) {
		e := newEnv(t, func(o *envOptions) { o.handler = func(h *Options) { h.MaxPending = 3 } })
		first := e.callbackURL("alice", "user", "alice@acme.test")
		start(e, "bob")
		start(e, "bob")
		if resp := start(e, "sam"); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("connect into a full table: %d", resp.StatusCode)
		}
		if resp := e.request(noRedirect(), "GET", first.String(), ""); resp.StatusCode != http.StatusFound {
			t.Fatalf("alice's pending connect was evicted: %d %s", resp.StatusCode, body(t, resp))
		}
		e.clock.Advance(DefaultStateTTL)
		if resp := start(e, "sam"); resp.StatusCode != http.StatusFound {
			t.Fatalf("after the pending connects expired: %d", resp.StatusCode)
		}
	})
}

func TestForgetConnection(t *testing.T) {
	e := newEnv(t)
	e.connect("sam", "default", "sam@acme.test")
	e.connect("alice", "user", "alice@acme.test")
	for who, want := range map[string]int{"": 401, "alice": 403, "ivy": 403} {
		if resp := e.request(noRedirect(), "DELETE", "/api/v1/salesforce/connection", who); resp.StatusCode != want {
			t.Fatalf("%q forgets: %d, want %d", who, resp.StatusCode, want)
		}
	}
	if e.pool.State() != tokens.Connected {
		t.Fatal("a refused forget changed the connection")
	}
	if resp := e.request(noRedirect(), "DELETE", "/api/v1/salesforce/connection", "sam"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("supervisor forgets: %d %s", resp.StatusCode, body(t, resp))
	}
	for _, u := range []string{"sam@acme.test", "alice@acme.test"} {
		if n := e.liveRefreshTokens(u); n != 0 {
			t.Errorf("%s keeps %d refresh tokens at the org", u, n)
		}
	}
	st := e.pool.Status()
	if st.State != tokens.NotConnected || st.OrgID != "" || st.Default != nil || len(st.Users) != 0 {
		t.Fatalf("after forget: %+v", st)
	}
}

// TestLostKeyConnection: a data directory whose secret.key was replaced
// starts, reads not_connected with the reason, and a reconnect replaces
// the tokens.
func TestLostKeyConnection(t *testing.T) {
	first := newEnv(t)
	first.connect("sam", "default", "sam@acme.test")
	if err := first.store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(first.dir, "secret.key")); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *envOptions) { o.dir = first.dir })
	resp := e.request(noRedirect(), "GET", "/api/v1/salesforce/connection", "sam")
	m := map[string]any{}
	decode(t, resp, &m)
	if m["state"] != "not_connected" || m["error"] != tokens.LostKeyError || m["default_token"] != nil {
		t.Fatalf("connection with another key: %v", m)
	}
	wantRedirect(t, e.connect("sam", "default", "sam@acme.test"), "/") // reconnect
	m = map[string]any{}
	decode(t, e.request(noRedirect(), "GET", "/api/v1/salesforce/connection", "sam"), &m)
	if m["state"] != "connected" || m["error"] != nil {
		t.Fatalf("after reconnect: %v", m)
	}
}
