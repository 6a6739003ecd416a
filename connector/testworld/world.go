package testworld

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
	"github.com/prometheus/client_golang/prometheus"
)

// Start is where a world's Clock stands unless WithClock says otherwise.
var Start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// World is one daemon's worth of parts for a test. The Salesforce side
// (Sim, Holder, Pool, Escalator) is nil unless an option asks for it; Server
// is nil under NoServer (API is still built: serve it with httptest).
type World struct {
	T        testing.TB
	Dir      string // the data directory: store, secret.key, mapping.yaml
	Clock    *Clock
	Users    Directory
	Policy   care.Policy
	Logs     *simtest.Logs
	Log      *slog.Logger
	Registry *prometheus.Registry
	Store    *bolt.Store

	Sim         *sfsim.Server
	MappingFile string
	Holder      *mapping.Holder
	Key         *tokens.Key  // the secret key of the stored tokens
	HTTP        *http.Client // the Salesforce calls' client
	OAuth       tokens.OAuthFunc
	Pool        *tokens.Pool
	Escalator   *connector.Escalator

	API    *httpapi.Server
	Server *httptest.Server
	URL    string // the server's base URL, known before it starts

	closed bool
}

// New builds a world for tb with opts and stops it in tb.Cleanup.
func New(tb testing.TB, opts ...Option) *World {
	tb.Helper()
	c := config{users: Users, policy: care.Policy{Grace: 24 * time.Hour}}
	for _, o := range opts {
		o(&c)
	}
	w := &World{T: tb, Dir: c.dir, Clock: c.clock, Policy: c.policy, Logs: &simtest.Logs{},
		Registry: prometheus.NewRegistry()}
	if w.Dir == "" {
		w.Dir = tb.TempDir()
	}
	if w.Clock == nil {
		w.Clock = simtest.NewClock(Start)
	}
	w.Users = c.directory
	if w.Users == nil {
		w.Users = care.NewDirectory(c.users)
	}
	w.Log = w.Logs.Logger()
	w.Logs.DumpOnFailure(tb)
	if !c.noServer {
		// The listener exists before the server starts: the escalator and
		// the OAuth redirect know the base URL.
		w.Server = httptest.NewUnstartedServer(nil)
		w.URL = "http://" + w.Server.Listener.Addr().String()
	}
	if c.salesforce {
		w.startOrg(c)
	} else {
		simtest.NoOrg(tb)
	}
	w.openStore(c)
	if c.salesforce {
		w.openPool(c)
	}
	w.serve(c)
	tb.Cleanup(w.Close)
	if c.connected {
		w.Connect(tokens.KindDefault, Holder, sfsim.DefaultUsername)
	}
	return w
}

func (w *World) fatal(what string, err error) {
	w.T.Helper()
	if err != nil {
		w.T.Fatalf("testworld: %s: %v", what, err)
	}
}

// startOrg starts the simulated org and loads the mapping.
func (w *World) startOrg(c config) {
	w.T.Helper()
	w.Sim = simtest.NewServer(w.T, c.sim)
	w.MappingFile = filepath.Join(w.Dir, "mapping.yaml")
	if c.mapping == nil {
		c.mapping = mapping.Sample()
	}
	w.fatal("mapping", os.WriteFile(w.MappingFile, c.mapping, 0o600))
	w.Holder = mapping.NewHolder(w.MappingFile, mapping.HolderOptions{Logger: w.Log})
	w.fatal("mapping", w.Holder.Reload(context.Background()))
}

func (w *World) openStore(c config) {
	w.T.Helper()
	o := bolt.Options{Policy: w.Policy, Clock: w.Clock, Users: w.Users}
	if w.Holder != nil {
		o.Effects = connector.Effects{Mapping: w.Holder.Current}
	}
	if c.store != nil {
		c.store(&o)
	}
	st, err := bolt.Open(w.Dir, o)
	w.fatal("bolt", err)
	w.Store = st
}

// openPool opens the token pool over the store and builds the escalator.
func (w *World) openPool(c config) {
	w.T.Helper()
	var err error
	w.Key, err = tokens.LoadKey("", filepath.Join(w.Dir, "secret.key"), nil)
	w.fatal("secret key", err)
	w.HTTP = &http.Client{Timeout: 30 * time.Second}
	redirect := w.URL + "/oauth/salesforce/callback"
	if w.URL == "" {
		redirect = "http://127.0.0.1:1/oauth/salesforce/callback"
	}
	cfg := simtest.OAuthConfig(redirect, w.HTTP)
	cfg.Logger = w.Log
	w.OAuth = tokens.NewOAuthSet(cfg)
	o := tokens.Options{Store: w.Store.KV(tokens.Namespace), Key: w.Key, OAuth: w.OAuth, LoginURL: w.Sim.LoginURL,
		HTTPClient: w.HTTP, Client: salesforce.Options{Logger: w.Log}, Logger: w.Log}
	if c.pinOrg {
		o.OrgID = w.Sim.OrgID()
	}
	if c.pool != nil {
		c.pool(&o)
	}
	w.Pool, err = tokens.Open(context.Background(), o)
	w.fatal("token pool", err)
	w.Escalator = &connector.Escalator{Store: w.Store, Tokens: w.Pool, Mapping: w.Holder.Current, Users: w.Users,
		Clock: w.Clock, Logger: w.Log, Limits: w.Policy.Limits,
		CaseURL: func(id int64) string { return w.URL + "/cases/" + strconv.FormatInt(id, 10) }}
}

// serve builds the Care API, lets the test add routes and starts the
// server (unless NoServer).
func (w *World) serve(c config) {
	w.T.Helper()
	o := httpapi.Options{Service: w.Store, Credentials: Credentials(c.users), Policy: w.Policy, Clock: w.Clock,
		Logger: w.Log, Ready: w.Store.Ping, Registerer: w.Registry}
	if c.api != nil {
		c.api(w, &o)
	}
	api, err := httpapi.New(o)
	w.fatal("httpapi", err)
	w.API = api
	for _, r := range c.routes {
		r(w, api)
	}
	if w.Server != nil {
		w.Server.Config.Handler = api
		w.Server.Start()
	}
}

// Close stops the server and closes the store (the simulated org stops in
// the test's cleanup). It is idempotent; a test that restarts builds a new
// world over the same Dir (WithDir) after it.
func (w *World) Close() {
	if w.closed {
		return
	}
	w.closed = true
	if w.Server != nil {
		w.Server.Close()
	}
	if w.Store != nil {
		w.Store.Close()
	}
}

// Authorize runs the OAuth web-server flow at the simulated org as
// sfUsername and returns the token, not stored.
func (w *World) Authorize(sfUsername string) salesforce.Token {
	w.T.Helper()
	auth, err := w.OAuth(w.Sim.LoginURL)
	w.fatal("oauth", err)
	return simtest.Authorize(w.T, auth, sfUsername)
}

// Connect authorizes sfUsername at the simulated org and stores the token
// in the pool: the default token held by userID, or userID's own.
func (w *World) Connect(kind tokens.Kind, userID, sfUsername string) tokens.Info {
	w.T.Helper()
	info, err := w.Pool.Connect(context.Background(), tokens.Grant{Kind: kind, UserID: userID, Token: w.Authorize(sfUsername)})
	w.fatal("connect "+string(kind)+" "+userID, err)
	return info
}

// SetMapping rewrites the mapping file and reloads it, as SIGHUP does.
func (w *World) SetMapping(yaml []byte) {
	w.T.Helper()
	w.fatal("mapping", os.WriteFile(w.MappingFile, yaml, 0o600))
	w.fatal("mapping", w.Holder.Reload(context.Background()))
}
