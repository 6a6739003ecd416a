package connector_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/sfapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

var worldUsers = testworld.Users

func userToken(id string) string { return testworld.Token(id) }

// world is a daemon's Salesforce side over real HTTP: a simulated org, the
// Care store with the outbox effects, a mapping, the token pool, the API
// with the connect and escalation routes.
type world struct {
	t         *testing.T
	sim       *sfsim.Server
	clock     *testworld.Clock
	store     *bolt.Store
	holder    *mapping.Holder
	pool      *tokens.Pool
	escalator *connector.Escalator
	srv       *httptest.Server
	mapFile   string
	tw        *testworld.World
}

func newWorld(t *testing.T, mappingYAML string) *world {
	t.Helper()
	return newWorldWith(t, mappingYAML, sfsim.Options{})
}

// newWorldWith is newWorld with a simulated org of simOpts (Strict plays a
// production org).
func newWorldWith(t *testing.T, mappingYAML string, simOpts sfsim.Options) *world {
	t.Helper()
	tw := testworld.New(t, testworld.WithClock(simtest.NewClock(time.Now().UTC().Truncate(time.Second))),
		testworld.WithSalesforce(simOpts), testworld.WithMapping([]byte(mappingYAML)),
		testworld.WithRoutes(func(tw *testworld.World, api *httpapi.Server) {
			conn, err := sfapi.New(sfapi.Options{Pool: tw.Pool, LoginURLOverride: tw.Sim.LoginURL})
			if err != nil {
				t.Fatal(err)
			}
			conn.Register(api)
			sfapi.NewCaseRoutes(tw.Escalator).Register(api)
		}))
	return &world{t: t, sim: tw.Sim, clock: tw.Clock, store: tw.Store, holder: tw.Holder, pool: tw.Pool,
		escalator: tw.Escalator, srv: tw.Server, mapFile: tw.MappingFile, tw: tw}
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

// answer is an API answer (status, raw and decoded body, error code).
type answer = testworld.Answer

func (w *world) do(method, path, user string, body any) answer {
	w.t.Helper()
	return w.tw.Do(method, path, user, body)
}

func (w *world) must(status int, method, path, user string, body any) map[string]any {
	w.t.Helper()
	return w.tw.Must(status, method, path, user, body)
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
func (w *world) reloadMapping(mappingYAML string) { w.tw.SetMapping([]byte(mappingYAML)) }

// linkContact links customer to a Salesforce contact as alice.
func (w *world) linkContact(customer any, contactID string) map[string]any {
	w.t.Helper()
	return w.must(http.StatusOK, "PUT", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", num(customer)), "alice", map[string]any{"contact_id": contactID})
}

func exampleMapping(*testing.T) string { return string(mapping.Sample()) }

// connectedWorld is newWorld with the example mapping and the default
// token connected (through the console's flow) by sue as the org's admin.
func connectedWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, exampleMapping(t))
	w.connect("sue", "default", holderSF)
	return w
}
