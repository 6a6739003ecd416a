package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/testworld"
)

// runEnv is runCmd with an environment.
func runEnv(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb, environ)
	return code, out.String(), errb.String()
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	code, out, errs := runCmd(t, "", "init", "--dir", dir, "--public-url", "https://care.example.com", "--login-url", "https://acme.my.salesforce.com",
		"--salesforce-org-id", "00Dxx0000001gPL", "--email", "admin@example.com")
	if code != 0 {
		t.Fatalf("init: %d %s", code, errs)
	}
	m := tokenLine.FindStringSubmatch(out)
	if m == nil || m[1] != "admin" {
		t.Fatalf("no token printed:\n%s", out)
	}
	cfgPath := filepath.Join(dir, "carebridge.yaml")
	for _, want := range []string{"carebridge serve --config " + cfgPath, "deploy/salesforce", "https://care.example.com/",
		"https://care.example.com/oauth/salesforce/callback", "carebridge user add --config " + cfgPath} {
		if !strings.Contains(out, want) {
			t.Errorf("next steps miss %q:\n%s", want, out)
		}
	}
	// The file is every default, with the flags and the supervisor.
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	want := config.Default()
	want.PublicURL = "https://care.example.com"
	want.Salesforce.LoginURL = "https://acme.my.salesforce.com"
	want.Salesforce.OrgID = "00Dxx0000001gPL"
	want.DataDir = filepath.Join(dir, "carebridge-data")
	want.MappingFile = filepath.Join(dir, "mapping.yaml")
	want.Auth.Users = []config.User{{ID: "admin", Name: "Administrator", Email: "admin@example.com", Role: "supervisor", TokenSHA256: testworld.TokenSHA256(m[2])}}
	if got, want := string(config.Template(cfg)), string(config.Template(&want)); got != want {
		t.Fatalf("the written config is not defaults + flags:\n--- got\n%s--- want\n%s", got, want)
	}
	text, _ := os.ReadFile(cfgPath)
	if strings.Contains(string(text), m[2]) || strings.Count(string(text), "\n# ") < 10 {
		t.Fatalf("the config holds the token or has no comments:\n%s", text)
	}
	for path, mode := range map[string]os.FileMode{cfgPath: 0o600, filepath.Join(dir, "mapping.yaml"): 0o644,
		cfg.DataDir: 0o700 | os.ModeDir, cfg.SecretKeyPath(): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v %v, want mode %v", path, fi.Mode(), err, mode)
		}
	}
	key, _ := os.ReadFile(cfg.SecretKeyPath())
	// The mapping passes its check.
	if code, out, errs := runCmd(t, "", "mapping", "check", cfg.MappingFile); code != 0 || out != cfg.MappingFile+": OK\n" {
		t.Fatalf("mapping check of the written mapping: %d %q %s", code, out, errs)
	}
	// Nothing is overwritten without --force; with it the key is kept.
	if code, _, errs := runCmd(t, "", "init", "--dir", dir); code != 1 || !strings.Contains(errs, cfgPath+" exists") {
		t.Fatalf("second init: %d %s", code, errs)
	}
	os.Remove(cfgPath)
	os.Remove(cfg.MappingFile)
	if code, _, errs := runCmd(t, "", "init", "--dir", dir); code != 1 || !strings.Contains(errs, cfg.DataDir+" exists and is not empty") {
		t.Fatalf("init over a used data dir: %d %s", code, errs)
	}
	if code, _, errs := runCmd(t, "", "init", "--dir", dir, "--force"); code != 0 {
		t.Fatalf("init --force: %d %s", code, errs)
	}
	if again, _ := os.ReadFile(cfg.SecretKeyPath()); !bytes.Equal(again, key) {
		t.Fatal("init --force replaced the token key")
	}
	// Bad flags are usage errors; nothing is written.
	empty := t.TempDir()
	if code, _, errs := runCmd(t, "", "init", "--dir", empty, "--public-url", "ftp://x"); code != 2 || !strings.Contains(errs, "public_url") {
		t.Fatalf("bad --public-url: %d %s", code, errs)
	}
	if code, _, errs := runCmd(t, "", "init", "--dir", empty, "--salesforce-org-id", "005xx0000001gPL"); code != 2 || !strings.Contains(errs, "salesforce.org_id") {
		t.Fatalf("bad --salesforce-org-id: %d %s", code, errs)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("a refused init wrote %v", entries)
	}
	// With CAREBRIDGE_SECRET_KEY the key is not written to a file.
	keyed := t.TempDir()
	if code, out, errs := runEnv(t, []string{"CAREBRIDGE_SECRET_KEY=" + strings.Repeat("ab", 32)}, "init", "--dir", keyed); code != 0 ||
		!strings.Contains(out, "CAREBRIDGE_SECRET_KEY is set") {
		t.Fatalf("init with the key in the environment: %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(keyed, "carebridge-data", "secret.key")); err == nil {
		t.Fatal("a key file was written although CAREBRIDGE_SECRET_KEY is set")
	}
}

// From init to a serving daemon through the binary: serve with the written
// files, the supervisor's token works, healthcheck says OK, a user added
// later gets in after a restart; serve with no users refuses to start and
// names init.
func TestInitServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	out, err := exec.Command(bin, "init", "--dir", dir).Output()
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	m := tokenLine.FindStringSubmatch(string(out))
	cfgPath := filepath.Join(dir, "carebridge.yaml")
	p := startDaemon(t, bin, cfgPath, "CAREBRIDGE_LISTEN=127.0.0.1:0")
	base := "http://" + p.addr
	if code, body := call(t, "GET", base+"/api/v1/me", m[2], ""); code != 200 || !strings.Contains(body, `"role":"supervisor"`) {
		t.Fatalf("the first supervisor: %d %s", code, body)
	}
	for _, args := range [][]string{{"--url", base}, {"--url", base + "/", "--ready"}} {
		if out, err := exec.Command(bin, append([]string{"healthcheck"}, args...)...).CombinedOutput(); err != nil || !strings.Contains(string(out), ": OK") {
			t.Fatalf("healthcheck %v: %v %s", args, err, out)
		}
	}
	add, err := exec.Command(bin, "user", "add", "--config", cfgPath, "--name", "Alice", "--email", "alice@example.com", "--role", "agent").Output()
	if err != nil {
		t.Fatalf("user add: %v", err)
	}
	alice := tokenLine.FindStringSubmatch(string(add))
	p.stop(t, syscall.SIGTERM)
	// A stopped daemon fails the health check (exit 1).
	if err := exec.Command(bin, "healthcheck", "--url", base).Run(); exitCode(err) != 1 {
		t.Fatalf("healthcheck of a stopped daemon: %v", err)
	}
	p = startDaemon(t, bin, cfgPath, "CAREBRIDGE_LISTEN=127.0.0.1:0")
	if code, body := call(t, "GET", "http://"+p.addr+"/api/v1/me", alice[2], ""); code != 200 || !strings.Contains(body, `"id":"alice"`) {
		t.Fatalf("the added user: %d %s", code, body)
	}
	p.stop(t, syscall.SIGTERM)

	// No users: serve exits 1 and says what to do.
	bare := filepath.Join(t.TempDir(), "carebridge.yaml")
	os.WriteFile(bare, []byte("listen: 127.0.0.1:0\ndata_dir: data\n"), 0o600)
	cmd := exec.Command(bin, "serve", "--config", bare)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); exitCode(err) != 1 || !strings.Contains(stderr.String(), "carebridge init") {
		t.Fatalf("serve without users: %v %s", err, stderr.String())
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
