package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	// OrgID (salesforce.org_id, 15 or 18 characters) binds the pool to
	// that org from the start: tokens of another org are refused, and
	// stored ones are set aside (see Connect). "" = the org of the first
	// default token connected.
	OrgID string

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
	// pinnedOrg is Options.OrgID; otherOrg holds the stored entries of
	// another org, set aside at load, and orgProblem says so.
	pinnedOrg  string
	otherOrg   map[string]*record
	orgProblem string
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
	if err := checkPinnedOrg(opts.OrgID); err != nil {
		return nil, err
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
		pinnedOrg: opts.OrgID, otherOrg: map[string]*record{},
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
	p.dropReplacedOtherOrg(ctx)
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
	p.setAsideOtherOrgLocked()
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
