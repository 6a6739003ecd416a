package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/console"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/care/live"
	"github.com/carebridge/carebridge/care/publish"
	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/changeevents"
	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfapi"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownGrace bounds how long a shutdown waits for in-flight requests;
// deliveryGrace how long it then waits for deliveries to Salesforce. Both
// together stay under the 60 s systemd and Kubernetes give.
const (
	shutdownGrace = 15 * time.Second
	deliveryGrace = 30 * time.Second
)

func serveCmd(ctx context.Context, args []string, stderr io.Writer, environ []string) error {
	fs := newFlagSet("serve", stderr)
	cfgPath := fs.String("config", "", "config `FILE` (default: built-in defaults)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("serve takes no arguments")
	}
	cfg, err := config.Load(*cfgPath, environ)
	if err != nil {
		return err
	}
	if len(cfg.Auth.Users) == 0 {
		return errors.New(noUsers(cfg.Path))
	}
	logger := newLogger(stderr, cfg)
	if cfg.Path == "" {
		logger.Info("no config file given: running on defaults", "config", cfg)
	}
	d, err := newDaemon(cfg, logger, nil)
	if err != nil {
		return err
	}
	return d.run(ctx, nil)
}

// noUsers is why serve refuses a config without users: nobody could sign
// in, and what to do about it.
func noUsers(path string) string {
	if path == "" {
		return "no config file and so no users: nobody could sign in; write a first config with `carebridge init`, then `carebridge serve --config carebridge.yaml`"
	}
	return "no users in auth.users of " + path + ": nobody could sign in; add one with `carebridge user add --config " + path +
		" --name NAME --email EMAIL --role supervisor`, or start over with `carebridge init`"
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
}

// daemon is the wired daemon: store, HTTP surface, Salesforce workers.
type daemon struct {
	cfg       *config.Config
	log       *slog.Logger
	store     *bolt.Store
	api       *httpapi.Server
	mapping   *mapping.Holder
	pool      *tokens.Pool
	deliverer *outbox.Deliverer
	publisher *publish.Publisher // nil unless publishing is configured
	poller    *outbox.Poller
	changes   *changeevents.Subscriber
	sla       *bolt.SLAWatcher
	events    *live.Broker // the console's live feed; its streams end on shutdown
	// listener, when set, is served instead of listening on cfg.Listen
	// (the demo binds first to learn its port).
	listener net.Listener
}

// newDaemon opens the store and builds the HTTP surface and the Salesforce
// workers. clock nil is the wall clock.
func newDaemon(cfg *config.Config, logger *slog.Logger, clock care.Clock) (_ *daemon, err error) {
	users := make([]care.User, 0, len(cfg.Auth.Users))
	creds := make([]httpapi.Credential, 0, len(cfg.Auth.Users))
	for _, u := range cfg.Auth.Users {
		cu := care.User{ID: u.ID, Name: u.Name, Email: u.Email, Role: care.Role(u.Role)}
		users = append(users, cu)
		creds = append(creds, httpapi.Credential{User: cu, TokenSHA256: u.TokenSHA256})
	}
	dir := care.NewDirectory(users)
	policy := care.Policy{Grace: cfg.Care.GracePeriod, Limits: careLimits(cfg.Limits), SLA: cfg.SLA}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mm, err := mapping.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	holder := mapping.NewHolder(cfg.MappingFile, mapping.HolderOptions{Logger: logger, Metrics: mm})
	events := live.New(live.Options{Clock: clock})
	store, err := bolt.Open(cfg.DataDir, bolt.Options{Policy: policy, Clock: clock, Users: dir,
		Effects: connector.Effects{Mapping: holder.Current}, OnCommit: events.Publish, Publishing: cfg.Publishing.Enabled(),
		Routing: routingOf(cfg)})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	reg.MustRegister(store.Collector(), store.RoutingCollector())
	slaWatch, err := bolt.NewSLAWatcher(store, reg, logger)
	if err != nil {
		return nil, err
	}
	publisher, err := newPublisher(cfg, store, reg, logger)
	if err != nil {
		return nil, err
	}
	if err := holder.Reload(context.Background()); err != nil {
		// Not fatal: the daemon serves but is not ready until a valid
		// mapping arrives (the file is watched), so a bad ConfigMap edit
		// does not crash-loop the pod.
		logger.Error("mapping rejected: nothing is sent to Salesforce until it is fixed", "file", cfg.MappingFile, "err", err)
	}
	ready := func() error {
		if err := store.Ping(); err != nil {
			return err
		}
		if !holder.Ready() {
			return errors.New("mapping not loaded: " + holder.Status().LastError)
		}
		return nil
	}
	api, err := httpapi.New(httpapi.Options{
		Service: store, Credentials: creds, Policy: policy, Clock: clock, Logger: logger,
		Ready: ready, Registerer: reg, Events: events,
	})
	if err != nil {
		return nil, err
	}
	key, err := tokens.LoadKey(cfg.SecretKeyEnv().Reveal(), cfg.SecretKeyPath(), logger)
	if err != nil {
		return nil, err
	}
	budget := outbox.NewBudget(outbox.BudgetOptions{Share: cfg.Salesforce.BackgroundBudget})
	pool, err := openPool(cfg, key, store, reg, budget, logger)
	if err != nil {
		return nil, err
	}
	signIn, err := salesforceSignIn(cfg, pool)
	if err != nil {
		return nil, err
	}
	con, err := console.New(context.Background(), console.Options{
		Users: dir, Key: key.Derive("console session key v1"), PublicURL: cfg.PublicURL,
		EmbedFrameAncestors: cfg.Salesforce.EmbedFrameAncestors, Revocations: store.KV("console_sessions"),
		SalesforceSignIn: signIn, Cases: store, Clock: clock, Logger: logger})
	if err != nil {
		return nil, err
	}
	con.Register(api)

	escalator := &connector.Escalator{Store: store, Tokens: pool, Mapping: holder.Current, Users: dir, Clock: clock, Logger: logger,
		Limits: policy.Limits,
		CaseURL: func(id int64) string {
			return strings.TrimRight(cfg.PublicURL, "/") + "/cases/" + strconv.FormatInt(id, 10)
		}}
	sfapi.NewCaseRoutes(escalator).Register(api)
	syncMetrics, err := outbox.NewMetrics(reg, store)
	if err != nil {
		return nil, err
	}
	deliverer, err := outbox.NewDeliverer(outbox.DelivererOptions{Store: store, Tokens: pool, Mapping: holder.Current,
		Escalator: escalator, Budget: budget, Metrics: syncMetrics, Logger: logger})
	if err != nil {
		return nil, err
	}
	poller, err := outbox.NewPoller(outbox.PollerOptions{Store: store, KV: store.KV(outbox.Namespace), Tokens: pool,
		Mapping: holder.Current, Policy: policy, Deliverer: deliverer, Budget: budget, Metrics: syncMetrics,
		Logger: logger, Interval: cfg.Salesforce.PollInterval, IntervalWithEvents: cfg.Salesforce.PollIntervalWithEvents})
	if err != nil {
		return nil, err
	}
	changes, err := newChangeSubscriber(cfg, pool, poller, store, reg, logger)
	if err != nil {
		return nil, err
	}
	outbox.NewHandler(store).Register(api)
	syncStatus := func(ctx context.Context) sfapi.SyncStatus {
		st := sfapi.SyncStatus{LastPollAt: poller.LastPollAt()}
		st.Changes, st.ChangesReason = changesStatus(changes)
		if m := holder.Current(); m != nil {
			st.MessageSync = string(m.MessagesMode())
			if m.Status != nil {
				st.StatusSync = string(m.Status.Mode)
			}
			st.ContactSync = m.ContactSync
		}
		if ob, err := store.OutboxStats(ctx); err == nil {
			st.Outbox = sfapi.OutboxStatus{Pending: int(ob.Pending), Failed: int(ob.Failed), OldestAge: ob.OldestAge}
		}
		return st
	}
	sf, err := sfapi.New(sfapi.Options{Pool: pool, Environment: cfg.Salesforce.Environment,
		LoginURLOverride: cfg.Salesforce.LoginURL, Logger: logger, Authenticate: api.Authenticate, Sync: syncStatus,
		ConsoleURL: consoleSettings, PublicURL: cfg.PublicURL})
	if err != nil {
		return nil, err
	}
	sf.Register(api)
	(&sfapi.AccountRoutes{Pool: pool, MappingFile: holder.Path, Logger: logger}).Register(api)
	api.HandleAPI("GET /api/v1/mapping", func(w http.ResponseWriter, r *http.Request, u care.User) {
		if u.Role != care.RoleSupervisor {
			httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only supervisors read the mapping")
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, holder.Status())
	})
	api.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}))
	if len(users) == 0 {
		logger.Warn("no users in auth.users: every /api/v1 call will be refused")
	}
	return &daemon{cfg: cfg, log: logger, store: store, api: api, mapping: holder, pool: pool,
		deliverer: deliverer, publisher: publisher, poller: poller, changes: changes, events: events, sla: slaWatch}, nil
}

// consoleSettings is the console's Salesforce settings page, where a
// connect ends so the person sees the connection they made.
const consoleSettings = "/settings/salesforce"

// salesforceHTTPClient is the one HTTP client of every Salesforce call.
func salesforceHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr, Timeout: 120 * time.Second}
}

// openPool opens the Salesforce token pool over the store, its tokens
// encrypted with key.
func openPool(cfg *config.Config, key *tokens.Key, store *bolt.Store, reg prometheus.Registerer, budget *outbox.Budget, logger *slog.Logger) (*tokens.Pool, error) {
	secret, err := cfg.ClientSecret()
	if err != nil {
		return nil, err
	}
	sfMetrics, err := salesforce.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	hc := salesforceHTTPClient()
	oauth := tokens.NewOAuthSet(salesforce.OAuthConfig{ClientID: cfg.Salesforce.ClientID, ClientSecret: secret.Reveal(),
		RedirectURL: cfg.RedirectURL(), HTTPClient: hc, Metrics: sfMetrics, Logger: logger,
		JWTAudience: salesforce.JWTAudience(cfg.Salesforce.JWTAudience, cfg.Salesforce.Environment, cfg.LoginURL())})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return tokens.Open(ctx, tokens.Options{
		Store: store.KV(tokens.Namespace), Key: key, OAuth: oauth, LoginURL: cfg.LoginURL(),
		Environment:       cfg.Salesforce.Environment,
		OrgID:             cfg.Salesforce.OrgID,
		JWT:               tokens.JWTConfig{Username: cfg.Salesforce.JWT.Username, PrivateKeyFile: cfg.Salesforce.JWT.PrivateKeyFile},
		HTTPClient:        hc,
		Client:            salesforce.Options{APIVersion: cfg.Salesforce.APIVersion, Metrics: budget.Observer(sfMetrics), Logger: logger},
		KeepaliveInterval: cfg.Salesforce.KeepaliveInterval, Registerer: reg, Logger: logger,
	})
}

// run serves until ctx ends, then drains: stop taking requests, let
// in-flight ones finish up to a deadline, close the store. ready, when set,
// receives the listening address.
func (d *daemon) run(ctx context.Context, ready func(addr string)) error {
	defer d.store.Close()
	ln := d.listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", d.cfg.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w", d.cfg.Listen, err)
		}
	}
	srv := &http.Server{
		Handler:           d.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Event streams never go idle: they end when the shutdown starts.
	srv.RegisterOnShutdown(d.events.Close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go d.mapping.Run(bg)
	go d.pool.Run(bg)
	go d.poller.Run(bg)
	go d.deliverer.Run(bg)
	go d.sla.Run(bg, bolt.SLACheckInterval)
	d.runPublisher(bg)
	changesDone := d.runChanges(bg)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				if err := d.mapping.Reload(bg); err != nil {
					d.log.Error("SIGHUP: mapping rejected, the previous one stays in use", "err", err)
				} else {
					d.log.Info("SIGHUP: mapping reloaded")
				}
			case <-bg.Done():
				return
			}
		}
	}()
	d.log.Info("carebridge serving", "addr", ln.Addr().String(), "version", versionString(), "config", d.cfg)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	d.log.Info("shutting down: draining requests", "deadline", shutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		d.log.Warn("http shutdown", "err", err)
	}
	// Deliveries in flight finish up to the deadline; past it they are
	// cancelled and stay in the outbox for the next start.
	stopBG()
	dctx, dcancel := context.WithTimeout(context.Background(), deliveryGrace)
	defer dcancel()
	if err := d.deliverer.Drain(dctx); err != nil {
		d.log.Warn("deliveries still in flight at the deadline stay in the outbox", "err", err)
	}
	d.drainPublisher(dctx)
	d.stopChanges(dctx, changesDone)
	if err := d.store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	d.log.Info("stopped cleanly")
	return nil
}

// careLimits are the config's limits as the Care write paths take them; the
// bounds the config does not name keep their defaults.
func careLimits(l config.Limits) care.Limits {
	return care.Limits{
		MessageTextBytes: l.MessageTextBytes, NameChars: l.NameChars, Attachments: l.Attachments,
		AttachmentURLChars: l.AttachmentURLChars, CaseFields: l.CaseFields, FieldValueBytes: l.FieldValueBytes,
		Mentions: l.Mentions,
	}.WithDefaults()
}

// salesforceSignIn is the console's Sign in with Salesforce when
// console.salesforce_sign_in is on: the connected app of salesforce.*, the
// pool's org (a user of another org is refused) and its personal tokens
// (a Salesforce user signs in as the Care user who connected as them).
func salesforceSignIn(cfg *config.Config, pool *tokens.Pool) (*console.SalesforceSignIn, error) {
	if !cfg.Console.SalesforceSignIn {
		return nil, nil
	}
	if cfg.Salesforce.ClientID == "" {
		return nil, errors.New("console.salesforce_sign_in needs salesforce.client_id (the connected app's consumer key)")
	}
	secret, err := cfg.ClientSecret()
	if err != nil {
		return nil, err
	}
	return &console.SalesforceSignIn{LoginURL: cfg.LoginURL(), ClientID: cfg.Salesforce.ClientID,
		ClientSecret: secret.Reveal(), HTTPClient: salesforceHTTPClient(), OrgID: pool.OrgID, LinkedUser: pool.LinkedUser}, nil
}
