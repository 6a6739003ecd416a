package connector_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

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

var worldUsers = []care.User{
	{ID: "alice", Name: "Alice Agent", Email: "alice@example.com", Role: care.RoleAgent},
	{ID: "bob", Name: "Bob Agent", Email: "bob@example.com", Role: care.RoleAgent},
	{ID: "sue", Name: "Sue Supervisor", Email: "sue@example.com", Role: care.RoleSupervisor},
	{ID: "community", Name: "Community", Email: "community@example.com", Role: care.RoleIntegration},
}

func userToken(id string) string { return "token-of-" + id }

// world is a daemon's Salesforce side over real HTTP: a simulated org, the
// Care store with the outbox effects, a mapping, the token pool, the API
// with the connect and escalation routes.
type world struct {
	t         *testing.T
	sim       *sfsim.Server
	clock     *clock
	store     *bolt.Store
	holder    *mapping.Holder
	pool      *tokens.Pool
	escalator *connector.Escalator
	srv       *httptest.Server
	mapFile   string
}

func newWorld(t *testing.T, mappingYAML string) *world {
	t.Helper()
	return newWorldWith(t, mappingYAML, simtest.Options(sfsim.Options{}))
}

// newWorldWith is newWorld with a simulated org of simOpts (Strict plays a
// production org).
func newWorldWith(t *testing.T, mappingYAML string, simOpts sfsim.Options) *world {
	t.Helper()
	w := &world{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	sim, err := sfsim.NewServer(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	w.sim = sim
	dir := t.TempDir()
	w.mapFile = filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(w.mapFile, []byte(mappingYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	w.holder = mapping.NewHolder(w.mapFile, mapping.HolderOptions{})
	if err := w.holder.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	users := care.NewDirectory(worldUsers)
	policy := care.Policy{Grace: 24 * time.Hour}
	w.store, err = bolt.Open(filepath.Join(dir, "data"), bolt.Options{Policy: policy, Clock: w.clock, Users: users,
		Effects: connector.Effects{Mapping: w.holder.Current}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.store.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	key, err := tokens.LoadKey("", filepath.Join(dir, "secret.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	oauth := tokens.NewOAuthSet(salesforce.OAuthConfig{ClientID: sfsim.DefaultClientID, ClientSecret: "sfsim-secret",
		RedirectURL: base + "/oauth/salesforce/callback", HTTPClient: hc})
	w.pool, err = tokens.Open(context.Background(), tokens.Options{Store: w.store.KV(tokens.Namespace), Key: key,
		OAuth: oauth, LoginURL: sim.LoginURL, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	var creds []httpapi.Credential
	for _, u := range worldUsers {
		h := sha256.Sum256([]byte(userToken(u.ID)))
		creds = append(creds, httpapi.Credential{User: u, TokenSHA256: hex.EncodeToString(h[:])})
	}
	api, err := httpapi.New(httpapi.Options{Service: w.store, Credentials: creds, Policy: policy, Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sfapi.New(sfapi.Options{Pool: w.pool, LoginURLOverride: sim.LoginURL})
	if err != nil {
		t.Fatal(err)
	}
	conn.Register(api)
	w.escalator = &connector.Escalator{Store: w.store, Tokens: w.pool, Mapping: w.holder.Current, Users: users, Clock: w.clock,
		CaseURL: func(id int64) string { return base + "/cases/" + strconv.FormatInt(id, 10) }}
	sfapi.NewCaseRoutes(w.escalator).Register(api)
	w.srv = httptest.NewUnstartedServer(api)
	w.srv.Listener.Close()
	w.srv.Listener = ln
	w.srv.Start()
	t.Cleanup(w.srv.Close)
	return w
}

// connect runs the real OAuth flow: the user asks the daemon to connect,
// the simulated org authorizes sfUsername, the callback stores the token.
func (w *world) connect(user, as, sfUsername string) {
	w.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequest("GET", w.srv.URL+"/oauth/salesforce/connect?as="+as+"&login_hint="+url.QueryEscape(sfUsername), nil)
	req.Header.Set("Authorization", "Bearer "+userToken(user))
	var final *url.URL
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		final = r.URL
		if r.URL.Path == "/" { // the console: the flow is over
			return http.ErrUseLastResponse
		}
		return nil
	}
	res, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if final == nil || final.Path != "/" || res.StatusCode != http.StatusFound {
		w.t.Fatalf("connect %s as %s: status %d at %v: %s", user, as, res.StatusCode, final, body)
	}
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (w *world) do(method, path, user string, body any) answer {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+userToken(user))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

func (w *world) must(status int, method, path, user string, body any) map[string]any {
	w.t.Helper()
	a := w.do(method, path, user, body)
	if a.status != status {
		w.t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, user, a.status, status, a.raw)
	}
	return a.body
}

// escalate makes a Care case of a new message of customer and returns it.
func (w *world) escalate(ext, customer, first, last, text string, salesforceToo bool) map[string]any {
	w.t.Helper()
	b := w.must(http.StatusCreated, "POST", "/api/v1/cases", "community", map[string]any{
		"message": map[string]any{
			"external_id": ext, "platform": "twitter", "profile_id": "brand",
			"customer": map[string]any{"platform_user_id": customer, "username": "@" + customer, "first_name": first, "last_name": last},
			"author":   strings.TrimSpace(first + " " + last), "text": text, "sent_at": w.clock.Now().Format(time.RFC3339),
		},
		"salesforce": salesforceToo,
	})
	return b["case"].(map[string]any)
}

func (w *world) ingest(ext, customer, text string) {
	w.t.Helper()
	w.must(http.StatusOK, "POST", "/api/v1/messages", "community", map[string]any{
		"external_id": ext, "platform": "twitter", "profile_id": "brand",
		"customer": map[string]any{"platform_user_id": customer}, "text": text, "sent_at": w.clock.Now().Format(time.RFC3339),
	})
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

// runOutbox delivers the escalate entries of the outbox the way the
// deliverer does, returning the errors.
func (w *world) runEscalations() []error {
	w.t.Helper()
	due, err := w.store.OutboxDue(context.Background(), w.clock.Now(), 100, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	var errs []error
	for _, e := range due {
		if e.Kind != care.OpEscalate {
			continue
		}
		if err := w.escalator.EscalateAutomatically(context.Background(), e.CaseID, e.Actor); err != nil {
			errs = append(errs, err)
			continue
		}
		w.store.OutboxDone(context.Background(), []uint64{e.ID})
	}
	return errs
}

// reloadMapping writes a new mapping file and loads it, as SIGHUP does.
func (w *world) reloadMapping(mappingYAML string) {
	w.t.Helper()
	if err := os.WriteFile(w.mapFile, []byte(mappingYAML), 0o600); err != nil {
		w.t.Fatal(err)
	}
	if err := w.holder.Reload(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// linkContact links customer to a Salesforce contact as alice.
func (w *world) linkContact(customer any, contactID string) map[string]any {
	w.t.Helper()
	return w.must(http.StatusOK, "PUT", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", num(customer)), "alice", map[string]any{"contact_id": contactID})
}

func exampleMapping(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "mapping", "testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
