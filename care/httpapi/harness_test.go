package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/prometheus/client_golang/prometheus"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var testUsers = []care.User{
	{ID: "alice", Name: "Alice Agent", Email: "alice@example.com", Role: care.RoleAgent},
	{ID: "bob", Name: "Bob Agent", Email: "bob@example.com", Role: care.RoleAgent},
	{ID: "sue", Name: "Sue Supervisor", Email: "sue@example.com", Role: care.RoleSupervisor},
	{ID: "community", Name: "Community", Email: "community@example.com", Role: care.RoleIntegration},
}

// token is each test user's bearer token.
func token(id string) string { return "tok-" + id + "-secret" }

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

const grace = 24 * time.Hour

type env struct {
	t      testing.TB
	limits care.Limits // zero: the defaults of SPEC §12
	dir    string
	clock  *clock
	store  *bolt.Store
	srv    *httptest.Server
	reg    *prometheus.Registry
}

func newEnv(t testing.TB) *env { return newEnvWithLimits(t, care.Limits{}) }

// newEnvWithLimits is newEnv with the limits the store and the API enforce.
func newEnvWithLimits(t testing.TB, l care.Limits) *env {
	t.Helper()
	e := &env{t: t, limits: l, dir: t.TempDir(), clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() { e.startWithGrace(grace) }

func (e *env) startWithGrace(g time.Duration) {
	e.t.Helper()
	dir := care.NewDirectory(testUsers)
	policy := care.Policy{Grace: g, Limits: e.limits}
	st, err := bolt.Open(e.dir, bolt.Options{Policy: policy, Clock: e.clock, Users: dir})
	if err != nil {
		e.t.Fatal(err)
	}
	creds := make([]httpapi.Credential, 0, len(testUsers))
	for _, u := range testUsers {
		creds = append(creds, httpapi.Credential{User: u, TokenSHA256: sha(token(u.ID))})
	}
	e.reg = prometheus.NewRegistry()
	api, err := httpapi.New(httpapi.Options{Service: st, Credentials: creds, Policy: policy, Clock: e.clock,
		Ready: st.Ping, Registerer: e.reg})
	if err != nil {
		e.t.Fatal(err)
	}
	e.store, e.srv = st, httptest.NewServer(api)
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.store.Close()
		e.srv = nil
	}
}

// restart closes the store and opens it again from the same directory.
func (e *env) restart() {
	e.stop()
	e.start()
}

type resp struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r resp) errCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// do sends a request as user (no Authorization header when user is "").
// body may be a string (sent raw) or a value (sent as JSON).
func (e *env) do(method, path, user string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(user))
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return r
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path, user string, body any) map[string]any {
	e.t.Helper()
	r := e.do(method, path, user, body)
	if r.status != want {
		e.t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, user, r.status, want, r.raw)
	}
	return r.body
}

// msg builds an incoming message body.
func msg(ext, customer, profile string, sent time.Time) map[string]any {
	return map[string]any{
		"external_id": ext, "platform": "twitter", "profile_id": profile,
		"customer":  map[string]any{"platform_user_id": customer, "username": "@" + customer, "first_name": "Joe", "last_name": "Doe"},
		"direction": "inbound", "type": "mention", "text": "Hi from " + customer + " (" + ext + ")",
		"sent_at": sent.Format(time.RFC3339), "attachments": []any{},
	}
}

// escalate makes a new case through POST /api/v1/cases and returns its id.
func (e *env) escalate(ext, customer, profile string) int64 {
	e.t.Helper()
	b := e.must(http.StatusCreated, "POST", "/api/v1/cases", "community",
		map[string]any{"message": msg(ext, customer, profile, e.clock.Now()), "mode": "manual"})
	return caseID(b["case"])
}

func caseID(v any) int64 {
	m, _ := v.(map[string]any)
	f, _ := m["id"].(float64)
	return int64(f)
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// ids returns the case ids of a case listing.
func ids(body map[string]any) []int64 {
	var out []int64
	list, _ := body["cases"].([]any)
	for _, c := range list {
		out = append(out, caseID(c))
	}
	return out
}

// state is everything a supervisor can read of the store: every case
// (deleted ones too) with its messages, and every customer. Two equal states
// mean no write got through.
func (e *env) state() string {
	e.t.Helper()
	var b strings.Builder
	var cases []any
	for _, q := range []string{"", "&status=deleted"} {
		list, _ := e.must(http.StatusOK, "GET", "/api/v1/cases?limit=500"+q, "sue", nil)["cases"].([]any)
		cases = append(cases, list...)
	}
	for _, c := range cases {
		id := caseID(c)
		b.Write(mustJSON(e.t, c))
		b.Write(mustJSON(e.t, e.must(http.StatusOK, "GET", path("/api/v1/cases/%d/messages?limit=500", id), "sue", nil)))
	}
	for id := 1; ; id++ {
		r := e.do("GET", path("/api/v1/customers/%d", id), "sue", nil)
		if r.status == http.StatusNotFound {
			break
		}
		b.Write(r.raw)
	}
	return b.String()
}
