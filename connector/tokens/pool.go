package tokens

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-retry"
)

// Namespace is the key-value namespace the daemon should hand the pool
// (store.KV(tokens.Namespace)).
const Namespace = "salesforce_tokens"

// Errors of the pool. ErrNoHealthyToken and ErrTokenExpired wrap
// salesforce.ErrNoToken, so salesforce.Classify sorts them as Auth: wait
// for a reconnect, then retry.
var (
	// ErrNoHealthyToken: no token can serve the call (nothing connected, or
	// every token expired). The API answers 503
	// salesforce_connection_expired; background work waits (WaitHealthy).
	ErrNoHealthyToken = fmt.Errorf("tokens: no healthy Salesforce token (%w)", salesforce.ErrNoToken)
	// ErrTokenExpired: the token a session stands for was refused by
	// Salesforce (invalid_grant) or has been disconnected. Pick a token
	// again (ForUser, Background).
	ErrTokenExpired = fmt.Errorf("tokens: Salesforce token expired or disconnected (%w)", salesforce.ErrNoToken)
	// ErrNotFound: Disconnect found no such token.
	ErrNotFound = errors.New("tokens: no such token")
	// ErrInvalidArgument: a Grant the pool refuses.
	ErrInvalidArgument = errors.New("tokens: invalid argument")
	// ErrOrgMismatch: Connect refused a token of another Salesforce org
	// than the one the default token was first connected to (SPEC §11
	// "One org"). The token was revoked and not stored.
	ErrOrgMismatch = errors.New("tokens: the token belongs to another Salesforce org than the connected one")
)

// LostKeyError is the connection error while stored tokens do not open
// with the secret key (SPEC §12 "Lost key").
const LostKeyError = "secret key changed: reconnect"

// errJWTKeyFile marks a JWT private key file that cannot be read.
var errJWTKeyFile = errors.New("tokens: JWT private key file")

// Store is the durable key-value namespace the pool keeps its encrypted
// entries in. (*bolt.KV) implements it; Put must have committed to disk
// when it returns.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string) (map[string][]byte, error)
}

// JWTConfig configures the default token through the JWT bearer flow
// (salesforce.jwt). The key file is read at every grant, so a rotated key
// is picked up without a restart.
type JWTConfig struct {
	Username       string // the Salesforce username the default token acts as
	PrivateKeyFile string // PEM RSA private key
}

// Enabled reports whether the JWT bearer flow is configured.
func (j JWTConfig) Enabled() bool { return j.Username != "" && j.PrivateKeyFile != "" }

// Ticker is the part of *time.Ticker the keepalive loop uses; tests
// inject their own.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

type timeTicker struct{ t *time.Ticker }

func (t timeTicker) C() <-chan time.Time { return t.t.C }
func (t timeTicker) Stop()               { t.t.Stop() }

func newTimeTicker(d time.Duration) Ticker { return timeTicker{time.NewTicker(d)} }

// Options configures a Pool.
type Options struct {
	// Store keeps the entries, encrypted with Key (both required).
	Store Store
	Key   *Key
	// OAuth returns the OAuth flows of a login URL (required); see
	// NewOAuthSet.
	OAuth OAuthFunc
	// LoginURL is the configured login URL (config.LoginURL()): the JWT
	// bearer flow runs against it (required).
	LoginURL string
	// Environment is the configured environment (production, sandbox),
	// reported when no default token says otherwise.
	Environment string
	// JWT, when enabled, provides the default token (SPEC §2).
	JWT JWTConfig

	// HTTPClient carries the timeouts of the data clients the pool hands
	// out (nil: the salesforce package's default with a 60 s timeout).
	HTTPClient *http.Client
	// Client configures those data clients (API version, request metrics,
	// logger).
	Client salesforce.Options

	// KeepaliveInterval is how often every token is refreshed
	// (keepalive_interval; default 6h).
	KeepaliveInterval time.Duration
	// RetryInterval is how often a configured JWT default token that is
	// missing or expired is granted again (default 1m).
	RetryInterval time.Duration
	// RenewBackoff makes the backoff of one renewal (a new one per
	// renewal: a backoff keeps state). A renewal that met a network
	// error, a 5xx, a 429 or unknown_error is retried by it while the
	// token keeps its state. Default: 4 retries, exponential from 500ms
	// with 20% jitter.
	RenewBackoff func() retry.Backoff

	// Registerer receives the pool's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger; nil discards. Tokens are never logged.
	Logger *slog.Logger
	// Now is the clock (default time.Now); NewTicker makes the keepalive
	// and retry tickers (default time.NewTicker).
	Now       func() time.Time
	NewTicker func(time.Duration) Ticker
}

// Pool holds the Salesforce tokens of the daemon: one default token and
// personal tokens per Care user, stored encrypted, refreshed on demand and
// kept alive. It hands out ready clients by the choice rules of SPEC §6.
// All methods are safe for concurrent use.
type Pool struct {
	store       Store
	seal        *sealer
	oauth       OAuthFunc
	loginURL    string
	environment string
	jwt         JWTConfig
	httpClient  *http.Client
	clientOpts  salesforce.Options
	keepalive   time.Duration
	retry       time.Duration
	backoff     func() retry.Backoff
	now         func() time.Time
	newTicker   func(time.Duration) Ticker
	log         *slog.Logger
	m           *metrics

	mu      sync.Mutex
	entries map[string]*record            // by store key
	dirty   map[string]bool               // in memory, not yet stored
	clients map[string]*salesforce.Client // by store key, reused across reconnects
	locks   map[string]chan struct{}      // per store key: one writer at a time
	changed chan struct{}                 // closed and replaced on every change
	// orgID is the Salesforce org the daemon is bound to (SPEC §11 "One
	// org"), stored under orgStoreKey; "" until the first default connect.
	orgID string
	// lostKeys are stored entries that do not open with the key (SPEC §12
	// "Lost key"): kept on disk untouched until a reconnect or Forget.
	lostKeys map[string]bool
	// misconfigured is why Salesforce refused the connected app's
	// credentials (invalid_client); "" when it did not.
	misconfigured string
}

// orgStoreKey holds the bound org id, in clear: it is no secret.
const orgStoreKey = "org"

func defaultRenewBackoff() retry.Backoff {
	return retry.WithMaxRetries(4, retry.WithJitterPercent(20,
		retry.WithCappedDuration(10*time.Second, retry.NewExponential(500*time.Millisecond))))
}

// Open loads the stored entries and, when the JWT bearer flow is
// configured and there is no healthy default token, obtains one (a failed
// grant is logged and retried by Run; it does not fail Open).
//
// A stored entry that does not decrypt with the key (the key changed) is
// left on disk untouched and reported: the state reads not_connected with
// LostKeyError until a reconnect replaces it (or Forget drops it).
func Open(ctx context.Context, opts Options) (*Pool, error) {
	if opts.Store == nil || opts.OAuth == nil {
		return nil, fmt.Errorf("%w: Store and OAuth are required", ErrInvalidArgument)
	}
	if opts.LoginURL == "" {
		return nil, fmt.Errorf("%w: LoginURL is required", ErrInvalidArgument)
	}
	seal, err := newSealer(opts.Key)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		store: opts.Store, seal: seal, oauth: opts.OAuth,
		loginURL: strings.TrimRight(opts.LoginURL, "/"), environment: opts.Environment,
		jwt: opts.JWT, httpClient: opts.HTTPClient, clientOpts: opts.Client,
		keepalive: opts.KeepaliveInterval, retry: opts.RetryInterval, backoff: opts.RenewBackoff,
		now: opts.Now, newTicker: opts.NewTicker, log: opts.Logger, m: m,
		entries: map[string]*record{}, dirty: map[string]bool{},
		clients: map[string]*salesforce.Client{}, locks: map[string]chan struct{}{},
		changed: make(chan struct{}), lostKeys: map[string]bool{},
	}
	if p.backoff == nil {
		p.backoff = defaultRenewBackoff
	}
	if p.environment == "" {
		p.environment = "production"
	}
	if p.keepalive <= 0 {
		p.keepalive = 6 * time.Hour
	}
	if p.retry <= 0 {
		p.retry = time.Minute
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.newTicker == nil {
		p.newTicker = newTimeTicker
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	if p.jwt.Enabled() {
		p.mu.Lock()
		if rec := p.entries[defaultStoreKey]; rec != nil && rec.JWT && rec.Holder != p.jwt.Username {
			// salesforce.jwt.username changed: grant the default anew below.
			rec.Healthy, rec.Error = false, "the JWT username changed in the config"
			p.changedLocked(rec, rec)
		}
		p.mu.Unlock()
		if err := p.ensureJWT(ctx, false); err != nil {
			p.log.Warn("salesforce JWT default token not obtained; will retry", "error", safeError(err))
		}
	}
	return p, nil
}

func (p *Pool) load(ctx context.Context) error {
	all, err := p.store.List(ctx, "")
	if err != nil {
		return fmt.Errorf("tokens: load: %w", err)
	}
	p.mu.Lock()
	for key, sealed := range all {
		if key == orgStoreKey {
			p.orgID = string(sealed)
			continue
		}
		if key != defaultStoreKey && !strings.HasPrefix(key, userKeyPrefix) {
			p.log.Warn("salesforce token store: unknown key ignored", "key", key)
			continue
		}
		rec, err := p.seal.openRecord(key, sealed)
		if errors.Is(err, ErrUndecryptable) {
			p.lostKeys[key] = true
			continue
		}
		if err != nil {
			p.mu.Unlock()
			return fmt.Errorf("tokens: load %s: %w", key, err)
		}
		p.entries[key] = rec
		p.m.set(nil, rec)
	}
	// A default token connected before the org was stored binds its org.
	adopt := ""
	if d := p.entries[defaultStoreKey]; p.orgID == "" && d != nil && d.OrgID != "" {
		adopt, p.orgID = d.OrgID, d.OrgID
	}
	p.m.setUp(p.stateLocked())
	state, lost := p.stateLocked(), len(p.lostKeys)
	p.mu.Unlock()
	if lost > 0 {
		p.log.Error("salesforce tokens do not decrypt with the secret key; connect Salesforce again",
			"tokens", lost, "hint", "was "+EnvSecretKey+" or the secret.key file changed?")
	}
	if adopt != "" {
		if err := p.store.Put(ctx, orgStoreKey, []byte(adopt)); err != nil {
			p.log.Warn("salesforce org id not stored", "error", err)
		}
	}
	p.log.Info("salesforce tokens loaded", "count", len(p.entries), "state", string(state))
	return nil
}

// ---- single writer per entry ----

func (p *Pool) lockFor(key string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.locks[key]
	if !ok {
		l = make(chan struct{}, 1)
		p.locks[key] = l
	}
	return l
}

// acquire takes the writer lock of an entry: refreshes, connects and
// disconnects of one entry run one at a time. Waiting honours ctx, and a
// done ctx never gets the lock (a renewal, once started, outlives its
// caller's ctx; see refresh).
func (p *Pool) acquire(ctx context.Context, key string) (release func(), err error) {
	l := p.lockFor(key)
	select {
	case l <- struct{}{}:
		if err := ctx.Err(); err != nil { // select picked the lock although ctx is done
			<-l
			return nil, err
		}
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// current returns a copy of the entry under key, nil when absent.
func (p *Pool) current(key string) (*record, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok := p.entries[key]
	if !ok {
		return nil, false
	}
	cp := *rec
	return &cp, p.dirty[key]
}

// commit stores rec under key, then installs it in memory. When storing
// fails the record is still installed (it may hold the only copy of a
// rotated refresh token) but marked dirty: the sessions hand out no token
// of a dirty entry until a later flush has stored it. The caller holds the
// entry's writer lock.
func (p *Pool) commit(ctx context.Context, key string, rec *record) error {
	sealed, err := p.seal.sealRecord(key, rec)
	if err == nil {
		err = p.store.Put(ctx, key, sealed)
	}
	p.mu.Lock()
	old := p.entries[key]
	p.entries[key] = rec
	if err != nil {
		p.dirty[key] = true
	} else {
		delete(p.dirty, key)
		delete(p.lostKeys, key) // the entry that did not decrypt is overwritten
	}
	p.changedLocked(old, rec)
	p.mu.Unlock()
	if err != nil {
		p.log.Error("salesforce token not stored; it stays in memory until stored", "token", key, "error", err)
		return fmt.Errorf("tokens: store %s: %w", key, err)
	}
	return nil
}

// flush stores a dirty entry. The caller holds the entry's writer lock.
func (p *Pool) flush(ctx context.Context, key string) error {
	rec, dirty := p.current(key)
	if rec == nil || !dirty {
		return nil
	}
	return p.commit(ctx, key, rec)
}

// flushLocking is flush under the entry's writer lock, which it takes.
func (p *Pool) flushLocking(ctx context.Context, key string) error {
	release, err := p.acquire(ctx, key)
	if err != nil {
		return err
	}
	defer release()
	return p.flush(ctx, key)
}

// setMemory installs rec in memory only (a transient error, a placeholder).
func (p *Pool) setMemory(key string, rec *record) {
	p.mu.Lock()
	old := p.entries[key]
	p.entries[key] = rec
	p.changedLocked(old, rec)
	p.mu.Unlock()
}

// changedLocked updates the metrics and wakes WaitHealthy callers. The
// caller holds p.mu.
func (p *Pool) changedLocked(old, rec *record) {
	p.m.set(old, rec)
	p.m.setUp(p.stateLocked())
	close(p.changed)
	p.changed = make(chan struct{})
}

// ---- connecting and disconnecting ----

// Grant is a token obtained through the OAuth web-server flow, to be
// stored as the default token or a personal one.
type Grant struct {
	Kind Kind
	// UserID is the Care user: the owner of a personal token, the holder
	// of the default token (required).
	UserID string
	Token  salesforce.Token
	// LoginURL is the authorization server that issued the token (""
	// means Options.LoginURL); Environment is what the user connected
	// for ("" means Options.Environment).
	LoginURL    string
	Environment string
}

// Connect reads the identity of g.Token from Salesforce (userinfo), stores
// the token encrypted and makes it healthy. It replaces the entry it
// stands for (a supervisor connecting the default token becomes its
// holder); the refresh token of the replaced entry is revoked, best effort.
//
// The first default token binds the pool to its org. A token of another
// org, default or personal, is refused with ErrOrgMismatch. A token
// Connect does not keep (another org, an unreadable identity, a refused
// grant) is revoked at Salesforce at once: an org keeps only 5 approvals
// per user and connected app and silently drops the oldest.
//
// A successful connect also drops the entries the secret key no longer
// opens (SPEC §12 "Lost key") and clears a misconfigured state.
func (p *Pool) Connect(ctx context.Context, g Grant) (info Info, err error) {
	loginURL := strings.TrimRight(g.LoginURL, "/")
	if loginURL == "" {
		loginURL = p.loginURL
	}
	kept := false
	defer func() {
		if !kept {
			p.revokeSecret(ctx, loginURL, storeKey(g.Kind, g.UserID), "refused", g.Token)
		}
	}()
	if g.Kind != KindDefault && g.Kind != KindUser {
		return Info{}, fmt.Errorf("%w: kind %q", ErrInvalidArgument, g.Kind)
	}
	if g.UserID == "" || strings.ContainsAny(g.UserID, "\x00") {
		return Info{}, fmt.Errorf("%w: no Care user id", ErrInvalidArgument)
	}
	if g.Token.AccessToken == "" {
		return Info{}, fmt.Errorf("%w: no access token", ErrInvalidArgument)
	}
	env := g.Environment
	if env == "" {
		env = p.environment
	}
	auth, err := p.oauth(loginURL)
	if err != nil {
		return Info{}, err
	}
	ui, err := auth.Identity(ctx, g.Token)
	if err != nil {
		return Info{}, fmt.Errorf("tokens: read Salesforce identity: %w", err)
	}
	org := orgOf(ui, g.Token)
	key := storeKey(g.Kind, g.UserID)
	if err := p.bindOrg(ctx, g.Kind, org); err != nil {
		p.log.Warn("salesforce token of another org refused", "token", key, "org_id", org, "sf_user_id", ui.UserID)
		return Info{}, err
	}
	now := p.now()
	rec := &record{
		Kind: g.Kind, UserID: g.UserID, Holder: g.UserID,
		SFUserID: ui.UserID, SFUsername: ui.PreferredUsername, OrgID: org,
		Environment: env, LoginURL: loginURL, ConnectedAt: now,
	}
	rec.setToken(g.Token, now)
	release, err := p.acquire(ctx, key)
	if err != nil {
		return Info{}, err
	}
	kept = true // from here on the token is held, in memory at least
	old, _ := p.current(key)
	err = p.commit(ctx, key, rec)
	release()
	if err != nil {
		return Info{}, err
	}
	p.log.Info("salesforce token connected", "token", key, "sf_user_id", rec.SFUserID, "org_id", rec.OrgID)
	p.setMisconfigured("")
	p.dropLostKeys(ctx)
	if old != nil && old.RefreshToken != "" && old.RefreshToken != rec.RefreshToken {
		p.revoke(ctx, key, old)
	}
	return rec.info(), nil
}

// bindOrg checks org against the bound org. The first default token binds
// it (stored before the token is); a personal token connected before any
// default token binds nothing, but the first default must be of its org.
func (p *Pool) bindOrg(ctx context.Context, kind Kind, org string) error {
	release, err := p.acquire(ctx, orgStoreKey)
	if err != nil {
		return err
	}
	defer release()
	p.mu.Lock()
	bound := p.orgID
	if bound == "" && kind == KindDefault {
		// Personal tokens connected before any default token: the
		// default must be of their org.
		for _, rec := range p.entries {
			if rec.OrgID != "" && rec.OrgID != org {
				bound = rec.OrgID
			}
		}
	}
	p.mu.Unlock()
	switch {
	case bound != "" && org != bound:
		return fmt.Errorf("%w (token of org %q)", ErrOrgMismatch, org)
	case kind != KindDefault || org == "" || p.OrgID() != "":
		return nil
	}
	if err := p.store.Put(ctx, orgStoreKey, []byte(org)); err != nil {
		return fmt.Errorf("tokens: store the org id: %w", err)
	}
	p.mu.Lock()
	p.orgID = org
	p.mu.Unlock()
	p.log.Info("salesforce org bound", "org_id", org)
	return nil
}

// orgOf is the org of a token: its identity's, else its identity URL's.
func orgOf(ui salesforce.UserInfo, tok salesforce.Token) string {
	if ui.OrganizationID != "" {
		return ui.OrganizationID
	}
	return tok.OrgID()
}

// OrgID is the Salesforce org the pool is bound to, "" before the first
// default connect.
func (p *Pool) OrgID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.orgID
}

// dropLostKeys deletes the stored entries the key does not open, once a
// reconnect has replaced them.
func (p *Pool) dropLostKeys(ctx context.Context) {
	p.mu.Lock()
	keys := make([]string, 0, len(p.lostKeys))
	for k := range p.lostKeys {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	for _, k := range keys {
		if err := p.store.Delete(ctx, k); err != nil {
			p.log.Warn("salesforce token that does not decrypt not deleted", "token", k, "error", err)
			continue
		}
		p.mu.Lock()
		delete(p.lostKeys, k)
		p.m.setUp(p.stateLocked())
		p.mu.Unlock()
	}
}

// setMisconfigured notes (or with "" clears) that Salesforce refused the
// connected app's credentials.
func (p *Pool) setMisconfigured(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.misconfigured == reason {
		return
	}
	p.misconfigured = reason
	p.m.setUp(p.stateLocked())
	close(p.changed)
	p.changed = make(chan struct{})
}

// DisconnectUser revokes the personal token of a Care user at Salesforce
// (best effort, logged) and deletes it. ErrNotFound when there is none.
// Permissions are the caller's business (see connector/sfapi).
func (p *Pool) DisconnectUser(ctx context.Context, userID string) error {
	return p.disconnect(ctx, storeKey(KindUser, userID))
}

// DisconnectDefault revokes the default token (best effort) and deletes
// it. With the JWT bearer flow configured, Run grants a new one at its
// next retry.
func (p *Pool) DisconnectDefault(ctx context.Context) error {
	return p.disconnect(ctx, defaultStoreKey)
}

func (p *Pool) disconnect(ctx context.Context, key string) error {
	release, err := p.acquire(ctx, key)
	if err != nil {
		return err
	}
	defer release()
	rec, _ := p.current(key)
	if rec == nil {
		return ErrNotFound
	}
	p.revoke(ctx, key, rec)
	if err := p.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("tokens: delete %s: %w", key, err)
	}
	p.mu.Lock()
	old := p.entries[key]
	delete(p.entries, key)
	delete(p.dirty, key)
	p.changedLocked(old, nil)
	p.mu.Unlock()
	p.log.Info("salesforce token disconnected", "token", key, "sf_user_id", rec.SFUserID)
	return nil
}

// Forget revokes every token at Salesforce (best effort) and deletes
// them all, the entries the key no longer opens and the bound org id too
// (SPEC §12 "Forget"). With the JWT bearer flow configured, Run grants a
// new default token at its next retry.
func (p *Pool) Forget(ctx context.Context) error {
	p.mu.Lock()
	keys := p.sortedKeysLocked()
	for k := range p.lostKeys {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	var errs []error
	for _, key := range keys {
		if err := p.disconnect(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	p.dropLostKeys(ctx)
	release, err := p.acquire(ctx, orgStoreKey)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer release()
	if err := p.store.Delete(ctx, orgStoreKey); err != nil {
		return errors.Join(append(errs, fmt.Errorf("tokens: delete the org id: %w", err))...)
	}
	p.mu.Lock()
	p.orgID = ""
	p.mu.Unlock()
	p.setMisconfigured("")
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.log.Info("salesforce connection forgotten", "tokens", len(keys))
	return nil
}

// revoke revokes rec's refresh token (or its access token when it has
// none) at Salesforce. Failures are logged, never returned.
func (p *Pool) revoke(ctx context.Context, key string, rec *record) {
	p.revokeSecret(ctx, p.loginURLOf(rec), key, "revoked", rec.token())
}

// revokeSecret revokes tok's refresh token, else its access token, at the
// login URL that issued it, best effort: failures are logged. It runs
// even when ctx is done (bounded by revokeTimeout): a token left alive
// takes one of the user's 5 approvals. what says why, for the log.
func (p *Pool) revokeSecret(ctx context.Context, loginURL, key, what string, tok salesforce.Token) {
	secret := tok.RefreshToken
	if secret == "" {
		secret = tok.AccessToken
	}
	if secret == "" {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	auth, err := p.oauth(loginURL)
	if err == nil {
		err = auth.Revoke(rctx, secret)
	}
	if err != nil {
		p.log.Warn("salesforce token revoke failed", "token", key, "error", safeError(err))
		return
	}
	p.log.Info("salesforce token revoked", "token", key, "why", what)
}

// revokeTimeout bounds one revoke call.
const revokeTimeout = 30 * time.Second

func (p *Pool) loginURLOf(rec *record) string {
	if rec.LoginURL != "" {
		return rec.LoginURL
	}
	return p.loginURL
}

// ---- the JWT default token ----

func (p *Pool) readJWTKey() ([]byte, error) {
	f, err := os.Open(p.jwt.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJWTKeyFile, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJWTKeyFile, err)
	}
	return b, nil
}

// ensureJWT obtains the default token through the JWT bearer flow when
// it is configured and the default token is missing or expired. counted
// says whether the attempt counts as a refresh in the metrics.
func (p *Pool) ensureJWT(ctx context.Context, counted bool) error {
	if !p.jwt.Enabled() {
		return nil
	}
	release, err := p.acquire(ctx, defaultStoreKey)
	if err != nil {
		return err
	}
	defer release()
	old, dirty := p.current(defaultStoreKey)
	if old != nil && old.Healthy {
		if dirty {
			return p.flush(ctx, defaultStoreKey)
		}
		return nil
	}
	auth, err := p.oauth(p.loginURL)
	var tok salesforce.Token
	if err == nil {
		tok, err = retryTransient(ctx, p, defaultStoreKey, func(ctx context.Context) (salesforce.Token, error) {
			return p.jwtGrant(ctx, auth)
		})
	}
	var ui salesforce.UserInfo
	if err == nil {
		ui, err = auth.Identity(ctx, tok)
	}
	if err == nil {
		if err = p.bindOrg(ctx, KindDefault, orgOf(ui, tok)); err != nil {
			p.revokeSecret(ctx, p.loginURL, defaultStoreKey, "refused", tok)
		}
	}
	if counted {
		p.m.refreshed(err)
	}
	if err != nil {
		rec := old // a copy: mark it, keep what it knows
		if rec == nil {
			rec = &record{Kind: KindDefault, Holder: p.jwt.Username, JWT: true,
				SFUsername: p.jwt.Username, Environment: p.environment, LoginURL: p.loginURL}
		}
		rec.Healthy = false
		rec.Error = safeError(err)
		p.setMemory(defaultStoreKey, rec)
		if clientRefused(err) {
			p.setMisconfigured("Salesforce refused the connected app's credentials (" + rec.Error +
				"): check salesforce.client_id")
		}
		return fmt.Errorf("tokens: JWT bearer grant: %w", err)
	}
	now := p.now()
	rec := &record{Kind: KindDefault, Holder: p.jwt.Username, JWT: true,
		SFUserID: ui.UserID, SFUsername: ui.PreferredUsername, OrgID: orgOf(ui, tok),
		Environment: p.environment, LoginURL: p.loginURL, ConnectedAt: now}
	if rec.SFUsername == "" {
		rec.SFUsername = p.jwt.Username
	}
	rec.setToken(tok, now)
	if err := p.commit(ctx, defaultStoreKey, rec); err != nil {
		return err
	}
	p.setMisconfigured("")
	p.log.Info("salesforce default token obtained", "flow", "jwt-bearer", "sf_user_id", rec.SFUserID)
	return nil
}

func (p *Pool) jwtGrant(ctx context.Context, auth Authorizer) (salesforce.Token, error) {
	pem, err := p.readJWTKey()
	if err != nil {
		return salesforce.Token{}, err
	}
	return auth.JWTBearer(ctx, p.jwt.Username, pem)
}

// ---- choosing a token ----

// Conn is a chosen token: a ready client whose session refreshes that
// token on a 401, and a description of the token.
//
// The client stays bound to the entry (the default token, or that user's
// personal token), also across a reconnect of it. When a call fails with an
// error salesforce.Classify sorts as Auth (the token expired meanwhile),
// choose again: the pool has marked the token expired and picks the next
// one.
type Conn struct {
	Client *salesforce.Client
	Info   Info
	key    string
}

// ForUser chooses the token for work done on behalf of a Care user (an
// agent creating a case, lead or contact, a contact search): the user's own
// healthy token, else the default token, else any healthy personal token
// (by user id order). ErrNoHealthyToken when no token is healthy.
func (p *Pool) ForUser(ctx context.Context, userID string) (*Conn, error) {
	return p.choose(storeKey(KindUser, userID))
}

// Background chooses the token for background work (message pushes,
// status updates, polling): the default token, else any healthy personal
// token. ErrNoHealthyToken when no token is healthy.
func (p *Pool) Background(ctx context.Context) (*Conn, error) {
	return p.choose("")
}

// DoForUser runs fn with the token ForUser chooses. When fn fails with an
// error salesforce.Classify sorts as Auth (the token expired meanwhile; the
// refused call was not carried out), fn runs again with the next choice,
// once per token. fn must therefore be safe to run again from the start: a
// single call, or upserts by external id. With no healthy token left the
// error matches ErrNoHealthyToken.
func (p *Pool) DoForUser(ctx context.Context, userID string, fn func(*Conn) error) error {
	return p.do(ctx, storeKey(KindUser, userID), fn)
}

// DoBackground is DoForUser with the Background choice.
func (p *Pool) DoBackground(ctx context.Context, fn func(*Conn) error) error {
	return p.do(ctx, "", fn)
}

func (p *Pool) do(ctx context.Context, first string, fn func(*Conn) error) error {
	tried := map[string]bool{}
	var last error
	for {
		conn, err := p.choose(first)
		if err != nil {
			if last != nil {
				return fmt.Errorf("%w; last failure: %w", err, last)
			}
			return err
		}
		if tried[conn.key] {
			return last
		}
		tried[conn.key] = true
		err = fn(conn)
		if err == nil || salesforce.Classify(err) != salesforce.Auth || ctx.Err() != nil {
			return err
		}
		p.log.Info("salesforce call refused for its token; trying the next token", "token", conn.key)
		last = err
	}
}

func (p *Pool) choose(first string) (*Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	order := make([]string, 0, len(p.entries)+2)
	if first != "" {
		order = append(order, first)
	}
	order = append(order, defaultStoreKey)
	for _, k := range p.sortedKeysLocked() {
		if strings.HasPrefix(k, userKeyPrefix) {
			order = append(order, k)
		}
	}
	for _, k := range order {
		rec, ok := p.entries[k]
		if ok && rec.Healthy && rec.AccessToken != "" {
			return &Conn{Client: p.clientLocked(k), Info: rec.info(), key: k}, nil
		}
	}
	return nil, ErrNoHealthyToken
}

func (p *Pool) sortedKeysLocked() []string {
	keys := make([]string, 0, len(p.entries))
	for k := range p.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (p *Pool) clientLocked(key string) *salesforce.Client {
	c, ok := p.clients[key]
	if !ok {
		c = salesforce.New(p.httpClient, &session{p: p, key: key}, p.clientOpts)
		p.clients[key] = c
	}
	return c
}

// Session returns the salesforce.Session of the default token or of a
// user's personal token (userID ignored for the default), whether or not
// it exists yet: it answers ErrTokenExpired while the entry is missing or
// expired.
func (p *Pool) Session(kind Kind, userID string) salesforce.Session {
	return &session{p: p, key: storeKey(kind, userID)}
}

// ---- state ----

// State is not_connected when there is no token, misconfigured while
// Salesforce refuses the connected app's credentials, connected while any
// token is healthy, expired when tokens exist but none is healthy.
func (p *Pool) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked()
}

func (p *Pool) stateLocked() State {
	if len(p.entries) == 0 {
		return NotConnected
	}
	if p.misconfigured != "" {
		return Misconfigured
	}
	for _, rec := range p.entries {
		if rec.Healthy {
			return Connected
		}
	}
	return Expired
}

// Status is a snapshot of the pool for the connection API.
type Status struct {
	State State
	// Environment and InstanceURL are the default token's, else those of
	// the first healthy personal token, else the configured environment
	// and "".
	Environment string
	InstanceURL string
	Default     *Info  // nil when there is no default token
	Users       []Info // personal tokens by user id
	// OrgID is the bound Salesforce org, "" before the first default
	// connect.
	OrgID string
	// Error says why the state is misconfigured, or LostKeyError while
	// stored tokens do not open with the key; "" otherwise. Safe to show.
	Error string
}

// Status returns a snapshot of every token without secrets.
func (p *Pool) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{State: p.stateLocked(), Environment: p.environment, Users: []Info{}, OrgID: p.orgID}
	switch {
	case p.misconfigured != "":
		st.Error = p.misconfigured
	case len(p.lostKeys) > 0:
		st.Error = LostKeyError
	}
	var pick *record
	for _, k := range p.sortedKeysLocked() {
		rec := p.entries[k]
		info := rec.info()
		if k == defaultStoreKey {
			st.Default = &info
			pick = rec
			continue
		}
		st.Users = append(st.Users, info)
		if pick == nil && rec.Healthy {
			pick = rec
		}
	}
	if pick != nil {
		if pick.Environment != "" {
			st.Environment = pick.Environment
		}
		st.InstanceURL = pick.InstanceURL
	}
	return st
}

// Get describes the default token (kind default) or a user's personal
// token; ok is false when there is none.
func (p *Pool) Get(kind Kind, userID string) (Info, bool) {
	rec, _ := p.current(storeKey(kind, userID))
	if rec == nil {
		return Info{}, false
	}
	return rec.info(), true
}

// WaitHealthy returns nil once some token is healthy (at once when one
// is), or ctx's error. The outbox parks on it after an Auth error.
func (p *Pool) WaitHealthy(ctx context.Context) error {
	for {
		p.mu.Lock()
		st, ch := p.stateLocked(), p.changed
		p.mu.Unlock()
		if st == Connected {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// OAuth returns the OAuth flows of a login URL ("" = the configured one),
// for the connect handlers (authorize URL, code exchange).
func (p *Pool) OAuth(loginURL string) (Authorizer, error) {
	if loginURL == "" {
		loginURL = p.loginURL
	}
	return p.oauth(strings.TrimRight(loginURL, "/"))
}
