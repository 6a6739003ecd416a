package tokens

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
)

func TestChoiceRules(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	p := e.open(nil)
	ctx := context.Background()

	if _, err := p.ForUser(ctx, "alice"); !errors.Is(err, ErrNoHealthyToken) {
		t.Fatalf("ForUser with nothing connected: %v, want ErrNoHealthyToken", err)
	}
	if salesforce.Classify(ErrNoHealthyToken) != salesforce.Auth {
		t.Fatal("ErrNoHealthyToken does not classify as Auth")
	}
	if got := p.State(); got != NotConnected {
		t.Fatalf("State = %s, want not_connected", got)
	}

	// Only a personal token: everyone falls back on it.
	e.connect(p, KindUser, "bob", "bob@acme.test")
	e.connect(p, KindUser, "alice", "alice@acme.test")
	for _, who := range []string{"carol", ""} {
		c, err := p.ForUser(ctx, who)
		if err != nil || c.Info.UserID != "alice" {
			t.Fatalf("ForUser(%q) without default = %+v, %v; want alice's token (first by id)", who, c, err)
		}
	}
	e.connect(p, KindDefault, "sam", "sam@acme.test")

	tests := []struct {
		name     string
		pick     func() (*Conn, error)
		wantKind Kind
		wantUser string
		wantSF   string
	}{
		{"own token", func() (*Conn, error) { return p.ForUser(ctx, "alice") }, KindUser, "alice", "alice@acme.test"},
		{"other own token", func() (*Conn, error) { return p.ForUser(ctx, "bob") }, KindUser, "bob", "bob@acme.test"},
		{"no own token: default", func() (*Conn, error) { return p.ForUser(ctx, "carol") }, KindDefault, "sam", "sam@acme.test"},
		{"background: default", func() (*Conn, error) { return p.Background(ctx) }, KindDefault, "sam", "sam@acme.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.pick()
			if err != nil {
				t.Fatal(err)
			}
			if c.Info.Kind != tt.wantKind || c.Info.UserID != tt.wantUser || c.Info.SFUsername != tt.wantSF {
				t.Fatalf("chose %+v, want %s/%s/%s", c.Info, tt.wantKind, tt.wantUser, tt.wantSF)
			}
			// The client acts as that Salesforce user.
			ui, err := c.Client.UserInfo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ui.PreferredUsername != tt.wantSF || ui.UserID != c.Info.SFUserID || c.Info.OrgID == "" {
				t.Fatalf("client acts as %s (%s), info %+v", ui.PreferredUsername, ui.UserID, c.Info)
			}
		})
	}
	if got := p.State(); got != Connected {
		t.Fatalf("State = %s, want connected", got)
	}
	if v, _ := metric(t, e.reg, "carebridge_salesforce_connection_up", map[string]string{}); v != 1 {
		t.Fatalf("connection_up = %v, want 1", v)
	}
}

func TestRefreshOnExpiredSession(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "default")
	ctx := context.Background()
	firstRefresh := e.stored(defaultStoreKey).RefreshToken

	for round := 1; round <= 3; round++ {
		c := e.queryAfterExpiry(p)
		if n := e.tokenCalls(); n != 1 {
			t.Fatalf("round %d: %d token calls, want 1", round, n)
		}
		if err := query(ctx, c); err != nil || e.tokenCalls() != 1 {
			t.Fatalf("round %d: the next call refreshed again (%d token calls, err %v)", round, e.tokenCalls(), err)
		}
	}
	info, _ := p.Get(KindDefault, "")
	if !info.Healthy || info.Error != "" {
		t.Fatalf("after refreshes: %+v", info)
	}
	// Without rotation the refresh token stays; the access token is new and stored.
	st := e.stored(defaultStoreKey)
	if st.RefreshToken != firstRefresh {
		t.Fatal("refresh token changed without rotation")
	}
	if cur := p.secrets(); st.AccessToken == "" || !contains(cur, st.AccessToken) {
		t.Fatal("stored access token is not the current one")
	}
	if v, _ := metric(t, e.reg, "carebridge_salesforce_token_refresh_total", map[string]string{"result": "ok"}); v != 3 {
		t.Fatalf("refresh_total{ok} = %v, want 3", v)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestConcurrentRefreshIsSingleFlight(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{RotateRefreshTokens: true}, "default", "alice")
	ctx := context.Background()
	c, err := p.Background(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireSessions()
	e.sim.ResetStats()

	const workers = 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := make(chan struct{})
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Half reuse the conn, half choose on their own, as workers do.
			conn := c
			if i%2 == 1 {
				var err error
				if conn, err = p.Background(ctx); err != nil {
					errs <- err
					return
				}
			}
			errs <- query(ctx, conn)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	if n := e.tokenCalls(); n != 1 {
		t.Fatalf("%d token calls for %d concurrent calls on one expired token, want exactly 1", n, workers)
	}
	if n := e.sim.Stats().ByOperation["query"]; n < workers {
		t.Fatalf("only %d queries reached the org", n)
	}
}

func TestRotatedRefreshTokenSurvivesRestart(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{RotateRefreshTokens: true}, "alice")
	ctx := context.Background()
	first := e.stored("user/alice").RefreshToken

	seen := map[string]bool{first: true}
	for round := 1; round <= 2; round++ {
		e.sim.ExpireSessions()
		c, err := p.ForUser(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if err := query(ctx, c); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		rt := e.stored("user/alice").RefreshToken
		if seen[rt] {
			t.Fatalf("round %d: stored refresh token was not rotated", round)
		}
		seen[rt] = true
		// The previous one is void at the org: using it would fail.
	}
	// Keepalive rotates too and stores it.
	if err := p.Keepalive(ctx); err != nil {
		t.Fatal(err)
	}
	rt := e.stored("user/alice").RefreshToken
	if seen[rt] {
		t.Fatal("keepalive did not store the rotated refresh token")
	}

	// Restart: a new pool over the same store and key uses the newest one.
	p2 := e.open(nil)
	e.sim.ExpireSessions()
	e.sim.ResetStats()
	c, err := p2.ForUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := query(ctx, c); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if info, _ := p2.Get(KindUser, "alice"); !info.Healthy || e.tokenCalls() != 1 {
		t.Fatalf("after restart: %+v, %d token calls", info, e.tokenCalls())
	}

	// Reopening with a stale copy of the record (the old refresh token)
	// would fail: the org voided it. Check the org really rotates.
	auth, _ := e.oauth(e.sim.LoginURL)
	if _, err := auth.Refresh(ctx, first); !errors.Is(err, salesforce.ErrInvalidGrant) {
		t.Fatalf("old refresh token still works (%v): rotation not exercised", err)
	}
}

func TestRotatedTokenStoredBeforeUse(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{RotateRefreshTokens: true}, "alice")
	ctx := context.Background()
	c, _ := p.ForUser(ctx, "alice")
	storedBefore := e.stored("user/alice")

	e.store.failPut.Store(true)
	e.sim.ExpireSessions()
	e.sim.ResetStats()
	if err := query(ctx, c); !errors.Is(err, errDiskFull) {
		t.Fatalf("call while the store fails: %v, want the store error", err)
	}
	if e.tokenCalls() != 1 {
		t.Fatalf("%d token calls", e.tokenCalls())
	}
	// The new token is held but not handed out while it is not stored.
	if _, err := p.Session(KindUser, "alice").Token(ctx); !errors.Is(err, errDiskFull) {
		t.Fatalf("Token while unstored: %v, want the store error", err)
	}
	if got := e.stored("user/alice"); got.RefreshToken != storedBefore.RefreshToken {
		t.Fatal("store changed although Put failed")
	}

	e.store.failPut.Store(false)
	if err := query(ctx, c); err != nil {
		t.Fatalf("call once the store works: %v", err)
	}
	if e.tokenCalls() != 1 {
		t.Fatalf("the rotated token was lost: %d token calls", e.tokenCalls())
	}
	got := e.stored("user/alice")
	if got.RefreshToken == storedBefore.RefreshToken || !contains(p.secrets(), got.RefreshToken) {
		t.Fatal("the rotated refresh token was not stored")
	}
}

func TestRevokedDefaultFallsBackToUserToken(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "default", "alice")
	ctx := context.Background()
	healthy := func(kind, user string) float64 {
		t.Helper()
		v, ok := metric(t, e.reg, "carebridge_salesforce_token_healthy", map[string]string{"kind": kind, "user": user})
		if !ok {
			t.Fatalf("no token_healthy{kind=%s,user=%s}", kind, user)
		}
		return v
	}
	up := func() float64 {
		v, _ := metric(t, e.reg, "carebridge_salesforce_connection_up", map[string]string{})
		return v
	}
	if healthy("default", "sam") != 1 || healthy("user", "alice") != 1 || up() != 1 {
		t.Fatal("metrics before revoke")
	}

	if err := e.sim.RevokeUser("sam@acme.test"); err != nil {
		t.Fatal(err)
	}
	// The next background job finds out, marks the default expired and
	// goes on with alice's token.
	var used []string
	err := p.DoBackground(ctx, func(c *Conn) error {
		used = append(used, c.Info.Holder)
		return query(ctx, c)
	})
	if err != nil {
		t.Fatalf("DoBackground after the default was revoked: %v", err)
	}
	if len(used) != 2 || used[0] != "sam" || used[1] != "alice" {
		t.Fatalf("tokens tried: %v, want [sam alice]", used)
	}
	info, _ := p.Get(KindDefault, "")
	if info.Healthy || info.Error == "" {
		t.Fatalf("default after invalid_grant: %+v", info)
	}
	if !bytes.Contains([]byte(info.Error), []byte("invalid_grant")) {
		t.Fatalf("default error %q does not name invalid_grant", info.Error)
	}
	if stored := e.stored(defaultStoreKey); stored.Healthy {
		t.Fatal("the expired state is not stored")
	}
	for _, pick := range []func() (*Conn, error){
		func() (*Conn, error) { return p.Background(ctx) },
		func() (*Conn, error) { return p.ForUser(ctx, "carol") },
		func() (*Conn, error) { return p.ForUser(ctx, "sam") },
	} {
		c, err := pick()
		if err != nil || c.Info.UserID != "alice" {
			t.Fatalf("choice after revoke: %+v, %v; want alice", c, err)
		}
	}
	if healthy("default", "sam") != 0 || healthy("user", "alice") != 1 || up() != 1 || p.State() != Connected {
		t.Fatal("metrics or state after the default was revoked")
	}
	if v, _ := metric(t, e.reg, "carebridge_salesforce_token_refresh_total", map[string]string{"result": "error"}); v != 1 {
		t.Fatalf("refresh_total{error} = %v, want 1", v)
	}

	// Everything revoked: expired.
	if err := e.sim.RevokeUser("alice@acme.test"); err != nil {
		t.Fatal(err)
	}
	err = p.DoForUser(ctx, "alice", func(c *Conn) error { return query(ctx, c) })
	if !errors.Is(err, ErrNoHealthyToken) || salesforce.Classify(err) != salesforce.Auth {
		t.Fatalf("with every token revoked: %v, want ErrNoHealthyToken", err)
	}
	if p.State() != Expired || up() != 0 || healthy("user", "alice") != 0 {
		t.Fatalf("state %s, up %v", p.State(), up())
	}

	// A waiting worker wakes when a token is connected again.
	woke := make(chan error, 1)
	go func() { woke <- p.WaitHealthy(ctx) }()
	e.connect(p, KindUser, "alice", "alice@acme.test")
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	if p.State() != Connected || up() != 1 {
		t.Fatalf("after reconnect: %s", p.State())
	}
	c, err := p.Background(ctx)
	if err != nil || c.Info.UserID != "alice" {
		t.Fatalf("Background after reconnect: %+v %v", c, err)
	}
	if err := query(ctx, c); err != nil {
		t.Fatal(err)
	}
}

func TestTransientRefreshFailureKeepsTokenHealthy(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "alice")
	ctx := context.Background()
	e.wrap.refresh = func(context.Context, string) (salesforce.Token, error) {
		return salesforce.Token{}, &salesforce.OAuthError{Status: 503, Code: "server_unavailable", Description: "try later", Operation: "token"}
	}
	e.sim.ExpireSessions()
	c, _ := p.ForUser(ctx, "alice")
	err := query(ctx, c)
	if err == nil || salesforce.Classify(err) != salesforce.Retryable && salesforce.Classify(err) != salesforce.Auth {
		t.Fatalf("call with the token endpoint down: %v", err)
	}
	info, _ := p.Get(KindUser, "alice")
	if !info.Healthy || info.Error != "server_unavailable: try later" {
		t.Fatalf("after a 503 from the token endpoint: %+v", info)
	}
	e.wrap.refresh = nil
	if err := query(ctx, c); err != nil {
		t.Fatalf("after the token endpoint recovered: %v", err)
	}
	if info, _ := p.Get(KindUser, "alice"); !info.Healthy || info.Error != "" {
		t.Fatalf("error not cleared: %+v", info)
	}
}

func TestDisconnect(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "default", "alice")
	ctx := context.Background()
	alice := e.stored("user/alice")

	if err := p.DisconnectUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if e.stored("user/alice") != nil {
		t.Fatal("record still stored")
	}
	if _, ok := p.Get(KindUser, "alice"); ok {
		t.Fatal("entry still in memory")
	}
	if _, ok := metric(t, e.reg, "carebridge_salesforce_token_healthy", map[string]string{"kind": "user", "user": "alice"}); ok {
		t.Fatal("health series of a disconnected user remains")
	}
	auth, _ := e.oauth(e.sim.LoginURL)
	if _, err := auth.Refresh(ctx, alice.RefreshToken); !errors.Is(err, salesforce.ErrInvalidGrant) {
		t.Fatalf("refresh token not revoked at Salesforce: %v", err)
	}
	if err := p.DisconnectUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second disconnect: %v, want ErrNotFound", err)
	}
	// A session held by a worker stops handing out the token.
	if _, err := p.Session(KindUser, "alice").Token(ctx); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("session of a disconnected token: %v", err)
	}

	// Revoke failing at Salesforce does not keep the token.
	e.wrap.revoke = func(context.Context, string) error {
		return &salesforce.NetworkError{Operation: "revoke", Err: errors.New("connection refused")}
	}
	if err := p.DisconnectDefault(ctx); err != nil {
		t.Fatalf("disconnect with revoke failing: %v", err)
	}
	if e.stored(defaultStoreKey) != nil || p.State() != NotConnected {
		t.Fatalf("default still there; state %s", p.State())
	}
	if !bytes.Contains(e.logs.Bytes(), []byte("salesforce token revoke failed")) {
		t.Fatal("failed revoke not logged")
	}
}

func TestReconnectReplacesAndRevokesOld(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "default")
	ctx := context.Background()
	old := e.stored(defaultStoreKey)
	info := e.connect(p, KindDefault, "sue", "sue@acme.test")
	if info.Holder != "sue" || info.SFUsername != "sue@acme.test" {
		t.Fatalf("new default: %+v", info)
	}
	if _, ok := metric(t, e.reg, "carebridge_salesforce_token_healthy", map[string]string{"kind": "default", "user": "sam"}); ok {
		t.Fatal("series of the previous holder remains")
	}
	if v, ok := metric(t, e.reg, "carebridge_salesforce_token_healthy", map[string]string{"kind": "default", "user": "sue"}); !ok || v != 1 {
		t.Fatal("no series for the new holder")
	}
	auth, _ := e.oauth(e.sim.LoginURL)
	if _, err := auth.Refresh(ctx, old.RefreshToken); !errors.Is(err, salesforce.ErrInvalidGrant) {
		t.Fatalf("replaced refresh token still valid: %v", err)
	}
}

func TestMetricsPreCreated(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	e.open(nil)
	for _, tt := range []struct {
		name   string
		labels map[string]string
	}{
		{"carebridge_salesforce_token_refresh_total", map[string]string{"result": "ok"}},
		{"carebridge_salesforce_token_refresh_total", map[string]string{"result": "error"}},
		{"carebridge_salesforce_connection_up", map[string]string{}},
	} {
		t.Run(tt.name+tt.labels["result"], func(t *testing.T) {
			v, ok := metric(t, e.reg, tt.name, tt.labels)
			if !ok || v != 0 {
				t.Fatalf("%s%v = %v (present %v), want 0", tt.name, tt.labels, v, ok)
			}
		})
	}
	// One pool per registry: a second registration is an error, not a panic.
	if _, err := Open(context.Background(), Options{Store: e.store, Key: e.key, OAuth: e.oauth,
		LoginURL: e.sim.LoginURL, Registerer: e.reg}); err == nil {
		t.Fatal("second pool on one registry accepted")
	}
}

func TestKeepaliveRun(t *testing.T) {
	e := newEnv(t, sfsim.Options{RotateRefreshTokens: true})
	now := time.Date(2025, 7, 31, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := &manualTicker{c: make(chan time.Time)}
	var asked []time.Duration
	p := e.open(func(o *Options) {
		o.Now = clock
		o.KeepaliveInterval = 3 * time.Hour
		o.NewTicker = func(d time.Duration) Ticker { asked = append(asked, d); return tick }
	})
	e.connect(p, KindDefault, "sam", "sam@acme.test")
	e.connect(p, KindUser, "alice", "alice@acme.test")
	e.connect(p, KindUser, "bob", "bob@acme.test")
	// bob's token dies: keepalive must leave it alone afterwards.
	if err := e.sim.RevokeUser("bob@acme.test"); err != nil {
		t.Fatal(err)
	}
	if err := p.Keepalive(context.Background()); err == nil {
		t.Fatal("keepalive over a revoked token reported no failure")
	}
	if info, _ := p.Get(KindUser, "bob"); info.Healthy {
		t.Fatal("keepalive did not mark bob expired")
	}
	mu.Lock()
	now = now.Add(3 * time.Hour)
	mu.Unlock()
	e.sim.ResetStats()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	// Two healthy tokens: two refreshes per tick; bob untouched.
	tick.c <- now
	eventually(t, func() bool { return e.tokenCalls() == 2 })
	tick.c <- now
	eventually(t, func() bool { return e.tokenCalls() == 4 })
	tick.c <- now // accepted once the second keepalive has finished
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(asked) != 1 || asked[0] != 3*time.Hour {
		t.Fatalf("tickers asked: %v, want one of 3h", asked)
	}
	for _, k := range []string{defaultStoreKey, "user/alice"} {
		if got := e.stored(k); !got.LastRefreshedAt.Equal(now) || !got.Healthy {
			t.Fatalf("%s: last refreshed %v, want %v", k, got.LastRefreshedAt, now)
		}
	}
	if info, _ := p.Get(KindUser, "bob"); info.Healthy {
		t.Fatal("bob came back without a reconnect")
	}
}

func TestJWTDefaultToken(t *testing.T) {
	keyFile, pub := writeJWTKey(t)
	e := newEnv(t, sfsim.Options{JWTPublicKey: pub})
	e.jwt = JWTConfig{Username: sfsim.DefaultUsername, PrivateKeyFile: keyFile}
	ctx := context.Background()
	p := e.open(nil)

	info, ok := p.Get(KindDefault, "")
	if !ok || !info.Healthy || !info.JWT || info.Holder != sfsim.DefaultUsername ||
		info.SFUsername != sfsim.DefaultUsername || info.SFUserID == "" || info.UserID != "" {
		t.Fatalf("JWT default at startup: %+v", info)
	}
	if e.stored(defaultStoreKey) == nil {
		t.Fatal("JWT default token not stored")
	}
	// A 401 is answered by a new grant.
	e.queryAfterExpiry(p)
	if n := e.tokenCalls(); n != 1 {
		t.Fatalf("%d token calls, want 1 JWT grant", n)
	}
	// A restart reuses the stored token: no grant.
	e.sim.ResetStats()
	p2 := e.open(nil)
	if e.tokenCalls() != 0 {
		t.Fatal("restart granted again although a default token is stored")
	}
	if c, err := p2.Background(ctx); err != nil || query(ctx, c) != nil {
		t.Fatalf("after restart: %v", err)
	}
	// Keepalive re-grants.
	if err := p2.Keepalive(ctx); err != nil || e.tokenCalls() != 1 {
		t.Fatalf("keepalive: %v, %d token calls", err, e.tokenCalls())
	}
}

func TestJWTGrantFailingAtStartupIsRetried(t *testing.T) {
	keyFile, pub := writeJWTKey(t)
	e := newEnv(t, sfsim.Options{JWTPublicKey: pub})
	e.jwt = JWTConfig{Username: "integration@acme.test", PrivateKeyFile: keyFile}
	keep := &manualTicker{c: make(chan time.Time)}
	retry := &manualTicker{c: make(chan time.Time)}
	p := e.open(func(o *Options) {
		o.KeepaliveInterval = time.Hour
		o.RetryInterval = time.Minute
		o.NewTicker = func(d time.Duration) Ticker {
			if d == time.Minute {
				return retry
			}
			return keep
		}
	})
	info, ok := p.Get(KindDefault, "")
	if !ok || info.Healthy || info.Error != "invalid_grant: user hasn't approved this consumer" {
		t.Fatalf("default after a refused grant: %+v", info)
	}
	if p.State() != Expired {
		t.Fatalf("state %s, want expired", p.State())
	}
	if _, err := p.Background(context.Background()); !errors.Is(err, ErrNoHealthyToken) {
		t.Fatal(err)
	}
	// The admin approves the user; the retry ticker picks it up.
	if _, err := e.sim.CreateUser("integration@acme.test", "Int", "User", "integration@acme.test"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	retry.c <- time.Now()
	retry.c <- time.Now()
	cancel()
	<-done
	if info, _ := p.Get(KindDefault, ""); !info.Healthy || info.SFUsername != "integration@acme.test" {
		t.Fatalf("after retry: %+v", info)
	}
	if p.State() != Connected {
		t.Fatal("not connected after the retry")
	}
}

// TestNoSecretsInFileOrLogs runs connects, refreshes with rotation, a JWT
// grant and a disconnect, then reads the bbolt file and the logs for every
// token the org issued and the client secret.
func TestNoSecretsInFileOrLogs(t *testing.T) {
	keyFile, pub := writeJWTKey(t)
	e := newEnv(t, sfsim.Options{RotateRefreshTokens: true, JWTPublicKey: pub})
	ctx := context.Background()
	p := e.open(nil)
	seen := map[string]bool{}
	collect := func() {
		for _, s := range p.secrets() {
			seen[s] = true
		}
	}
	e.connect(p, KindDefault, "sam", "sam@acme.test")
	e.connect(p, KindUser, "alice", "alice@acme.test")
	collect()
	for i := 0; i < 2; i++ {
		e.sim.ExpireSessions()
		if err := p.DoBackground(ctx, func(c *Conn) error { return query(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		if err := p.Keepalive(ctx); err != nil {
			t.Fatal(err)
		}
		collect()
	}
	if err := p.DisconnectUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	// A JWT default after a restart with JWT on (the web default is kept).
	e.jwt = JWTConfig{Username: sfsim.DefaultUsername, PrivateKeyFile: keyFile}
	if err := p.DisconnectDefault(ctx); err != nil {
		t.Fatal(err)
	}
	p2 := e.open(nil)
	for _, s := range p2.secrets() {
		seen[s] = true
	}
	if len(seen) < 6 {
		t.Fatalf("only %d secrets collected", len(seen))
	}
	if err := e.bolt.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(e.dir, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	logs := e.logs.Bytes()
	if len(logs) == 0 {
		t.Fatal("no logs captured")
	}
	needles := []string{sfsim.DefaultClientSecret}
	for s := range seen {
		needles = append(needles, s)
	}
	simtest.NoSecrets(t, needles, map[string][]byte{"bbolt file": file, "logs": logs})
	// Sanity: the file does hold the (encrypted) default token record.
	if !bytes.Contains(file, []byte(Namespace)) {
		t.Error("the token namespace is not in the file: nothing was checked")
	}
}

// TestNoRenewalAfterCancel: a caller whose ctx is done starts no renewal
// (a started one outlives its caller), neither through the session nor
// through Keepalive at shutdown.
func TestNoRenewalAfterCancel(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "alice")
	stale, err := p.Session(KindUser, "alice").Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetStats()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The lock is free, so a bare select would take it half the time.
	for i := 0; i < 20; i++ {
		if _, err := p.Session(KindUser, "alice").Refresh(ctx, stale); !errors.Is(err, context.Canceled) {
			t.Fatalf("refresh with a cancelled ctx: %v, want context.Canceled", err)
		}
		if err := p.Keepalive(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("keepalive with a cancelled ctx: %v, want context.Canceled", err)
		}
	}
	if n := e.tokenCalls(); n != 0 {
		t.Fatalf("%d token calls with a cancelled ctx, want 0", n)
	}
}

// TestJWTConfigChanges: a stored JWT default token follows the config: a
// new username is granted anew at Open, a removed JWT flow expires it at
// its next renewal with a reason an operator can act on.
func TestJWTConfigChanges(t *testing.T) {
	keyFile, pub := writeJWTKey(t)
	e := newEnv(t, sfsim.Options{JWTPublicKey: pub})
	ctx := context.Background()
	e.jwt = JWTConfig{Username: sfsim.DefaultUsername, PrivateKeyFile: keyFile}
	if info, ok := e.open(nil).Get(KindDefault, ""); !ok || !info.Healthy || info.Holder != sfsim.DefaultUsername {
		t.Fatalf("JWT default: %+v", info)
	}

	t.Run("username changed", func(t *testing.T) {
		if _, err := e.sim.CreateUser("integration@acme.test", "Int", "User", "integration@acme.test"); err != nil {
			t.Fatal(err)
		}
		e.jwt.Username = "integration@acme.test"
		e.sim.ResetStats()
		p := e.open(nil)
		info, _ := p.Get(KindDefault, "")
		if !info.Healthy || info.Holder != "integration@acme.test" || info.SFUsername != "integration@acme.test" || e.tokenCalls() != 1 {
			t.Fatalf("after the username changed: %+v, %d token calls", info, e.tokenCalls())
		}
		if st := e.stored(defaultStoreKey); st.Holder != "integration@acme.test" {
			t.Fatalf("stored holder %q", st.Holder)
		}
	})
	t.Run("JWT flow removed", func(t *testing.T) {
		e.jwt = JWTConfig{}
		p := e.open(nil)
		e.sim.ExpireSessions()
		err := p.DoBackground(ctx, func(c *Conn) error { return query(ctx, c) })
		if !errors.Is(err, ErrNoHealthyToken) {
			t.Fatalf("call after the JWT flow was removed: %v, want ErrNoHealthyToken", err)
		}
		info, _ := p.Get(KindDefault, "")
		if info.Healthy || info.Error != "the JWT bearer flow is no longer configured" {
			t.Fatalf("default after the JWT flow was removed: %+v", info)
		}
	})
}

func TestSafeError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"oauth code and description", &salesforce.OAuthError{Status: 400, Code: "invalid_grant", Description: "expired access/refresh token"},
			"invalid_grant: expired access/refresh token"},
		{"oauth bare status", &salesforce.OAuthError{Status: 502}, "token endpoint answered 502"},
		{"network", fmt.Errorf("wrapped: %w", &salesforce.NetworkError{Operation: "token", Err: errors.New("dial tcp 10.0.0.1:443: refused")}),
			"network error: Salesforce did not answer"},
		{"no refresh token", fmt.Errorf("x: %w", errNoRefreshToken), "no refresh token (was the refresh_token scope granted?)"},
		{"JWT removed", errJWTNotConfigured, "the JWT bearer flow is no longer configured"},
		{"key file", fmt.Errorf("%w: %w", errJWTKeyFile, errors.New("open /secret/path.pem: permission denied")), "JWT private key file cannot be read"},
		{"anything else", errors.New("access_token=00Dxx!secret"), "token renewal failed"},
		{"long description cut", &salesforce.OAuthError{Code: "x", Description: strings.Repeat("d", 500)}, "x: " + strings.Repeat("d", maxErrorText-3) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safeError(tt.err); got != tt.want {
				t.Fatalf("safeError = %q, want %q", got, tt.want)
			}
		})
	}
}
