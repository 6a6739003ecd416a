package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/prometheus/client_golang/prometheus"
)

// clock is the tests' settable clock.
type clock = testworld.Clock

var testUsers = testworld.Users

// token is each test user's bearer token.
func token(id string) string { return testworld.Token(id) }

func sha(s string) string { return testworld.TokenSHA256(s) }

const grace = 24 * time.Hour

// env is a Care store and API from the test world, which a test may
// stop and start again over the same directory.
type env struct {
	t      testing.TB
	limits care.Limits // zero: the defaults of SPEC §12
	sla    care.SLAPolicies
	dir    string
	clock  *clock
	world  *testworld.World
	store  *bolt.Store
	srv    *httptest.Server
	reg    *prometheus.Registry
}

func newEnv(t testing.TB) *env { return newEnvWithLimits(t, care.Limits{}) }

// newEnvWithLimits is newEnv with the limits the store and the API enforce.
func newEnvWithLimits(t testing.TB, l care.Limits) *env {
	t.Helper()
	e := &env{t: t, limits: l, dir: t.TempDir(), clock: testworld.NewClock()}
	e.start()
	return e
}

func (e *env) start() { e.startWithGrace(grace) }

func (e *env) startWithGrace(g time.Duration) {
	e.t.Helper()
	e.world = testworld.New(e.t, testworld.WithDir(e.dir), testworld.WithClock(e.clock),
		testworld.WithPolicy(care.Policy{Grace: g, Limits: e.limits, SLA: e.sla}))
	e.store, e.srv, e.reg = e.world.Store, e.world.Server, e.world.Registry
}

// stop closes the server and the store (a world's, or ones a test set).
func (e *env) stop() {
	if e.world != nil {
		e.world.Close()
		return
	}
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
	a := e.world.Do(method, path, user, body)
	return resp{status: a.Status, body: a.Body, raw: a.Raw}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path, user string, body any) map[string]any {
	e.t.Helper()
	return e.world.Must(want, method, path, user, body)
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
