package tokens

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
)

// TestOneOrg: the first default connect binds the org; a token of another
// org, personal or default, is refused, revoked at once and not stored.
func TestOneOrg(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	p := e.open(nil)
	e.otherOrgUser("eve@other.test")
	e.otherOrgUser("mal@other.test")

	e.connect(p, KindDefault, "sam", "sam@acme.test")
	if got := p.OrgID(); got != e.sim.OrgID() {
		t.Fatalf("bound org %q, want %q", got, e.sim.OrgID())
	}
	tests := []struct {
		name, user, sfUser string
		kind               Kind
	}{
		{"personal token of another org", "alice", "eve@other.test", KindUser},
		{"default token of another org", "sue", "mal@other.test", KindDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.connectRefused(t, p, tt.kind, tt.user, tt.sfUser)
			if e.stored("user/alice") != nil {
				t.Fatal("refused personal token stored")
			}
			if d, _ := p.Get(KindDefault, ""); d.Holder != "sam" || !d.Healthy {
				t.Fatalf("default token after a refused connect: %+v", d)
			}
		})
	}
	// The binding survives a restart.
	if p2 := e.open(nil); p2.OrgID() != e.sim.OrgID() || p2.Status().OrgID != e.sim.OrgID() {
		t.Fatalf("after restart: org %q", p2.OrgID())
	}
}

// TestFirstDefaultOfThePersonalTokensOrg: personal tokens connected
// before any default token bind nothing, but the default must be of their
// org.
func TestFirstDefaultOfThePersonalTokensOrg(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "alice")
	ctx := context.Background()
	if p.OrgID() != "" {
		t.Fatalf("a personal token bound org %q", p.OrgID())
	}
	e.otherOrgUser("eve@other.test")
	if _, err := p.Connect(ctx, Grant{Kind: KindDefault, UserID: "sam", Token: e.authorize("eve@other.test")}); !errors.Is(err, ErrOrgMismatch) {
		t.Fatalf("default of another org than the personal tokens': %v", err)
	}
	if p.OrgID() != "" {
		t.Fatalf("a refused default bound org %q", p.OrgID())
	}
	e.connect(p, KindDefault, "sam", "sam@acme.test")
	if p.OrgID() != e.sim.OrgID() {
		t.Fatalf("org %q after the default of the home org", p.OrgID())
	}
}

// TestOrgAdoptedFromStoredDefault: a default token stored before the org
// was kept on its own binds its org at the next start.
func TestOrgAdoptedFromStoredDefault(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	ctx := context.Background()
	e.connect(e.open(nil), KindDefault, "sam", "sam@acme.test")
	if err := e.store.Delete(ctx, orgStoreKey); err != nil {
		t.Fatal(err)
	}
	p := e.open(nil)
	if p.OrgID() != e.sim.OrgID() {
		t.Fatalf("org %q not adopted", p.OrgID())
	}
	e.otherOrgUser("eve@other.test")
	if _, err := p.Connect(ctx, Grant{Kind: KindUser, UserID: "alice", Token: e.authorize("eve@other.test")}); !errors.Is(err, ErrOrgMismatch) {
		t.Fatalf("Connect: %v, want ErrOrgMismatch", err)
	}
}

// TestTransientRenewalIsRetried: a 5xx storm or unknown_error on the
// token endpoint is retried with backoff; the token never reads expired
// and works afterwards.
func TestTransientRenewalIsRetried(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "alice")
	ctx := context.Background()
	c, _ := p.ForUser(ctx, "alice")
	storm := func(n, status int) {
		t.Helper()
		if err := e.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultServerError, Count: n, Status: status, Target: sfsim.FaultTargetToken}); err != nil {
			t.Fatal(err)
		}
		e.sim.ExpireSessions()
	}

	// Shorter than the backoff: the call succeeds.
	storm(2, 500) // unknown_error
	if err := query(ctx, c); err != nil {
		t.Fatalf("call through 2 failed renewals: %v", err)
	}
	storm(3, 503)
	if err := query(ctx, c); err != nil {
		t.Fatalf("call through 3 failed renewals: %v", err)
	}

	// Longer than the backoff: the call fails retryable, the token keeps
	// its state, and works once the endpoint answers again.
	storm(50, 502)
	err := query(ctx, c)
	if err == nil || salesforce.Classify(err) != salesforce.Retryable {
		t.Fatalf("call during a storm: %v (%v), want a retryable error", err, salesforce.Classify(err))
	}
	if info, _ := p.Get(KindUser, "alice"); !info.Healthy || p.State() != Connected {
		t.Fatalf("during a storm: state %s, token %+v", p.State(), info)
	}
	e.sim.ClearFaults()
	if err := query(ctx, c); err != nil {
		t.Fatalf("after the storm: %v", err)
	}

	// unknown_error under a 400 and a network error are transient too.
	calls := 0
	e.wrap.refresh = func(ctx context.Context, rt string) (salesforce.Token, error) {
		calls++
		switch calls {
		case 1:
			return salesforce.Token{}, &salesforce.OAuthError{Status: 400, Code: "unknown_error", Description: "retry your request", Operation: "token"}
		case 2:
			return salesforce.Token{}, &salesforce.NetworkError{Operation: "token", Err: errors.New("connection reset")}
		}
		return e.wrap.Authorizer.Refresh(ctx, rt)
	}
	e.sim.ExpireSessions()
	if err := query(ctx, c); err != nil || calls != 3 {
		t.Fatalf("after unknown_error and a network error: %v (%d renewals)", err, calls)
	}
}

// TestInvalidClientIsMisconfigured: Salesforce refusing the connected
// app's credentials makes the connection misconfigured with the reason,
// never connected, and leaves the tokens as they are.
func TestInvalidClientIsMisconfigured(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	ctx := context.Background()
	e.connect(e.open(nil), KindUser, "alice", "alice@acme.test")
	wrong := NewOAuthSet(salesforce.OAuthConfig{ClientID: sfsim.DefaultClientID, ClientSecret: "not-the-secret",
		RedirectURL: testRedirect, HTTPClient: e.http, Logger: e.log})
	p := e.open(func(o *Options) { o.OAuth = wrong })
	e.sim.ExpireSessions()
	c, _ := p.ForUser(ctx, "alice")
	if err := query(ctx, c); err == nil {
		t.Fatal("call succeeded with a refused client secret")
	}
	st := p.Status()
	if st.State != Misconfigured || !strings.Contains(st.Error, "invalid_client") {
		t.Fatalf("state %s, error %q; want misconfigured naming invalid_client", st.State, st.Error)
	}
	if info, _ := p.Get(KindUser, "alice"); !info.Healthy {
		t.Fatalf("token marked expired by invalid_client: %+v", info)
	}
	if v, _ := metric(t, e.reg, "carebridge_salesforce_connection_up", nil); v != 0 {
		t.Fatal("connection_up is 1 while misconfigured")
	}
	if strings.Contains(string(e.logs.Bytes()), "not-the-secret") {
		t.Fatal("client secret logged")
	}
	// The right credentials again: connected.
	p = e.open(nil)
	if err := query(ctx, mustForUser(t, p, "alice")); err != nil || p.State() != Connected {
		t.Fatalf("with the right secret: %v, state %s", err, p.State())
	}
}

func mustForUser(t *testing.T, p *Pool, user string) *Conn {
	t.Helper()
	c, err := p.ForUser(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLostKey: with another key the pool still opens, reads
// not_connected with LostKeyError and leaves the stored records alone; a
// reconnect replaces them.
func TestLostKey(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "default")
	ctx := context.Background()
	e.connect(p, KindUser, "bob", "bob@acme.test")
	oldDefault, _ := e.store.Get(ctx, defaultStoreKey)

	other, _ := GenerateKey()
	p, err := e.openErr(func(o *Options) { o.Key = other })
	if err != nil {
		t.Fatalf("Open with another key: %v", err)
	}
	st := p.Status()
	if st.State != NotConnected || st.Error != LostKeyError || st.Default != nil || len(st.Users) != 0 {
		t.Fatalf("status with another key: %+v", st)
	}
	if _, err := p.ForUser(ctx, "bob"); !errors.Is(err, ErrNoHealthyToken) {
		t.Fatalf("ForUser: %v", err)
	}
	if b, _ := e.store.Get(ctx, defaultStoreKey); !bytes.Equal(b, oldDefault) {
		t.Fatal("the undecryptable record was changed at open")
	}
	if !bytes.Contains(e.logs.Bytes(), []byte("do not decrypt with the secret key")) {
		t.Fatal("lost key not logged")
	}

	// A reconnect replaces the tokens: stored with the new key, the
	// records the key does not open are gone.
	e.key = other
	e.connect(p, KindDefault, "sam", "sam@acme.test")
	if st := p.Status(); st.State != Connected || st.Error != "" {
		t.Fatalf("after reconnect: %+v", st)
	}
	if e.stored(defaultStoreKey) == nil {
		t.Fatal("new default not stored")
	}
	if b, _ := e.store.Get(ctx, "user/bob"); b != nil {
		t.Fatal("bob's undecryptable record kept after the reconnect")
	}
	if p2 := e.open(nil); p2.Status().Error != "" || p2.State() != Connected {
		t.Fatalf("after restart: %+v", p2.Status())
	}

	// A record copied under another entry's key does not open either.
	b, _ := e.store.Get(ctx, defaultStoreKey)
	if err := e.store.Put(ctx, "user/mallory", b); err != nil {
		t.Fatal(err)
	}
	p3 := e.open(nil)
	if _, ok := p3.Get(KindUser, "mallory"); ok || p3.Status().Error != LostKeyError {
		t.Fatalf("swapped record: %+v", p3.Status())
	}
}

// TestForget: every token revoked at the org and deleted, the org id too.
func TestForget(t *testing.T) {
	e, p := openConnected(t, sfsim.Options{}, "default", "alice")
	ctx := context.Background()
	if err := p.Forget(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"sam@acme.test", "alice@acme.test"} {
		if n := e.liveRefreshTokens(u); n != 0 {
			t.Errorf("%s keeps %d refresh tokens at the org", u, n)
		}
	}
	all, err := e.store.List(ctx, "")
	if err != nil || len(all) != 0 {
		t.Fatalf("store after Forget: %d keys (%v)", len(all), err)
	}
	if p.State() != NotConnected || p.OrgID() != "" {
		t.Fatalf("after Forget: %s, org %q", p.State(), p.OrgID())
	}
	// Another org may be connected now.
	e.otherOrgUser("eve@other.test")
	if info := e.connect(p, KindDefault, "sam", "eve@other.test"); info.OrgID != e.sim.OtherOrgID() || p.OrgID() != e.sim.OtherOrgID() {
		t.Fatalf("connect after Forget: %+v", info)
	}
}

// TestReplacedTokenLeavesOneApproval: reconnecting the same user keeps
// one live refresh token at the org (5 approvals are kept per user).
func TestReplacedTokenLeavesOneApproval(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	p := e.open(nil)
	for i := 0; i < 3; i++ {
		e.connect(p, KindUser, "alice", "alice@acme.test")
	}
	if n := e.liveRefreshTokens("alice@acme.test"); n != 1 {
		t.Fatalf("%d live refresh tokens after 3 connects, want 1", n)
	}
}

// TestJWTGrantThroughTransientFailures: the JWT bearer grant at start is
// retried through a short 5xx storm on the token endpoint.
func TestJWTGrantThroughTransientFailures(t *testing.T) {
	keyFile, pub := writeJWTKey(t)
	e := newEnv(t, sfsim.Options{JWTPublicKey: pub})
	if _, err := e.sim.CreateUser("integration@acme.test", "Int", "User", "integration@acme.test"); err != nil {
		t.Fatal(err)
	}
	e.jwt = JWTConfig{Username: "integration@acme.test", PrivateKeyFile: keyFile}
	if err := e.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultServerError, Count: 2, Target: sfsim.FaultTargetToken}); err != nil {
		t.Fatal(err)
	}
	p := e.open(nil)
	if info, _ := p.Get(KindDefault, ""); !info.Healthy || p.State() != Connected {
		t.Fatalf("JWT default after 2 failed grants: %+v, state %s", info, p.State())
	}
}
