package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

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

	sim, err := sfsim.NewServer(sfsim.Options{Strict: *strict})
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
	fmt.Fprintf(&yaml, "care:\n  grace_period: 24h\nsalesforce:\n  login_url: %s\n  client_id: %s\n  poll_interval: 5s\nauth:\n  users:\n",
		sim.LoginURL, sfsim.DefaultClientID)
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
	if err := seedDemo(ctx, base, sim, users); err != nil {
		logger.Error("seeding the demo failed", "err", err)
		fmt.Fprintln(stderr, "carebridge demo: seeding failed:", err)
	}
	fmt.Fprintf(stdout, `
carebridge demo is running.

  console:          %s/
  simulated org:    %s (data API at %s)
  data directory:   %s

API tokens (sign in to the console with one, or send "Authorization: Bearer <token>"):
`, base, sim.LoginURL, sim.InstanceURL, dir)
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

// demoClient calls the demo daemon's API as its sample users.
type demoClient struct {
	base  string
	users map[string]*demoUser
	http  *http.Client
}

func (c *demoClient) call(ctx context.Context, user, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.users[user].token)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// connect runs the OAuth web-server flow against the simulated org, as a
// person would in the console: the daemon redirects to the org's authorize
// page, which approves at once and sends the browser back to the callback.
func (c *demoClient) connect(ctx context.Context, user, as, sfUser string) error {
	jar, _ := cookiejar.New(nil)
	var last *url.URL
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		last = r.URL
		if r.URL.Path == consoleSettings {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/oauth/salesforce/connect?as="+as+"&login_hint="+url.QueryEscape(sfUser), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.users[user].token)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if last == nil || last.Path != consoleSettings {
		return fmt.Errorf("connect %s: the flow ended with %d: %s", user, res.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// seedDemo connects Salesforce and fills Care with sample cases across
// platforms, some escalated to Salesforce.
func seedDemo(ctx context.Context, base string, sim *sfsim.Server, users []*demoUser) error {
	c := &demoClient{base: base, users: map[string]*demoUser{}, http: &http.Client{Timeout: 30 * time.Second}}
	for _, u := range users {
		c.users[u.id] = u
	}
	if _, err := sim.CreateUser("alice@sfsim.test", "Alice", "Agent", "alice@example.com"); err != nil {
		return err
	}
	if err := c.connect(ctx, "sue", "default", "admin@sfsim.test"); err != nil {
		return err
	}
	if err := c.connect(ctx, "alice", "user", "alice@sfsim.test"); err != nil {
		return err
	}
	for _, ct := range []map[string]any{
		{"FirstName": "Joe", "LastName": "Doe", "Email": "joe.doe@example.com"},
		{"FirstName": "Maria", "LastName": "Garcia", "Email": "maria@example.com"},
		{"FirstName": "Maria", "LastName": "Garcia", "Email": "m.garcia@example.org"},
	} {
		if _, err := sim.CreateRecord("Contact", ct); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	type convo struct {
		platform, profile, user, first, last string
		texts                                []string
		salesforce                           bool
	}
	convos := []convo{
		{"twitter", "brand-tw", "joedoe", "Joe", "Doe", []string{"Hi, does your new perfume have hibiscus in it?", "Asking because I'm allergic 🌺"}, false},
		{"facebook", "brand-fb", "maria.g", "Maria", "Garcia", []string{"My order #4411 arrived broken.", "Photos attached."}, true},
		{"instagram", "brand-ig", "sam_k", "Sam", "Kim", []string{"Love the new bottle design!"}, false},
		{"twitter", "brand-tw", "lee88", "", "", []string{"Where is my refund??", "It has been three weeks."}, true},
		{"facebook", "brand-fb", "ana.p", "Ana", "Pereira", []string{"Do you ship to Portugal?"}, false},
		{"twitter", "brand-tw", "spambot", "", "", []string{"Buy followers cheap!!!"}, false},
	}
	var ids []int64
	for i, cv := range convos {
		var res struct {
			Case struct {
				ID int64 `json:"id"`
			} `json:"case"`
		}
		for j, text := range cv.texts {
			msg := map[string]any{
				"external_id": fmt.Sprintf("demo-%d-%d", i, j), "platform": cv.platform, "profile_id": cv.profile,
				"customer": map[string]any{"platform_user_id": cv.user, "username": "@" + cv.user, "first_name": cv.first, "last_name": cv.last},
				"type":     "mention", "text": text, "sent_at": now.Add(time.Duration(-60*(len(convos)-i)+j) * time.Minute).Format(time.RFC3339),
			}
			if j == 0 {
				if err := c.call(ctx, "community", "POST", "/api/v1/cases", map[string]any{"message": msg, "mode": "automatic", "salesforce": cv.salesforce}, &res); err != nil {
					return err
				}
				continue
			}
			if err := c.call(ctx, "community", "POST", "/api/v1/messages", msg, nil); err != nil {
				return err
			}
		}
		ids = append(ids, res.Case.ID)
	}
	// Agents at work.
	steps := []struct {
		user, method, path string
		body               any
	}{
		{"alice", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[0]), map[string]any{"assignee": "alice", "priority": "high", "sentiment": "neutral"}},
		{"alice", "POST", fmt.Sprintf("/api/v1/cases/%d/messages", ids[0]), map[string]any{"kind": "reply", "reply_type": "public_reply", "text": "Hi Joe! No hibiscus in this one. DM us for the full list 💜"}},
		{"alice", "POST", fmt.Sprintf("/api/v1/cases/%d/messages", ids[0]), map[string]any{"kind": "note", "text": "@sue allergy question: worth an FAQ entry?", "mentions": []string{"sue"}}},
		{"bob", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[2]), map[string]any{"assignee": "bob", "sentiment": "positive"}},
		{"bob", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[2]), map[string]any{"status": "done"}},
		{"sue", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[5]), map[string]any{"status": "spam"}},
		{"bob", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[4]), map[string]any{"assignee": "bob", "status": "pending"}},
	}
	for _, s := range steps {
		if err := c.call(ctx, s.user, s.method, s.path, s.body, nil); err != nil {
			return err
		}
	}
	// Joe is a known contact: link him and escalate his case by hand.
	var found struct {
		Contacts []struct {
			ID string `json:"id"`
		} `json:"contacts"`
	}
	if err := c.call(ctx, "alice", "GET", "/api/v1/salesforce/contacts?q=Doe", nil, &found); err != nil {
		return err
	}
	var joe struct {
		CustomerID int64 `json:"customer_id"`
	}
	if err := c.call(ctx, "alice", "GET", fmt.Sprintf("/api/v1/cases/%d", ids[0]), nil, &joe); err != nil {
		return err
	}
	if len(found.Contacts) == 0 {
		return errors.New("the sample contact Joe Doe is not found")
	}
	if err := c.call(ctx, "alice", "PUT", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", joe.CustomerID), map[string]any{"contact_id": found.Contacts[0].ID}, nil); err != nil {
		return err
	}
	return c.call(ctx, "alice", "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", ids[0]), map[string]any{}, nil)
}
