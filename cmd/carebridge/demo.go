package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/mapping"
)

// demoUser is a sample Care user of the demo.
type demoUser struct {
	id, name, role, sfUser string
	token                  string
}

// demoCmd runs the whole product against an in-process simulated org.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "`ADDR` the daemon listens on")
	dataDir := fs.String("data-dir", "", "keep the data in `DIR` (default: a temporary directory, removed at exit)")
	strict := fs.Bool("strict", false, "make the simulated org play a production org: assignment and duplicate rules, at most 5 approvals per user (sfsim --strict)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("demo takes no arguments")
	}
	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "carebridge-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Bind first so that a :0 port is known for the redirect URL; the
	// daemon serves this listener.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	addr := ln.Addr().String()
	defer ln.Close()

	sim, err := startDemoOrg(dir, sfsim.Options{Strict: *strict, StateFile: filepath.Join(dir, demoOrgStateFile),
		CasePageEmbedURL: "http://" + addr + "/embed/cases/{Care_Case_Id__c}"}, stderr)
	if err != nil {
		return fmt.Errorf("start the simulated Salesforce org: %w", err)
	}
	defer sim.Close()
	users := []*demoUser{
		{id: "sue", name: "Sue Supervisor", role: "supervisor", sfUser: "admin@sfsim.test"},
		{id: "alice", name: "Alice Agent", role: "agent", sfUser: "alice@sfsim.test"},
		{id: "bob", name: "Bob Agent", role: "agent"},
		{id: "community", name: "Community Integration", role: "integration"},
	}
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "listen: %s\npublic_url: http://%s\ndata_dir: %s\nlog_level: warn\nmapping_file: mapping.yaml\n",
		addr, addr, filepath.Join(dir, "data"))
	fmt.Fprintf(&yaml, "care:\n  grace_period: 24h\nsalesforce:\n  login_url: %s\n  client_id: %s\n  poll_interval: 5s\n%sauth:\n  users:\n",
		sim.LoginURL, sfsim.DefaultClientID, demoChangeEvents(sim.PubSubURL()))
	for _, u := range users {
		u.token = randomToken()
		sum := sha256.Sum256([]byte(u.token))
		fmt.Fprintf(&yaml, "    - {id: %s, name: %q, email: %s@example.com, role: %s, token_sha256: %s}\n",
			u.id, u.name, u.id, u.role, hex.EncodeToString(sum[:]))
	}
	if err := os.WriteFile(filepath.Join(dir, "mapping.yaml"), mapping.Sample(), 0o600); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "carebridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml.String()), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath, append(environ, config.EnvClientSecret+"=sfsim-secret"))
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg)
	d, err := newDaemon(cfg, logger, nil)
	if err != nil {
		return err
	}
	d.listener = ln
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- d.run(ctx, func(a string) { ready <- a }) }()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-errc:
		return err
	}
	c := newDemoClient(base, users)
	if err := c.prepare(ctx, sim); err != nil {
		logger.Error("seeding the demo failed", "err", err)
		fmt.Fprintln(stderr, "carebridge demo: seeding failed:", err)
	}
	fmt.Fprintf(stdout, `
carebridge demo is running.

  console:          %s/
  simulated org:    %s (data API at %s)
  data directory:   %s
`, base, sim.LoginURL, sim.InstanceURL, dir)
	if u := c.sampleRecordURL(ctx, sim); u != "" {
		fmt.Fprintf(stdout, "  a Salesforce case: %s\n", u)
	}
	fmt.Fprint(stdout, "\nAPI tokens (sign in to the console with one, or send \"Authorization: Bearer <token>\"):\n")
	for _, u := range users {
		fmt.Fprintf(stdout, "  %-10s %-11s %s\n", u.id, u.role, u.token)
	}
	fmt.Fprintf(stdout, "\nTry:  curl -H 'Authorization: Bearer %s' '%s/api/v1/cases?view=inbox'\nCtrl-C stops the demo.\n", users[0].token, base)
	return <-errc
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// The simulated org lives in the data directory too: its state (records,
// users, refresh tokens), and its addresses, which a second start listens on
// again so that the stored tokens' instance URL still answers.
const (
	demoOrgStateFile = "sfsim-state.json"
	demoOrgFile      = "sfsim-addr.json"
)

// demoOrgAddrs are the simulated org's listening addresses.
type demoOrgAddrs struct {
	Login    string `json:"login"`
	Instance string `json:"instance"`
}

// startDemoOrg starts the simulated org of the demo in dir: on the
// addresses of the last start when they are free, its state kept in dir.
func startDemoOrg(dir string, opts sfsim.Options, stderr io.Writer) (*sfsim.Server, error) {
	path := filepath.Join(dir, demoOrgFile)
	var last demoOrgAddrs
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &last) == nil && last.Login != "" {
		sim, err := sfsim.NewServerAt(opts, last.Login, last.Instance)
		if err == nil {
			return sim, nil
		}
		fmt.Fprintf(stderr, "carebridge demo: the simulated org's last addresses are taken (%v): it moves, and Salesforce is connected again\n", err)
	}
	sim, err := sfsim.NewServer(opts)
	if err != nil {
		return nil, err
	}
	addrs := demoOrgAddrs{Login: hostPort(sim.LoginURL), Instance: hostPort(sim.InstanceURL)}
	b, _ := json.Marshal(addrs)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		sim.Close()
		return nil, err
	}
	return sim, nil
}

// hostPort is the host:port of an http URL.
func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
