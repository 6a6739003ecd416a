package console

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
)

// signInWorld is the console with Sign in with Salesforce against a
// simulated org (its OpenID discovery, keys and id tokens), with the
// world's token pool behind the org check and the personal-token link.
type signInWorld struct {
	*testworld.World
	con *Console
}

// newSignInWorld builds it for users (nil: testworld.Users) with more
// world options: testworld.PinnedOrg() or testworld.Connected() bind the
// org; without either Sign in with Salesforce is refused.
func newSignInWorld(t *testing.T, users []care.User, more ...testworld.Option) *signInWorld {
	t.Helper()
	sw := &signInWorld{}
	if users == nil {
		users = testworld.Users
	}
	dir := newDirectory(users)
	opts := []testworld.Option{testworld.WithUsers(users...), testworld.WithDirectory(dir), testworld.WithSalesforce(sfsim.Options{}),
		testworld.WithRoutes(func(w *testworld.World, api *httpapi.Server) {
			c, err := New(context.Background(), Options{Users: dir, Key: testKey, PublicURL: w.URL, Clock: w.Clock, Logger: w.Log,
				EmbedFrameAncestors: []string{"'self'"},
				SalesforceSignIn: &SalesforceSignIn{LoginURL: w.Sim.LoginURL, ClientID: sfsim.DefaultClientID,
					ClientSecret: sfsim.DefaultClientSecret, HTTPClient: w.HTTP,
					OrgID: w.Pool.OrgID, LinkedUser: w.Pool.LinkedUser},
				Cases: w.Store})
			if err != nil {
				t.Fatal(err)
			}
			c.Register(api)
			sw.con = c
		})}
	sw.World = testworld.New(t, append(opts, more...)...)
	return sw
}

// browser is a client with a cookie jar that follows redirects, across
// the console and the simulated org, as a browser does.
func (sw *signInWorld) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		sw.T.Fatal(err)
	}
	// A new connection per request: the world's server may drop an idle
	// one just as the client reuses it.
	return &http.Client{Jar: jar, Timeout: sw.HTTP.Timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

type page struct {
	status int
	url    *url.URL
	ctype  string
	body   string
	res    *http.Response
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Request.URL, res.Header.Get("Content-Type"), string(b), res}
}

// signIn runs Sign in with Salesforce as the Salesforce user sfUsername
// (the login hint picks the simulated org's user) and returns the last page.
func (sw *signInWorld) signIn(c *http.Client, sfUsername, next string) page {
	sw.T.Helper()
	q := url.Values{"login_hint": {sfUsername}}
	if next != "" {
		q.Set("next", next)
	}
	return get(sw.T.(*testing.T), c, sw.URL+SignInPath+"?"+q.Encode())
}

func TestSalesforceSignInStartsPKCE(t *testing.T) {
	sw := newSignInWorld(t, nil, testworld.PinnedOrg())
	c := sw.browser()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := get(t, c, sw.URL+SignInPath+"?login_hint=alice%40example.com&next=%2Fcases%2F7")
	if p.status != http.StatusSeeOther {
		t.Fatalf("start answered %d", p.status)
	}
	loc, err := url.Parse(p.res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), sw.Sim.LoginURL+"/services/oauth2/authorize?") || q.Get("response_type") != "code" ||
		q.Get("scope") != "openid email profile" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
		q.Get("state") == "" || q.Get("nonce") == "" || q.Get("login_hint") != "alice@example.com" ||
		q.Get("redirect_uri") != sw.URL+CallbackPath || q.Get("client_id") != sfsim.DefaultClientID {
		t.Errorf("authorize URL %s", loc)
	}
	var flow *http.Cookie
	for _, ck := range p.res.Cookies() {
		if ck.Name == flowCookie {
			flow = ck
		}
	}
	if flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.Path != SignInPath {
		t.Fatalf("flow cookie %+v", flow)
	}
	for _, secret := range []string{q.Get("state"), q.Get("nonce")} {
		if strings.Contains(flow.Value, secret) {
			t.Error("the flow cookie carries the state or nonce in clear")
		}
	}
}

func TestSalesforceSignIn(t *testing.T) {
	mallory := care.User{ID: "mallory", Name: "Mallory Agent", Email: "mallory@other.example", Role: care.RoleAgent}
	sw := newSignInWorld(t, append(append([]care.User{}, testworld.Users...), mallory), testworld.PinnedOrg())

	t.Run("by email", func(t *testing.T) {
		c := sw.browser()
		p := sw.signIn(c, "alice@example.com", "/cases/7")
		if p.status != http.StatusOK || p.url.Path != "/cases/7" || !strings.Contains(p.body, "Alice Agent") {
			t.Fatalf("signed in to %s: %d %.300s", p.url, p.status, p.body)
		}
		api := get(t, c, sw.URL+"/api/v1/cases")
		if api.status != http.StatusOK {
			t.Errorf("the session does not open the API: %d", api.status)
		}
	})
	t.Run("unknown user gets a 403 page", func(t *testing.T) {
		p := sw.signIn(sw.browser(), "nobody@example.com", "")
		if p.status != http.StatusForbidden || !strings.HasPrefix(p.ctype, "text/html") ||
			!strings.Contains(html.UnescapeString(p.body), "(nobody@example.com) has no carebridge account") {
			t.Fatalf("%d %s %.400s", p.status, p.ctype, p.body)
		}
	})
	t.Run("by personal token", func(t *testing.T) {
		// bob's email is not the Salesforce user's: the link is the token.
		sw.Connect(tokens.KindUser, "bob", "robert.builder@sf.example")
		p := sw.signIn(sw.browser(), "robert.builder@sf.example", "")
		if p.status != http.StatusOK || !strings.Contains(p.body, "Bob Agent") {
			t.Fatalf("%d %.300s", p.status, p.body)
		}
	})
	t.Run("another org's user is refused", func(t *testing.T) {
		sw.Connect(tokens.KindDefault, "sue", sfsim.DefaultUsername) // binds the org
		if _, err := sw.Sim.CreateUserWith(sfsim.NewUser{Username: "mallory@other.example", LastName: "Other",
			Email: "mallory@other.example", Org: sfsim.OrgOther}); err != nil {
			t.Fatal(err)
		}
		p := sw.signIn(sw.browser(), "mallory@other.example", "")
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "another Salesforce org") {
			t.Fatalf("%d %.400s", p.status, p.body)
		}
	})
	t.Run("a callback without its flow cookie", func(t *testing.T) {
		p := get(t, sw.browser(), sw.URL+CallbackPath+"?code=x&state=y")
		if p.status != http.StatusBadRequest || !strings.HasPrefix(p.ctype, "text/html") || !strings.Contains(p.body, "expired") {
			t.Fatalf("%d %.300s", p.status, p.body)
		}
	})
	t.Run("a callback of another sign-in", func(t *testing.T) {
		c := sw.browser()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		get(t, c, sw.URL+SignInPath) // sets this browser's flow cookie
		p := get(t, c, sw.URL+CallbackPath+"?code=x&state=forged")
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "another sign-in") {
			t.Fatalf("%d %.300s", p.status, p.body)
		}
	})
	t.Run("an id token of another sign-in (nonce)", func(t *testing.T) {
		c := sw.browser()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		start := get(t, c, sw.URL+SignInPath+"?login_hint=alice%40example.com")
		loc, _ := url.Parse(start.res.Header.Get("Location"))
		q := loc.Query()
		q.Set("nonce", "replayed-nonce")
		loc.RawQuery = q.Encode()
		c.CheckRedirect = nil
		p := get(t, c, loc.String())
		if p.status != http.StatusBadGateway || !strings.Contains(p.body, "did not confirm who you are") || strings.Contains(p.body, "Alice Agent") {
			t.Fatalf("%d %.300s", p.status, p.body)
		}
		if !strings.Contains(sw.Logs.String(), "nonce does not match") {
			t.Error("the refusal is not logged with its reason")
		}
	})
	t.Run("Salesforce refuses", func(t *testing.T) {
		c := sw.browser()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		start := get(t, c, sw.URL+SignInPath)
		loc, _ := url.Parse(start.res.Header.Get("Location"))
		c.CheckRedirect = nil
		p := get(t, c, sw.URL+CallbackPath+"?error=access_denied&error_description=end-user+denied&state="+url.QueryEscape(loc.Query().Get("state")))
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "did not allow") {
			t.Fatalf("%d %.300s", p.status, p.body)
		}
	})
}

var ticketAttr = regexp.MustCompile(`data-ticket="([^"]+)"`)

// TestSalesforceSignInPopup is the flow inside the Salesforce iframe: the
// popup signs in and hands the frame a one-time ticket, which the frame
// trades for its own embed session.
func TestSalesforceSignInPopup(t *testing.T) {
	sw := newSignInWorld(t, nil, testworld.Connected())
	login := get(t, sw.browser(), sw.URL+"/login?next=%2Fembed%2Fcases%2F3&login_hint=alice%40example.com")
	if !strings.Contains(login.body, `data-popup="1"`) || !strings.Contains(login.body, "popup=1") ||
		!strings.Contains(login.body, "login_hint=alice%40example.com") || !strings.Contains(login.body, "signin.js") {
		t.Fatalf("the framed sign-in page offers no popup sign-in:\n%s", login.body)
	}
	p := get(t, sw.browser(), sw.URL+SignInPath+"?popup=1&next=%2Fembed%2Fcases%2F3&login_hint=alice%40example.com")
	m := ticketAttr.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil || p.res.Header.Get("Cross-Origin-Opener-Policy") != "" {
		t.Fatalf("popup end %d (COOP %q): %.400s", p.status, p.res.Header.Get("Cross-Origin-Opener-Policy"), p.body)
	}
	ticket := html.UnescapeString(m[1])
	frame := sw.browser()
	trade := func(ticket string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, sw.URL+TicketPath, strings.NewReader(url.Values{"ticket": {ticket}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", sw.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := frame.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := trade(ticket[:len(ticket)-2] + "AA"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a forged ticket: %d", res.StatusCode)
	}
	res := trade(ticket)
	var embed *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == EmbedCookieName {
			embed = ck
		}
	}
	if res.StatusCode != http.StatusNoContent || embed == nil || !embed.HttpOnly {
		t.Fatalf("ticket trade %d, cookie %+v", res.StatusCode, embed)
	}
	if res := trade(ticket); res.StatusCode != http.StatusForbidden {
		t.Errorf("a ticket used twice: %d", res.StatusCode)
	}
	page := get(t, frame, sw.URL+"/embed/cases/3")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Alice Agent") {
		t.Errorf("the frame is not signed in: %d %.300s", page.status, page.body)
	}
	// A session cookie is no ticket.
	if res := trade(embed.Value); res.StatusCode != http.StatusForbidden {
		t.Errorf("a session cookie traded as a ticket: %d", res.StatusCode)
	}
}

func TestSignInPageWithoutSalesforce(t *testing.T) {
	e := newEnv(t, envOpts{})
	if r := e.request(http.MethodGet, "/login", nil, nil); strings.Contains(r.body, "Sign in with Salesforce") {
		t.Error("the sign-in page offers Salesforce while it is off")
	}
	if r := e.request(http.MethodGet, SignInPath, nil, nil); r.status != http.StatusNotFound {
		t.Errorf("%s answers %d while it is off", SignInPath, r.status)
	}
	if _, err := New(context.Background(), Options{Users: e.users, Key: testKey, SalesforceSignIn: &SalesforceSignIn{LoginURL: "http://x"}}); err == nil {
		t.Error("Sign in with Salesforce started without a client id")
	}
}

// TestEmbedByExternalKey opens the embedded case page by the case's
// external key, what the Salesforce case page knows it by.
func TestEmbedByExternalKey(t *testing.T) {
	sw := newSignInWorld(t, nil, testworld.PinnedOrg())
	out := sw.Must(http.StatusCreated, http.MethodPost, "/api/v1/cases", "community", map[string]any{"mode": "manual",
		"message": map[string]any{"external_id": "m1", "platform": "twitter", "profile_id": "brand",
			"customer":  map[string]any{"platform_user_id": "doe"},
			"direction": "inbound", "type": "mention", "text": "Where is my parcel?",
			"sent_at": testworld.Start.Format("2006-01-02T15:04:05Z")}})
	cs := out["case"].(map[string]any)
	caseID, key := int64(cs["id"].(float64)), cs["external_key"].(string)
	if len(key) != 26 {
		t.Fatalf("case %d has external key %q", caseID, key)
	}
	anon := sw.browser()
	anon.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := get(t, anon, sw.URL+"/embed/cases/"+key)
	if want := "/login?next=" + url.QueryEscape("/embed/cases/"+key); p.status != http.StatusSeeOther || p.res.Header.Get("Location") != want {
		t.Fatalf("signed out: %d to %q, want %q", p.status, p.res.Header.Get("Location"), want)
	}
	c := sw.browser()
	p = sw.signIn(c, "alice@example.com", "/embed/cases/"+key)
	if p.status != http.StatusOK || p.url.Path != "/embed/cases/"+key || !strings.Contains(p.body, fmt.Sprintf(`&#34;case_id&#34;:%d`, caseID)) {
		t.Fatalf("embed by key: %d %s %.600s", p.status, p.url, p.body)
	}
	if p := get(t, c, sw.URL+"/embed/cases/"+strings.Repeat("Z", 26)); p.status != http.StatusNotFound {
		t.Errorf("an unknown key: %d", p.status)
	}
}
