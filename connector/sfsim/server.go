package sfsim

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of SPEC §8 and of the simulator.
const (
	DefaultClientID       = "sfsim-client"
	DefaultClientSecret   = "sfsim-secret"
	DefaultUsername       = "admin@sfsim.test"
	DefaultSessionTTL     = 2 * time.Hour
	DefaultDailyLimit     = 100000
	DefaultQueryBatchSize = 2000
)

// Options configure a simulated org. The zero value is usable.
type Options struct {
	// ClientID and ClientSecret identify the one connected app
	// (defaults sfsim-client / sfsim-secret).
	ClientID     string
	ClientSecret string
	// Callback, when set, must equal redirect_uri exactly.
	Callback string
	// PKCEOptional lets authorization requests without a code_challenge
	// through. By default PKCE is required, as for connected apps since
	// Spring '21.
	PKCEOptional bool
	// SessionTTL is how long an access token lives (default 2h).
	SessionTTL time.Duration
	// DailyLimit is the daily API request allocation (default 100000).
	DailyLimit int
	// RotateRefreshTokens makes every refresh answer a new refresh token
	// and void the old one.
	RotateRefreshTokens bool
	// JWTPublicKey verifies JWT bearer assertions. Without it the JWT
	// bearer grant is refused. See ParseJWTKey.
	JWTPublicKey *rsa.PublicKey
	// Schema adds objects and fields over the defaults (see ParseSchema).
	Schema *SchemaExtension
	// Latency is added to every data API call (the benchmarks use 50ms).
	Latency time.Duration
	// QueryBatchSize caps the records per query page (default 2000). A
	// Sforce-Query-Options batchSize header asks for less (200..2000).
	QueryBatchSize int
	// Now is the clock (default time.Now). Tests move it to expire
	// sessions and cursors without sleeping.
	Now func() time.Time
	// Logger receives one line per request at debug level and errors at
	// error level (default: discard).
	Logger *slog.Logger
	// Strict plays a production org (SPEC §11): an active Case and Lead
	// assignment rule (writes without Sforce-Auto-Assign: FALSE go to the
	// "Support Queue"), a Contact duplicate rule that alerts and a Lead
	// duplicate rule that blocks (DUPLICATES_DETECTED), and at most 5
	// refresh tokens per user for the connected app (a 6th approval
	// revokes the oldest).
	Strict bool
	// LoginPage makes the authorize endpoint show a login form (username
	// prefilled from login_hint) before it approves, as a browser sees
	// Salesforce; without it authorize approves at once.
	LoginPage bool
	// CasePageEmbedURL is shown in an iframe on a Case's record page
	// (/lightning/r/Case/{Id}/view), the stand-in for the org kit's
	// Visualforce page: {Field} placeholders are filled from the record,
	// e.g. http://127.0.0.1:8080/embed/cases/{Care_External_Key__c}.
	CasePageEmbedURL string
	// StateFile keeps the org: when the file exists the org is loaded from
	// it (a damaged file fails the start), and it is saved there about a
	// second after changes and on Close. See SaveState.
	StateFile string
	// NoPubSub serves no Pub/Sub API (and keeps no change events).
	NoPubSub bool
	// PubSubKeepalive is how often an idle subscription gets an empty
	// FetchResponse (default 270s, as Salesforce; tests use less).
	PubSubKeepalive time.Duration
}

func (o Options) withDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.DailyLimit <= 0 {
		o.DailyLimit = DefaultDailyLimit
	}
	if o.QueryBatchSize <= 0 {
		o.QueryBatchSize = DefaultQueryBatchSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Server is a running simulated org.
type Server struct {
	// LoginURL is the authorization server (OAuth endpoints and /__sim/),
	// e.g. http://127.0.0.1:43211.
	LoginURL string
	// InstanceURL is where the data API answers, as instance_url in token
	// responses.
	InstanceURL string

	opts    Options
	log     *slog.Logger
	schema  *schema
	store   *store
	auth    *authState
	limits  *limitState
	stats   *stats
	faults  *faultQueue
	cursors *cursorStore
	users   *userDir
	orgID   string
	adminID string
	// queueID is the Group id of the Support Queue.
	queueID string
	// strictSays counts the answers a strict org gives otherwise
	// (StrictDifferences).
	strictSays atomic.Int64
	started    time.Time
	// changes counts what the state file keeps; keeper saves it.
	changes changeCount
	keeper  *keeper
	// pubsub serves the Pub/Sub API (nil with NoPubSub).
	pubsub *pubsubServer

	loginSrv, instanceSrv *http.Server
	loginLn, instanceLn   net.Listener
	wg                    sync.WaitGroup
	closeOnce             sync.Once
}

// NewServer starts a simulated org with its login and instance listeners on
// two random ports of 127.0.0.1.
func NewServer(opts Options) (*Server, error) {
	return NewServerAt(opts, "127.0.0.1:0", "127.0.0.1:0")
}

// NewServerAt starts a simulated org listening on loginAddr (OAuth and the
// control surface) and instanceAddr (the data API). An empty instanceAddr
// picks a random port on the login address's host.
func NewServerAt(opts Options, loginAddr, instanceAddr string) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	if instanceAddr == "" {
		host, _, err := net.SplitHostPort(loginAddr)
		if err != nil {
			return nil, fmt.Errorf("sfsim: login address %q: %w", loginAddr, err)
		}
		instanceAddr = net.JoinHostPort(host, "0")
	}
	lc := net.ListenConfig{}
	loginLn, err := lc.Listen(context.Background(), "tcp", loginAddr)
	if err != nil {
		return nil, fmt.Errorf("sfsim: listen on %s: %w", loginAddr, err)
	}
	instanceLn, err := lc.Listen(context.Background(), "tcp", instanceAddr)
	if err != nil {
		loginLn.Close()
		return nil, fmt.Errorf("sfsim: listen on %s: %w", instanceAddr, err)
	}
	if err := s.startKeeping(); err != nil {
		loginLn.Close()
		instanceLn.Close()
		return nil, err
	}
	if err := s.startPubSub(loginLn.Addr().(*net.TCPAddr).IP.String()); err != nil {
		loginLn.Close()
		instanceLn.Close()
		_ = s.stopKeeping()
		return nil, err
	}
	s.serve(loginLn, instanceLn)
	return s, nil
}

func newServer(opts Options) (*Server, error) {
	kept, err := readState(opts.StateFile)
	if err != nil {
		return nil, err
	}
	opts = kept.keptApp(opts).withDefaults()
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		stats:   newStats(),
		faults:  &faultQueue{},
		started: opts.Now().UTC(),
	}
	s.orgID = fixedID("00D", 1)
	s.users = newUserDir(s.orgID)
	sch := defaultSchema()
	if opts.Schema != nil {
		if err := opts.Schema.apply(sch); err != nil {
			return nil, err
		}
	}
	s.schema = sch
	s.store = newStore(sch, opts.Now)
	s.store.changes = &s.changes
	s.limits = &limitState{max: opts.DailyLimit}
	s.auth = newAuthState()
	s.auth.changes = &s.changes
	s.auth.keys.made = s.changes.bump
	s.cursors = newCursorStore(opts.Now)
	if kept != nil {
		if err := s.restore(kept); err != nil {
			return nil, fmt.Errorf("sfsim: state file %s: %w", opts.StateFile, err)
		}
		return s, nil
	}
	if err := s.seed(); err != nil {
		return nil, err
	}
	return s, nil
}

// seed creates the admin user and the Case record types.
func (s *Server) seed() error {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	admin := s.insertUser(nil, DefaultUsername, "Sim", "Admin", DefaultUsername)
	s.adminID = admin.id
	// The admin owns and created itself.
	admin.vals["CreatedById"] = admin.id
	admin.vals["LastModifiedById"] = admin.id
	s.queueID = s.insertQueue(SupportQueueName)
	rtObj := s.schema.object("RecordType")
	cs := s.schema.object("Case")
	for i, info := range cs.RecordTypes {
		if info.Master {
			continue
		}
		now := st.stamp()
		id := st.ids.next(rtObj.KeyPrefix)
		st.insert(nil, &record{obj: rtObj, id: id, vals: map[string]any{
			"Id": id, "IsDeleted": false, "Name": info.Name, "DeveloperName": info.DeveloperName,
			"SobjectType": "Case", "IsActive": true, "Description": nil,
			"CreatedDate": now, "CreatedById": s.adminID, "LastModifiedDate": now,
			"LastModifiedById": s.adminID, "SystemModstamp": now,
		}})
		cs.RecordTypes[i].ID = id
	}
	return nil
}

// insertQueue adds a queue (a Group of type Queue) and returns its id.
// Callers hold the store's write lock.
func (s *Server) insertQueue(name string) string {
	st := s.store
	o := s.schema.object("Group")
	now := st.stamp()
	id := st.ids.next(o.KeyPrefix)
	vals := map[string]any{
		"Id": id, "IsDeleted": false, "Name": name, "DeveloperName": strings.ReplaceAll(name, " ", "_"),
		"Type": "Queue", "Email": nil, "CreatedDate": now, "CreatedById": s.adminID,
	}
	derive(o, vals, nil, now, s.adminID)
	st.insert(nil, &record{obj: o, id: id, vals: vals})
	return id
}

// insertUser adds a simulated user. Callers hold the store's write lock.
func (s *Server) insertUser(tx *txn, username, first, last, email string) *record {
	st := s.store
	o := s.schema.object("User")
	now := st.stamp()
	id := st.ids.next(o.KeyPrefix)
	alias := strings.ToLower(username)
	if i := strings.IndexByte(alias, '@'); i > 0 {
		alias = alias[:i]
	}
	nick := alias
	if len(alias) > 8 {
		alias = alias[:8]
	}
	creator := s.adminID
	if creator == "" {
		creator = id
	}
	vals := map[string]any{
		"Id": id, "IsDeleted": false, "Username": username, "FirstName": nilIfEmpty(first),
		"LastName": last, "Email": nilIfEmpty(email), "Alias": alias, "CommunityNickname": nick,
		"IsActive": true, "UserType": "Standard", "Title": nil,
		"CreatedDate": now, "CreatedById": creator,
	}
	derive(o, vals, nil, now, creator)
	r := &record{obj: o, id: id, vals: vals}
	st.insert(tx, r)
	return r
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) serve(loginLn, instanceLn net.Listener) {
	s.loginLn, s.instanceLn = loginLn, instanceLn
	s.LoginURL = "http://" + loginLn.Addr().String()
	s.InstanceURL = "http://" + instanceLn.Addr().String()
	newHTTP := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			// Latency faults may hold a response for minutes on purpose.
			WriteTimeout: 10 * time.Minute,
			IdleTimeout:  2 * time.Minute,
			ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	s.loginSrv = newHTTP(http.HandlerFunc(s.serveLogin))
	s.instanceSrv = newHTTP(http.HandlerFunc(s.serveInstance))
	for _, p := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{s.loginSrv, loginLn}, {s.instanceSrv, instanceLn}} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("sfsim: serve", "addr", p.ln.Addr().String(), "err", err)
			}
		}()
	}
}

// Close stops both listeners at once, dropping open connections, like
// httptest.Server.Close.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.loginSrv.Close()
		s.instanceSrv.Close()
		s.stopPubSub()
		s.wg.Wait()
		if err := s.stopKeeping(); err != nil {
			s.log.Error("sfsim: save state", "err", err)
		}
	})
}

// Shutdown stops accepting requests and waits for in-flight ones to finish
// or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range []*http.Server{s.loginSrv, s.instanceSrv} {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.closeOnce.Do(func() {
		s.stopPubSub() // subscriptions never finish on their own
		s.wg.Wait()
		if err := s.stopKeeping(); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// OrgID is the simulated organization's 18-character id.
func (s *Server) OrgID() string { return s.orgID }

// now reads the clock.
func (s *Server) now() time.Time { return s.opts.Now() }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serveLogin routes the login host: OAuth, identity, the version list and
// the control surface. Data calls sent here fail, as on login.salesforce.com.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/__sim/"):
		s.serveControl(w, r)
	case path == "/services/oauth2/authorize":
		s.handleAuthorize(w, r)
	case s.serveOAuth(w, r):
	case path == "/services/data" || path == "/services/data/":
		s.stats.count(opDescribe)
		s.handleVersions(w, r)
	default:
		writeErrors(w, http.StatusNotFound, []*Error{errNotFound()})
	}
}

// serveInstance routes the instance host: the data API, plus the OAuth
// endpoints a My Domain host also serves.
func (s *Server) serveInstance(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/services/data" || path == "/services/data/":
		s.stats.count(opDescribe)
		s.handleVersions(w, r)
	case strings.HasPrefix(path, "/services/data/"):
		s.serveData(w, r)
	case strings.HasPrefix(path, "/lightning/r/") && r.Method == http.MethodGet:
		if object, id, ok := recordPath(r.URL.EscapedPath()); ok {
			s.handleRecordPage(w, r, object, id)
		} else {
			s.writePage(w, http.StatusNotFound, "notfound", path)
		}
	case path == "/services/oauth2/authorize":
		s.handleAuthorize(w, r)
	case s.serveOAuth(w, r):
	default:
		writeErrors(w, http.StatusNotFound, []*Error{errNotFound()})
	}
}

// writeJSON answers v as JSON with Salesforce's content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErrors(w http.ResponseWriter, status int, errs []*Error) {
	writeJSON(w, status, errs)
}

// readBody reads a request body up to limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	return b, nil
}

var errBodyTooLarge = errors.New("request body too large")
