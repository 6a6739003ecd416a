package tokens

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/sethvargo/go-retry"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// flakyStore wraps a Store; Put fails while failPut is set.
type flakyStore struct {
	Store
	failPut atomic.Bool
}

var errDiskFull = errors.New("disk full")

func (f *flakyStore) Put(ctx context.Context, key string, value []byte) error {
	if f.failPut.Load() {
		return errDiskFull
	}
	return f.Store.Put(ctx, key, value)
}

// wrapAuth lets a test replace single OAuth calls.
type wrapAuth struct {
	Authorizer
	refresh func(ctx context.Context, rt string) (salesforce.Token, error)
	revoke  func(ctx context.Context, tok string) error
}

func (w *wrapAuth) Refresh(ctx context.Context, rt string) (salesforce.Token, error) {
	if w.refresh != nil {
		return w.refresh(ctx, rt)
	}
	return w.Authorizer.Refresh(ctx, rt)
}

func (w *wrapAuth) Revoke(ctx context.Context, tok string) error {
	if w.revoke != nil {
		return w.revoke(ctx, tok)
	}
	return w.Authorizer.Revoke(ctx, tok)
}

// manualTicker is a Ticker the test drives.
type manualTicker struct{ c chan time.Time }

func (m *manualTicker) C() <-chan time.Time { return m.c }
func (m *manualTicker) Stop()               {}

const testRedirect = "http://127.0.0.1:1/oauth/salesforce/callback"

// env is a simulated org, a real bbolt store and the pool's wiring.
type env struct {
	t     *testing.T
	sim   *sfsim.Server
	dir   string
	bolt  *bolt.Store
	store *flakyStore
	key   *Key
	logs  *syncBuffer
	log   *slog.Logger
	oauth OAuthFunc
	wrap  *wrapAuth // every Authorizer the pool gets is this one
	reg   *prometheus.Registry
	http  *http.Client
	jwt   JWTConfig
}

func newEnv(t *testing.T, simOpts sfsim.Options) *env {
	t.Helper()
	sim, err := sfsim.NewServer(simtest.Options(simOpts))
	if err != nil {
		t.Fatalf("sfsim: %v", err)
	}
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatalf("bolt: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := LoadKey("", filepath.Join(dir, "secret.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hc := &http.Client{Timeout: 20 * time.Second}
	base := NewOAuthSet(salesforce.OAuthConfig{
		ClientID: sfsim.DefaultClientID, ClientSecret: sfsim.DefaultClientSecret,
		RedirectURL: testRedirect, HTTPClient: hc, Logger: log,
	})
	e := &env{t: t, sim: sim, dir: dir, bolt: st, store: &flakyStore{Store: st.KV(Namespace)},
		key: key, logs: logs, log: log, http: hc}
	e.oauth = func(loginURL string) (Authorizer, error) {
		a, err := base(loginURL)
		if err != nil {
			return nil, err
		}
		if e.wrap == nil {
			e.wrap = &wrapAuth{}
		}
		e.wrap.Authorizer = a
		return e.wrap, nil
	}
	return e
}

// open opens a pool over the env's store, with a fresh registry.
func (e *env) open(mod func(*Options)) *Pool {
	e.t.Helper()
	p, err := e.openErr(mod)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return p
}

func (e *env) openErr(mod func(*Options)) (*Pool, error) {
	e.reg = prometheus.NewRegistry()
	opts := Options{
		Store: e.store, Key: e.key, OAuth: e.oauth, LoginURL: e.sim.LoginURL,
		HTTPClient: e.http, Client: salesforce.Options{Logger: e.log},
		Registerer: e.reg, Logger: e.log, JWT: e.jwt, RenewBackoff: fastBackoff,
	}
	if mod != nil {
		mod(&opts)
	}
	return Open(context.Background(), opts)
}

// fastBackoff retries a transient renewal 3 times without waiting long.
func fastBackoff() retry.Backoff { return retry.WithMaxRetries(3, retry.NewConstant(time.Millisecond)) }

// otherOrgUser creates a user of another org at the simulator.
func (e *env) otherOrgUser(username string) { simtest.OtherOrgUser(e.t, e.sim, username) }

// liveRefreshTokens is how many refresh tokens the org holds for a user.
func (e *env) liveRefreshTokens(username string) int {
	return simtest.LiveRefreshTokens(e.t, e.sim, username)
}

// authorize runs the web-server flow at the simulator as loginHint and
// returns the token (without storing it).
func (e *env) authorize(loginHint string) salesforce.Token {
	e.t.Helper()
	auth, err := e.oauth(e.sim.LoginURL)
	if err != nil {
		e.t.Fatal(err)
	}
	verifier := salesforce.NewVerifier()
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(auth.AuthCodeURL("st", verifier, loginHint))
	if err != nil {
		e.t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		e.t.Fatalf("authorize: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := auth.Exchange(context.Background(), loc.Query().Get("code"), verifier)
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// connect authorizes as sfUsername and stores the token in p.
func (e *env) connect(p *Pool, kind Kind, userID, sfUsername string) Info {
	e.t.Helper()
	info, err := p.Connect(context.Background(), Grant{Kind: kind, UserID: userID, Token: e.authorize(sfUsername)})
	if err != nil {
		e.t.Fatalf("Connect %s %s: %v", kind, userID, err)
	}
	return info
}

// tokenCalls is the number of token endpoint calls the org received.
func (e *env) tokenCalls() int64 { return e.sim.Stats().ByOperation["token"] }

// useJWT writes a fresh RSA key for the JWT flow and returns the public
// key for the simulator.
func writeJWTKey(t *testing.T) (string, *rsa.PublicKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "jwt.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, &k.PublicKey
}

// secrets returns every token the pool holds now.
func (p *Pool) secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.entries {
		for _, s := range []string{r.AccessToken, r.RefreshToken} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// stored decrypts the stored record of key.
func (e *env) stored(key string) *record {
	e.t.Helper()
	b, err := e.store.Get(context.Background(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	if b == nil {
		return nil
	}
	s, _ := newSealer(e.key)
	r, err := s.openRecord(key, b)
	if err != nil {
		e.t.Fatalf("stored %s: %v", key, err)
	}
	return r
}

// metric returns the value of a gauge or counter series, and whether the
// series exists.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
					continue next
				}
			}
			return value(m), true
		}
	}
	return 0, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

// query runs a cheap data call with the conn's client.
func query(ctx context.Context, c *Conn) error {
	_, err := c.Client.Query(ctx, "SELECT Id FROM User LIMIT 1")
	return err
}

// eventually waits until cond holds, failing the test after 10 s. It
// checks the outcome of work another goroutine does; it asserts nothing
// about how long that takes.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not reached within 10s")
		case <-tick.C:
		}
	}
}
