package console

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
)

// TestSalesforceSignInNeedsAnOrg: without salesforce.org_id and before a
// default token is connected, no org is known, and a user of any org whose
// email matches a Care user could sign in as that user: Sign in with
// Salesforce is refused, and the sign-in page offers it disabled, saying
// why.
func TestSalesforceSignInNeedsAnOrg(t *testing.T) {
	sw := newSignInWorld(t, nil)
	refused := func(t *testing.T, p page) {
		t.Helper()
		body := html.UnescapeString(p.body)
		if p.status != http.StatusForbidden || !strings.HasPrefix(p.ctype, "text/html") ||
			!strings.Contains(body, "carebridge is not connected to a Salesforce org yet") ||
			!strings.Contains(body, "salesforce.org_id") || strings.Contains(body, "Alice Agent") {
			t.Fatalf("%d %s at %s: %.500s", p.status, p.ctype, p.url, p.body)
		}
	}
	noFollow := func() *http.Client {
		c := sw.browser()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}

	login := get(t, sw.browser(), sw.URL+"/login")
	if !strings.Contains(login.body, `id="salesforce-sign-in" disabled`) || strings.Contains(login.body, `href="`+SignInPath) ||
		!strings.Contains(html.UnescapeString(login.body), "the admin sets salesforce.org_id") {
		t.Fatalf("the sign-in page before any org is known:\n%s", login.body)
	}
	p := get(t, noFollow(), sw.URL+SignInPath+"?login_hint=alice%40example.com")
	if loc := p.res.Header.Get("Location"); loc != "" {
		t.Fatalf("sent to Salesforce (%s) while no org is known", loc)
	}
	refused(t, p)
	refused(t, sw.signIn(sw.browser(), "alice@example.com", "/cases/7"))

	// A sign-in started while the org was known and finished after the
	// connection was forgotten.
	sw.Connect(tokens.KindDefault, testworld.Holder, sfsim.DefaultUsername)
	if login := get(t, sw.browser(), sw.URL+"/login"); !strings.Contains(login.body, `href="`+SignInPath) {
		t.Fatalf("no sign-in link once the org is known:\n%s", login.body)
	}
	c := noFollow()
	start := get(t, c, sw.URL+SignInPath+"?login_hint=alice%40example.com")
	if err := sw.Pool.Forget(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.CheckRedirect = nil
	refused(t, get(t, c, start.res.Header.Get("Location")))

	// The newcomer's path: the default token connected, Alice signs in.
	sw.Connect(tokens.KindDefault, testworld.Holder, sfsim.DefaultUsername)
	if p := sw.signIn(sw.browser(), "alice@example.com", ""); p.status != http.StatusOK || !strings.Contains(p.body, "Alice Agent") {
		t.Fatalf("after the default connect: %d %.300s", p.status, p.body)
	}
}

// TestSalesforceSignInPinnedOrg: with salesforce.org_id set, only users of
// that org sign in, before any token is connected too; a user of another
// org who gave themselves a Care user's email is refused.
func TestSalesforceSignInPinnedOrg(t *testing.T) {
	sw := newSignInWorld(t, nil, testworld.PinnedOrg())
	if _, err := sw.Sim.CreateUserWith(sfsim.NewUser{Username: "alice@evil.example", LastName: "Evil",
		Email: "alice@example.com", Org: sfsim.OrgOther}); err != nil {
		t.Fatal(err)
	}
	p := sw.signIn(sw.browser(), "alice@evil.example", "")
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "another Salesforce org") || strings.Contains(p.body, "Alice Agent") {
		t.Fatalf("a user of another org with Alice's email: %d %.400s", p.status, p.body)
	}
	if !strings.Contains(sw.Logs.String(), `"reason":"other org"`) {
		t.Error("the refusal is not logged with its reason")
	}
	if p := sw.signIn(sw.browser(), "alice@example.com", ""); p.status != http.StatusOK || !strings.Contains(p.body, "Alice Agent") {
		t.Fatalf("a user of the configured org: %d %.300s", p.status, p.body)
	}
	if sw.Pool.State() != tokens.NotConnected {
		t.Fatalf("signing in connected a token: %s", sw.Pool.State())
	}
}
