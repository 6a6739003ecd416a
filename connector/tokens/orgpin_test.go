package tokens

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/config/sfid"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
)

// pinOrg opens the pool with Options.OrgID (salesforce.org_id).
func pinOrg(org string) func(*Options) { return func(o *Options) { o.OrgID = org } }

// connectRefused connects the token of sfUser, a user of another org, for
// user and checks that it is refused: ErrOrgMismatch, revoked at the org
// at once, and (a personal token) not stored.
func (e *env) connectRefused(t *testing.T, p *Pool, kind Kind, user, sfUser string) {
	t.Helper()
	_, err := p.Connect(context.Background(), Grant{Kind: kind, UserID: user, Token: e.authorize(sfUser)})
	if !errors.Is(err, ErrOrgMismatch) {
		t.Fatalf("Connect %s %s as %s: %v, want ErrOrgMismatch", kind, user, sfUser, err)
	}
	if n := e.liveRefreshTokens(sfUser); n != 0 {
		t.Fatalf("%d refresh tokens of the refused connect still live at the org", n)
	}
	if kind == KindUser && e.stored(storeKey(kind, user)) != nil {
		t.Fatal("refused personal token stored")
	}
}

// TestPinnedOrg: with salesforce.org_id set the pool is bound from the
// start: tokens of another org are refused, a personal one before any
// default too (without the pin it would bind nothing and be kept).
func TestPinnedOrg(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	pinned := e.sim.OrgID()[:15] // as Setup → Company Information shows it
	p := e.open(pinOrg(pinned))
	if p.OrgID() != pinned || p.Status().OrgID != pinned {
		t.Fatalf("bound org before any connect: %q", p.OrgID())
	}
	e.otherOrgUser("eve@other.test")
	e.otherOrgUser("mal@other.test")
	e.connectRefused(t, p, KindUser, "alice", "eve@other.test")
	e.connectRefused(t, p, KindDefault, "sue", "mal@other.test")
	if e.stored(defaultStoreKey) != nil || p.State() != NotConnected {
		t.Fatalf("refused token kept: state %s", p.State())
	}
	if !bytes.Contains(e.logs.Bytes(), []byte("salesforce token of another org refused")) {
		t.Error("the refusal is not logged")
	}
	e.connect(p, KindUser, "alice", "alice@acme.test")
	e.connect(p, KindDefault, "sam", "sam@acme.test")
	if p.OrgID() != e.sim.OrgID() {
		t.Fatalf("bound org after the default of the configured org: %q", p.OrgID())
	}
	if p2 := e.open(pinOrg(pinned)); p2.Status().Error != "" || p2.State() != Connected {
		t.Fatalf("after restart: %+v", p2.Status())
	}
}

func TestPinnedOrgRefusesAnotherKindOfID(t *testing.T) {
	e := newEnv(t, sfsim.Options{})
	for _, bad := range []string{"005000000000001", e.sim.OrgID()[:14]} {
		if _, err := e.openErr(pinOrg(bad)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Open with OrgID %q: %v", bad, err)
		}
	}
}

// TestPinnedOrgDiffersFromStored: an admin sets salesforce.org_id to
// another org than the stored connection's. The daemon neither uses the
// stored tokens (Care data would go to an org the config does not name)
// nor forgets them silently: it says so in the log and the connection
// status, until a connect of the configured org (or Forget) drops them.
func TestPinnedOrgDiffersFromStored(t *testing.T) {
	for _, resolve := range []string{"connect", "forget"} {
		t.Run(resolve, func(t *testing.T) {
			e, _ := openConnected(t, sfsim.Options{}, "default", "alice")
			ctx := context.Background()
			other := e.sim.OtherOrgID()
			p := e.open(pinOrg(other))
			st := p.Status()
			if st.State != NotConnected || st.OrgID != other ||
				!strings.Contains(st.Error, "salesforce.org_id is "+other) || !strings.Contains(st.Error, e.sim.OrgID()) {
				t.Fatalf("status with a stored connection of another org: %+v", st)
			}
			if _, err := p.Background(ctx); !errors.Is(err, ErrNoHealthyToken) {
				t.Fatalf("a token of the stored org was handed out: %v", err)
			}
			if !bytes.Contains(e.logs.Bytes(), []byte("salesforce.org_id differs from the org of the stored Salesforce connection")) {
				t.Error("not said in the log")
			}
			// The stored org's default token may not come back either (its
			// stored token stays live at the org until dropped).
			if _, err := p.Connect(ctx, Grant{Kind: KindDefault, UserID: "sam", Token: e.authorize("sam@acme.test")}); !errors.Is(err, ErrOrgMismatch) {
				t.Fatalf("default of the stored org: %v", err)
			}

			switch resolve {
			case "connect":
				e.otherOrgUser("eve@other.test")
				e.connect(p, KindDefault, "sue", "eve@other.test")
				if p.OrgID() != other || p.State() != Connected {
					t.Fatalf("after connecting the configured org: %s %s", p.OrgID(), p.State())
				}
			case "forget":
				if err := p.Forget(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if st := p.Status(); st.Error != "" {
				t.Fatalf("problem left after %s: %q", resolve, st.Error)
			}
			if e.stored("user/alice") != nil {
				t.Error("the other org's personal token is still stored")
			}
			for _, u := range []string{"sam@acme.test", "alice@acme.test"} {
				if n := e.liveRefreshTokens(u); n != 0 {
					t.Errorf("%s: %d refresh tokens of the dropped connection still live", u, n)
				}
			}
			if p2 := e.open(pinOrg(other)); p2.Status().Error != "" {
				t.Fatalf("after restart: %q", p2.Status().Error)
			}
		})
	}
}

// TestJWTDefaultDropsTheOtherOrg: salesforce.org_id names another org
// than stored tokens', and the default token of the configured org comes
// by the JWT bearer flow, not a console connect. Its arrival drops the
// tokens set aside as of the other org as a connect does (revoked, gone
// from disk and from the status, logged), and a personal token of the
// configured org stays. A store an older release left with both is put
// right at the next start.
func TestJWTDefaultDropsTheOtherOrg(t *testing.T) {
	keyFile, pub := writeJWTKey(t)
	e := newEnv(t, sfsim.Options{JWTPublicKey: pub})
	ctx := context.Background()
	e.otherOrgUser("eve@other.test")
	e.otherOrgUser("bob@other.test")
	// Personal tokens before any default bind no org: one of each.
	p := e.open(nil)
	e.connect(p, KindUser, "alice", "alice@acme.test")
	e.connect(p, KindUser, "bob", "bob@other.test")
	setAside, _ := e.store.Get(ctx, "user/alice")
	secrets := p.secrets()

	other := e.sim.OtherOrgID()
	e.jwt = JWTConfig{Username: "eve@other.test", PrivateKeyFile: keyFile}
	p = e.open(pinOrg(other))
	st := p.Status()
	if st.State != Connected || st.Error != "" || st.Default == nil || !st.Default.JWT || !sfid.Same(st.OrgID, other) {
		t.Fatalf("status after the JWT default of the configured org: %+v", st)
	}
	if len(st.Users) != 1 || st.Users[0].UserID != "bob" || !st.Users[0].Healthy {
		t.Fatalf("personal tokens: %+v, want bob's (of the configured org) only", st.Users)
	}
	if e.stored("user/alice") != nil {
		t.Fatal("the other org's personal token is still stored")
	}
	if e.stored("user/bob") == nil {
		t.Fatal("the configured org's personal token was dropped")
	}
	if n := e.liveRefreshTokens("alice@acme.test"); n != 0 {
		t.Fatalf("%d refresh tokens of the dropped token still live", n)
	}
	logs := e.logs.Bytes()
	if !bytes.Contains(logs, []byte(`"msg":"salesforce token of another org dropped","token":"user/alice"`)) ||
		!bytes.Contains(logs, []byte(`"after":"jwt-bearer"`)) {
		t.Fatalf("the drop is not logged:\n%s", logs)
	}
	simtest.NoSecrets(t, secrets, map[string][]byte{"logs": logs})
	if p2 := e.open(pinOrg(other)); p2.Status().Error != "" || len(p2.Status().Users) != 1 {
		t.Fatalf("after restart: %+v", p2.Status())
	}

	// What an older release left: the JWT default of the configured org
	// stored, the other org's token still set aside beside it.
	if err := e.store.Put(ctx, "user/alice", setAside); err != nil {
		t.Fatal(err)
	}
	if st := e.open(pinOrg(other)).Status(); st.Error != "" || len(st.Users) != 1 || e.stored("user/alice") != nil {
		t.Fatalf("a set-aside token beside a stored default of the configured org: %+v", st)
	}
}

// TestJWTDefaultAfterLostKey: with another secret key, the JWT default
// token granted at start is the reconnect the lost key asks for: the
// records the key no longer opens go, and the status stops saying so.
func TestJWTDefaultAfterLostKey(t *testing.T) {
	keyFile, pub := writeJWTKey(t)
	e, _ := openConnected(t, sfsim.Options{JWTPublicKey: pub}, "default", "bob")
	e.key, _ = GenerateKey()
	e.jwt = JWTConfig{Username: sfsim.DefaultUsername, PrivateKeyFile: keyFile}
	st := e.open(nil).Status()
	if st.State != Connected || st.Error != "" || st.Default == nil || !st.Default.JWT {
		t.Fatalf("status after the JWT default with another key: %+v", st)
	}
	if b, _ := e.store.Get(context.Background(), "user/bob"); b != nil {
		t.Fatal("bob's undecryptable record kept after the JWT default arrived")
	}
}
