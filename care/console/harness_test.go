package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/testworld"
)

// clock is the tests' settable clock.
type clock = testworld.Clock

// directory is a user directory a test can change while the server runs
// (standing in for a config edit).
type directory struct {
	mu    sync.Mutex
	users map[string]care.User
}

func newDirectory(users []care.User) *directory {
	d := &directory{users: map[string]care.User{}}
	for _, u := range users {
		d.users[u.ID] = u
	}
	return d
}

func (d *directory) User(id string) (care.User, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[id]
	return u, ok
}

func (d *directory) All() []care.User {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]care.User, 0, len(d.users))
	for _, u := range d.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (d *directory) remove(id string) {
	d.mu.Lock()
	delete(d.users, id)
	d.mu.Unlock()
}

var testUsers = testworld.Users

func token(id string) string { return testworld.Token(id) }

func sha(s string) string { return testworld.TokenSHA256(s) }

var testKey = bytes.Repeat([]byte{7}, 32)

// env is a real bolt store, the real Care API and the console on an
// httptest server.
type env struct {
	t     *testing.T
	dir   string
	clock *clock
	users *directory
	store *bolt.Store
	api   *httpapi.Server
	con   *Console
	srv   *httptest.Server
}

type envOpts struct {
	publicURL   string
	ancestors   []string
	noAncestors bool
	durable     bool        // keep revocations in the store's KV
	limits      care.Limits // the configured limits (config limits:); zero: the defaults
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{t: t, clock: testworld.NewClock(), users: newDirectory(testUsers)}
	w := testworld.New(t, testworld.WithClock(e.clock), testworld.WithDirectory(e.users),
		testworld.WithPolicy(care.Policy{Grace: 24 * time.Hour, Limits: o.limits}),
		testworld.WithRoutes(func(w *testworld.World, api *httpapi.Server) {
			e.dir, e.store, e.api = w.Dir, w.Store, api
			e.con = e.newConsole(o)
			e.con.Register(api)
		}))
	e.srv = w.Server
	return e
}

func (e *env) newConsole(o envOpts) *Console {
	e.t.Helper()
	anc := o.ancestors
	if anc == nil && !o.noAncestors {
		anc = []string{"https://*.lightning.force.com", "https://*.my.salesforce.com"}
	}
	opts := Options{Users: e.users, Key: testKey, PublicURL: o.publicURL, EmbedFrameAncestors: anc, Clock: e.clock}
	if o.durable {
		opts.Revocations = e.store.KV("console-sessions")
	}
	c, err := New(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// client is an HTTP client that does not follow redirects.
func (e *env) client() *http.Client {
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

type reply struct {
	status int
	header http.Header
	body   string
	res    *http.Response
}

func (r reply) cookie(name string) *http.Cookie {
	for _, c := range r.res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// request builds a request to the test server; hdr may set headers, and
// cookies are added.
func (e *env) request(method, path string, body io.Reader, hdr map[string]string, cookies ...*http.Cookie) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	res, err := e.client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: string(raw), res: res}
}

// postForm posts a form.
func (e *env) postForm(path string, form url.Values, hdr map[string]string, cookies ...*http.Cookie) reply {
	e.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range hdr {
		h[k] = v
	}
	return e.request(http.MethodPost, path, strings.NewReader(form.Encode()), h, cookies...)
}

// login signs user in and returns the session cookie.
func (e *env) login(user, next string) *http.Cookie {
	e.t.Helper()
	form := url.Values{"token": {token(user)}}
	if next != "" {
		form.Set("next", next)
	}
	r := e.postForm("/login", form, nil)
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d: %s", user, r.status, r.body)
	}
	for _, c := range r.res.Cookies() {
		if c.Name == CookieName || c.Name == EmbedCookieName {
			return c
		}
	}
	e.t.Fatalf("login %s: no session cookie", user)
	return nil
}

// csrfOf reads the CSRF token a page gives its scripts.
func (e *env) csrfOf(ck *http.Cookie) string {
	e.t.Helper()
	r := e.request(http.MethodGet, "/", nil, nil, ck)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET / with session: %d", r.status)
	}
	return metaContent(e.t, r.body, "csrf-token")
}

func metaContent(t *testing.T, page, name string) string {
	t.Helper()
	marker := `<meta name="` + name + `" content="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no meta %s in page", name)
	}
	rest := page[i+len(marker):]
	return html.UnescapeString(rest[:strings.IndexByte(rest, '"')])
}

// apiAs calls the API with a bearer token and decodes the JSON answer.
func (e *env) apiAs(user, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	r := e.request(method, path, rd, map[string]string{"Authorization": "Bearer " + token(user), "Content-Type": "application/json"})
	var out map[string]any
	_ = json.Unmarshal([]byte(r.body), &out)
	return r.status, out
}

// escalate makes a case through the Community escalation route.
func (e *env) escalate(ext, customer, profile, text string) int64 {
	e.t.Helper()
	status, out := e.apiAs("community", http.MethodPost, "/api/v1/cases", map[string]any{
		"message": map[string]any{
			"external_id": ext, "platform": "twitter", "profile_id": profile,
			"customer":  map[string]any{"platform_user_id": customer, "username": "@" + customer, "first_name": "Joe", "last_name": customer},
			"direction": "inbound", "type": "mention", "text": text,
			"sent_at": e.clock.Now().Format(time.RFC3339),
		},
		"mode": "manual",
	})
	if status != http.StatusCreated {
		e.t.Fatalf("escalate %s: %d %v", ext, status, out)
	}
	c, _ := out["case"].(map[string]any)
	id, _ := c["id"].(float64)
	return int64(id)
}

// escalateAssigned makes a case through escalate and assigns it to user.
func (e *env) escalateAssigned(ext, customer, profile, text, user string) int64 {
	e.t.Helper()
	id := e.escalate(ext, customer, profile, text)
	if s, out := e.apiAs(user, http.MethodPatch, fmt.Sprintf("/api/v1/cases/%d", id), map[string]any{"assignee": user}); s != http.StatusOK {
		e.t.Fatalf("assign case %d to %s: %d %v", id, user, s, out)
	}
	return id
}
