package tokens

import (
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-retry"
)

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
	logs  *simtest.Logs
	log   *slog.Logger
	oauth OAuthFunc
	wrap  *wrapAuth // every Authorizer the pool gets is this one
	reg   *prometheus.Registry
	http  *http.Client
	jwt   JWTConfig
}

func newEnv(t *testing.T, simOpts sfsim.Options) *env {
	t.Helper()
	sim := simtest.NewServer(t, simOpts)
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
	logs := &simtest.Logs{}
	log := logs.Logger()
	hc := &http.Client{Timeout: 20 * time.Second}
	cfg := simtest.OAuthConfig(testRedirect, hc)
	cfg.Logger = log
	base := NewOAuthSet(cfg)
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
	return simtest.Authorize(e.t, auth, loginHint)
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

// writeJWTKey writes the test RSA key for the JWT flow to a file and
// returns its path and the public key for the simulator.
func writeJWTKey(t *testing.T) (string, *rsa.PublicKey) {
	t.Helper()
	k, b := simtest.JWTKey(t)
	p := filepath.Join(t.TempDir(), "jwt.pem")
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
	return simtest.Metric(t, reg, name, labels)
}

// query runs a cheap data call with the conn's client.
func query(ctx context.Context, c *Conn) error {
	_, err := c.Client.Query(ctx, "SELECT Id FROM User LIMIT 1")
	return err
}

// eventually waits until cond holds, failing the test after 10 s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	simtest.Eventually(t, 10*time.Second, "condition", cond)
}

// openConnected opens a pool over a new env of simOpts and connects, in
// order, the tokens named: "default" (held by sam, as sam@acme.test) or a
// user id (that user's own, as <id>@acme.test).
func openConnected(t *testing.T, simOpts sfsim.Options, tokens ...string) (*env, *Pool) {
	t.Helper()
	e := newEnv(t, simOpts)
	p := e.open(nil)
	for _, who := range tokens {
		if who == "default" {
			e.connect(p, KindDefault, "sam", "sam@acme.test")
		} else {
			e.connect(p, KindUser, who, who+"@acme.test")
		}
	}
	return e, p
}

// queryAfterExpiry expires every session at the org, clears its counts and
// runs a query with the background token, which must succeed; it returns
// that token.
func (e *env) queryAfterExpiry(p *Pool) *Conn {
	e.t.Helper()
	e.sim.ExpireSessions()
	e.sim.ResetStats()
	c, err := p.Background(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := query(context.Background(), c); err != nil {
		e.t.Fatalf("query after session expiry: %v", err)
	}
	return c
}
