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
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/connector/sfsim"
)

// EnvStrict names the switch.
const EnvStrict = "CAREBRIDGE_SFSIM_STRICT"

// EnvStrictLog names a file a lenient run appends to, for each org
// NewServer started, when its test ends: "DIR<TAB>TestName<TAB>N", DIR
// the test's package directory, TestName its top-level test and N the
// org's StrictDifferences. A test whose every org says 0 would have had
// every answer the same from a strict org: .ci/test's strict pass skips
// it and reruns the others, and every test that started an org some
// other way (a binary, sfsim.NewServer).
const EnvStrictLog = "CAREBRIDGE_SFSIM_STRICT_LOG"

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

// NoOrg notes, in a lenient run's EnvStrictLog, that tb's world has no
// simulated org: nothing in it could answer otherwise in a strict one.
// Only for worlds of packages whose tests start no org outside simtest
// (no daemon or sfsim binary): the strict pass skips a test all of whose
// lines say 0.
func NoOrg(tb testing.TB) { logStrict(tb, 0) }

// logStrict appends tb's line, n the answers its org would have given
// otherwise, to the EnvStrictLog file of a lenient run.
func logStrict(tb testing.TB, n int64) {
	path := os.Getenv(EnvStrictLog)
	if path == "" || Strict() {
		return
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Error(err)
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Error(err)
		return
	}
	defer f.Close()
	// One short write to an O_APPEND file: lines of concurrent tests and
	// packages do not interleave.
	top, _, _ := strings.Cut(tb.Name(), "/")
	if _, err := fmt.Fprintf(f, "%s\t%s\t%d\n", dir, top, n); err != nil {
		tb.Error(err)
	}
}
