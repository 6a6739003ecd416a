package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/mapping"
)

// freeAddr finds a free loopback port (the daemon's redirect URL must name
// its port before it starts). It picks below Linux's ephemeral range, so no
// outgoing connection of a parallel test takes the port before the daemon
// binds it.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

// connectDefault runs the OAuth web flow against the daemon at base as the
// supervisor with token tok, authorizing sfUser at the simulated org, the
// way the demo does.
func connectDefault(t *testing.T, base, tok, sfUser string) {
	t.Helper()
	c := &demoClient{base: base, users: map[string]*demoUser{"sup": {id: "sup", token: tok}}}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		// A connection reset right after a start is retried; a refused
		// flow is not (the OAuth state is single use, a retry starts anew).
		if err = c.connect(context.Background(), "sup", "default", sfUser); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal(err)
}

// simDaemon is a supervisor "sue" (token "sue-token") daemon config wired to
// a simulated org: the org, the built binary, the config file and its
// directory. The client secret is in envClientSecret.
func simDaemon(t *testing.T) (sim *sfsim.Server, bin, cfg, dir string) {
	t.Helper()
	return simDaemonWith(t, sfsim.Options{}, "")
}

// simDaemonWith is simDaemon with an org of o and, when salesforceKeys is
// not empty, the sample mapping in mapping.yaml and those keys added to
// the config's salesforce section (one "  key: value" a line).
func simDaemonWith(t *testing.T, o sfsim.Options, salesforceKeys string) (sim *sfsim.Server, bin, cfg, dir string) {
	t.Helper()
	sim = simtest.NewServer(t, o)
	bin = buildBinary(t)
	f := daemonFiles{listen: freeAddr(t), extra: salesforceSection(sim, salesforceKeys)}
	if salesforceKeys != "" {
		f.mapping = mapping.Sample()
	}
	cfg = daemonConfig(t, f)
	dir = filepath.Dir(cfg)
	return sim, bin, cfg, dir
}

// envClientSecret is the simulated org's consumer secret for a daemon.
const envClientSecret = "CAREBRIDGE_SALESFORCE_CLIENT_SECRET=sfsim-secret"

func TestMappingCheckOnline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	sim, bin, cfg, dir := simDaemon(t)
	secretEnv := envClientSecret

	p := startDaemon(t, bin, cfg, secretEnv)
	connectDefault(t, "http://"+p.addr, "sue-token", "admin@sfsim.test")
	// Sue also connects a personal token, of a user whose profile may not
	// create Care_Agent_Email__c.
	if _, err := sim.CreateUserWith(sfsim.NewUser{Username: "carol@acme.test", LastName: "Restricted", Profile: sfsim.ProfileRestricted}); err != nil {
		t.Fatal(err)
	}
	sue := &demoClient{base: "http://" + p.addr, users: map[string]*demoUser{"sup": {id: "sup", token: "sue-token"}}}
	if err := sue.connect(context.Background(), "sup", "user", "carol@acme.test"); err != nil {
		t.Fatal(err)
	}
	_, conn := call(t, "GET", "http://"+p.addr+"/api/v1/salesforce/connection", "sue-token", "")
	if !strings.Contains(conn, `"state":"connected"`) {
		t.Fatalf("connection: %s", conn)
	}
	example := filepath.Join("..", "..", "mapping", "testdata", "example.yaml")
	// While the daemon runs, the data directory is its own.
	var out, errb bytes.Buffer
	if code := run([]string{"mapping", "check", "--online", "--config", cfg, example}, nil, &out, &errb, []string{secretEnv}); code != 1 || !strings.Contains(errb.String(), "one carebridge per data directory") {
		t.Fatalf("online check beside a running daemon: %d %s", code, errb.String())
	}
	p.stop(t, syscall.SIGTERM)

	out.Reset()
	errb.Reset()
	if code := run([]string{"mapping", "check", example, "--online", "--config", cfg}, nil, &out, &errb, []string{secretEnv}); code != 0 {
		t.Fatalf("online check of the example: %d\n%s%s", code, out.String(), errb.String())
	}
	// As the restricted user, the example maps a field they may not create.
	out.Reset()
	errb.Reset()
	code := run([]string{"mapping", "check", example, "--online", "--as", "carol@acme.test", "--config", cfg}, nil, &out, &errb, []string{secretEnv})
	if code != 1 || !strings.Contains(out.String(), "Care_Agent_Email__c") {
		t.Fatalf("online check as a restricted user: %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	code = run([]string{"mapping", "check", example, "--online", "--as", "nobody@acme.test", "--config", cfg}, nil, &out, &errb, []string{secretEnv})
	if code != 1 || !strings.Contains(errb.String(), "carol@acme.test") {
		t.Fatalf("online check as an unknown user: %d\n%s%s", code, out.String(), errb.String())
	}
	if code := run([]string{"mapping", "check", example, "--as", "carol@acme.test"}, nil, &out, &errb, nil); code != 2 {
		t.Fatalf("--as without --online: exit %d", code)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\ncase:\n  object: Case\n  fields:\n    Subjekt: case.id\n    Origin: { value: Carrier pigeon }\n"), 0o600)
	out.Reset()
	errb.Reset()
	code = run([]string{"mapping", "check", "--online", "--config", cfg, bad}, nil, &out, &errb, []string{secretEnv})
	if code != 1 || !strings.Contains(out.String(), bad+":5:5: ") || !strings.Contains(out.String(), "Subject") {
		t.Fatalf("online check of a bad mapping: %d\n%s%s", code, out.String(), errb.String())
	}
	// Offline, the unknown field passes: only describe knows it.
	out.Reset()
	if code := run([]string{"mapping", "check", bad}, nil, &out, &errb, nil); code != 0 {
		t.Fatalf("offline check of a mapping only describe can fault: %d %s", code, out.String())
	}
	if sim.Stats().ByOperation["describe"] == 0 {
		t.Fatal("the online check described nothing")
	}
}
