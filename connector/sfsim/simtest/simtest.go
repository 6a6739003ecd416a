// Package simtest is what end-to-end tests share about the simulated org:
// whether it plays a production org. Set CAREBRIDGE_SFSIM_STRICT=1 and every
// test world that builds its simulator through Options runs against
// `sfsim --strict` (assignment and duplicate rules, the approvals limit),
// so the same tests check carebridge against both kinds of org. `.ci/test`
// runs the end-to-end packages both ways.
//
// It also holds the smallest pieces every test world shares, for packages
// that connector/testworld cannot serve without an import cycle (the token
// pool's own tests): NewServer, Authorize (the OAuth web-server flow at the
// simulated org), Clock, Logs, Eventually and Metric. It imports no
// carebridge package but the Salesforce client and the simulator. Import it
// from _test.go files (and cmd/cbbench) only.
package simtest

import (
	"os"
	"testing"

	"github.com/carebridge/carebridge/connector/sfsim"
)

// EnvStrict names the switch.
const EnvStrict = "CAREBRIDGE_SFSIM_STRICT"

// Strict reports whether this test run plays a production org.
func Strict() bool { return os.Getenv(EnvStrict) == "1" }

// Options returns o with Strict set when the run asks for a production org.
// A test that needs one mode whatever the run sets Strict after the call.
func Options(o sfsim.Options) sfsim.Options {
	if Strict() {
		o.Strict = true
	}
	return o
}

// OtherOrgUser creates a user of another org at sim: its tokens are valid,
// but its identity names another organization.
func OtherOrgUser(tb testing.TB, sim *sfsim.Server, username string) {
	tb.Helper()
	if _, err := sim.CreateUserWith(sfsim.NewUser{Username: username, LastName: "Other", Org: sfsim.OrgOther}); err != nil {
		tb.Fatal(err)
	}
}

// LiveRefreshTokens is how many refresh tokens sim holds for a user.
func LiveRefreshTokens(tb testing.TB, sim *sfsim.Server, username string) int {
	tb.Helper()
	u, ok := sim.UserInfo(username)
	if !ok {
		tb.Fatalf("no user %s at the org", username)
	}
	return u.RefreshTokens
}
