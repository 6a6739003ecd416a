package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/testworld"
)

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// appendUser adds the user where the file's list is, and leaves every other
// byte of the file as it was.
func TestAppendUserKeepsTheFile(t *testing.T) {
	u := config.User{ID: "carol", Name: "Carol \"CJ\" Agent", Email: "carol@example.com", Role: "agent", TokenSHA256: hashB}
	tests := []struct{ name, in, want string }{
		{"block list, then a commented section",
			"# top\nlisten: 127.0.0.1:8080\n\nauth:\n  # who\n  users:\n    - id: sue\n      role: supervisor  # boss\n      token_sha256: " + hashA + "\n      # email: later\n\n# the org\nsalesforce:\n  poll_interval: 30s\n",
			"# top\nlisten: 127.0.0.1:8080\n\nauth:\n  # who\n  users:\n    - id: sue\n      role: supervisor  # boss\n      token_sha256: " + hashA + "\n      # email: later\n" + config.UserYAML(u, "    ") + "\n# the org\nsalesforce:\n  poll_interval: 30s\n"},
		{"compact list at the end, no final newline",
			"auth:\n  users:\n  - id: sue\n    role: supervisor\n    token_sha256: " + hashA,
			"auth:\n  users:\n  - id: sue\n    role: supervisor\n    token_sha256: " + hashA + "\n" + config.UserYAML(u, "  ")},
		{"flow items",
			"auth:\n  users:\n    - {id: sue, role: supervisor, token_sha256: " + hashA + "}\nlog_level: info\n",
			"auth:\n  users:\n    - {id: sue, role: supervisor, token_sha256: " + hashA + "}\n" + flowUserYAML(u, "    ") + "log_level: info\n"},
		{"empty list with a comment",
			"auth:\n  users: []   # none yet\nlog_level: info\n",
			"auth:\n  users: # none yet\n" + config.UserYAML(u, "    ") + "log_level: info\n"},
		{"no users key", "auth:\n  # nobody\n\nlog_level: info\n", "auth:\n  users:\n" + config.UserYAML(u, "    ") + "  # nobody\n\nlog_level: info\n"},
		{"no auth section", "# just comments\nlog_level: info\n", "# just comments\nlog_level: info\nauth:\n  users:\n" + config.UserYAML(u, "    ")},
		{"empty file", "", "auth:\n  users:\n" + config.UserYAML(u, "    ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendUser([]byte(tt.in), u)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
			c, err := config.Parse("c.yaml", got, nil)
			if err != nil {
				t.Fatalf("result does not load: %v", err)
			}
			if n := len(c.Auth.Users); n == 0 || !reflect.DeepEqual(c.Auth.Users[n-1], u) {
				t.Fatalf("users %+v", c.Auth.Users)
			}
		})
	}
	if _, err := appendUser([]byte("auth:\n  users: [{id: sue, role: agent, token_sha256: "+hashA+"}]\n"), u); err == nil {
		t.Error("a flow list was edited")
	}
}

var tokenLine = regexp.MustCompile(`(?m)^  token for (\S+): (\S+)$`)

func TestUserAdd(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCmd(t, "", "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %d %s", code, errs)
	}
	cfgPath := filepath.Join(dir, "carebridge.yaml")
	before, _ := os.ReadFile(cfgPath)
	code, out, errs := runCmd(t, "", "user", "add", "--config", cfgPath, "--name", "Alice Agent", "--email", "Alice.A@example.com", "--role", "agent")
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	m := tokenLine.FindStringSubmatch(out)
	if m == nil || m[1] != "alice.a" {
		t.Fatalf("no token printed for alice.a:\n%s", out)
	}
	after, _ := os.ReadFile(cfgPath)
	for _, line := range strings.Split(string(before), "\n") {
		if !strings.Contains(string(after), line) {
			t.Errorf("line %q of the file is gone", line)
		}
	}
	if strings.Contains(string(after), m[2]) {
		t.Error("the token itself is in the file")
	}
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.Auth.Users); n != 2 || cfg.Auth.Users[1].ID != "alice.a" || cfg.Auth.Users[1].TokenSHA256 != testworld.TokenSHA256(m[2]) {
		t.Fatalf("users %+v", cfg.Auth.Users)
	}
	if fi, _ := os.Stat(cfgPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v", fi.Mode())
	}
	// Routing: skills and capacity land on the user.
	if code, _, errs := runCmd(t, "", "user", "add", "--config", cfgPath, "--name", "Eva", "--email", "eva@example.com",
		"--role", "agent", "--skills", "es, vip", "--capacity", "3"); code != 0 {
		t.Fatalf("user add with skills: %d %s", code, errs)
	}
	if cfg, err = config.Load(cfgPath, nil); err != nil || !reflect.DeepEqual(cfg.Auth.Users[2].Skills, []string{"es", "vip"}) ||
		cfg.Auth.Users[2].Capacity != 3 {
		t.Fatalf("eva: %+v %v, want skills [es vip] and capacity 3", cfg.Auth.Users, err)
	}
	after, _ = os.ReadFile(cfgPath)
	refused := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--name", "Bob", "--email", "bob@example.com", "--role", "agent", "--capacity", "-1"}, 2, "--capacity must be 1 or more"},
		{[]string{"--name", "Bob", "--email", "bob@example.com", "--role", "agent", "--capacity", "5000"}, 1, "could not add the user"},
		{[]string{"--name", "Bob", "--email", "bob@example.com", "--role", "agent", "--skills", "big deal"}, 1, "could not add the user"},
		{[]string{"--name", "A2", "--email", "alice.a@EXAMPLE.com", "--role", "agent", "--id", "a2"}, 1, "already has a user with the email"},
		{[]string{"--name", "Admin Two", "--email", "x@example.com", "--role", "agent", "--id", "admin"}, 1, `already has a user with the id "admin"`},
		{[]string{"--name", "Bob", "--email", "bob@example.com", "--role", "boss"}, 2, "--role must be"},
		{[]string{"--name", "Bob", "--role", "agent"}, 2, "--email is needed"},
		{[]string{"--email", "bob@example.com", "--role", "agent"}, 2, "needs --config, --name and --role"},
		{[]string{"--name", "Bob", "--email", "bob@example.com", "--role", "agent", "--colour", "red"}, 2, "flag provided but not defined"},
	}
	for _, r := range refused {
		args := append([]string{"user", "add", "--config", cfgPath}, r.args...)
		code, _, errs := runCmd(t, "", args...)
		if code != r.code || !strings.Contains(errs, r.says) {
			t.Errorf("%q: exit %d, stderr %q; want %d saying %q", r.args, code, errs, r.code, r.says)
		}
	}
	if again, _ := os.ReadFile(cfgPath); string(again) != string(after) {
		t.Error("a refused user add changed the file")
	}
}
