package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/testworld/testlog"
)

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb, nil)
	return code, out.String(), errb.String()
}

func TestTokenHash(t *testing.T) {
	want := testworld.TokenSHA256("s3cret token") + "\n"
	for _, in := range []string{"s3cret token", "s3cret token\n", "s3cret token\r\n"} {
		code, out, errs := runCmd(t, in, "token", "hash")
		if code != 0 || out != want {
			t.Errorf("token hash of %q: exit %d, out %q, err %q", in, code, out, errs)
		}
	}
	// Only one trailing newline is ignored.
	if _, out, _ := runCmd(t, "s3cret token\n\n", "token", "hash"); out == want {
		t.Error("two trailing newlines hashed like one")
	}
	if code, _, errs := runCmd(t, "", "token", "hash"); code != 1 || !strings.Contains(errs, "no token") {
		t.Errorf("empty stdin: exit %d, %q", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"serve", "extra"},
		{"serve", "--no-such-flag"},
		{"token"},
		{"token", "hash", "more"},
		{"version", "x"},
	} {
		code, _, errs := runCmd(t, "", args...)
		if code != 2 || !strings.Contains(errs, "usage: carebridge") {
			t.Errorf("%q: exit %d, stderr %q; want 2 with usage", args, code, errs)
		}
	}
	if code, out, _ := runCmd(t, "", "version"); code != 0 || !strings.HasPrefix(out, "carebridge ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// Every command answers --help (and -h) with its own usage on stdout and
// exit 0; a flag it does not know is exit 2 with that usage on stderr.
func TestCommandHelp(t *testing.T) {
	for _, c := range commands {
		args := strings.Fields(c.name)
		for _, help := range []string{"--help", "-h"} {
			code, out, errs := runCmd(t, "", append(args, help)...)
			if code != 0 || !strings.Contains(out, "usage: carebridge "+c.name) || errs != "" {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q", c.name, help, code, out, errs)
			}
		}
		code, out, errs := runCmd(t, "", append(args, "--no-such-flag")...)
		if code != 2 || !strings.Contains(errs, "usage: carebridge "+c.name) || out != "" {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q", c.name, code, out, errs)
		}
	}
	// Flags are listed for the commands that have them.
	if _, out, _ := runCmd(t, "", "init", "--help"); !strings.Contains(out, "-public-url URL") || !strings.Contains(out, "-force") {
		t.Errorf("init --help lists no flags:\n%s", out)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"mapping", "--help"}, {"user", "-h"}} {
		if code, out, _ := runCmd(t, "", args...); code != 0 || !strings.Contains(out, "user add --config FILE") {
			t.Errorf("%q: exit %d:\n%s", args, code, out)
		}
	}
}

func TestMappingCheck(t *testing.T) {
	example := filepath.Join("..", "..", "mapping", "testdata", "example.yaml")
	if code, out, errs := runCmd(t, "", "mapping", "check", example); code != 0 || out != example+": OK\n" {
		t.Fatalf("valid mapping: exit %d, out %q, err %q", code, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "mapping.yaml")
	os.WriteFile(bad, []byte("version: 1\ncase:\n  object: Case\n  fields:\n    Subject: case.idd\n  colour: red\n"), 0o600)
	code, out, _ := runCmd(t, "", "mapping", "check", bad)
	if code != 1 {
		t.Fatalf("invalid mapping: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], bad+":5:14: ") || !strings.Contains(out, bad+":6:3: ") {
		t.Fatalf("problems not reported as FILE:LINE:COL, all at once:\n%s", out)
	}
	if !strings.Contains(out, "did you mean") {
		t.Errorf("no suggestion for case.idd:\n%s", out)
	}
	if code, _, _ := runCmd(t, "", "mapping", "check"); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code, _, _ := runCmd(t, "", "mapping", "check", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "carebridge.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\ncare:\n  grace_period: soon\nfrobs: 1\n"), 0o600)
	code, _, errs := runCmd(t, "", "serve", "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{cfg + ":3:17:", cfg + ":4:1:"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr misses %q:\n%s", want, errs)
		}
	}
}

// binary is the carebridge binary the tests run, built once per test run
// (binaryDir is removed by TestMain).
var (
	binaryOnce sync.Once
	binaryDir  string
	binaryPath string
	binaryErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// buildBinary builds the carebridge binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		if binaryDir, binaryErr = os.MkdirTemp("", "carebridge-test-bin-"); binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "carebridge")
		// -buildvcs=auto: stamp the revision where git is there, even when
		// GOFLAGS turns stamping off (as on this project's machines).
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", binaryPath, ".")
		cmd.Stderr = os.Stderr
		binaryErr = cmd.Run()
	})
	if binaryErr != nil {
		t.Fatalf("build: %v", binaryErr)
	}
	return binaryPath
}

type daemonProc struct {
	cmd  *exec.Cmd
	addr string
	logs *syncBuffer
	done chan error
}

// syncBuffer is a buffer safe for one writer and concurrent readers.
type syncBuffer = testlog.Logs

// startDaemon runs `carebridge serve --config cfg` and waits for it to
// listen.
func startDaemon(t *testing.T, bin, cfg string, env ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProc{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.WriteString(line + "\n")
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "carebridge serving" {
				addrc <- rec["addr"].(string)
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-scanned // every log line is in p.logs before done reports
		p.done <- err
	}()
	select {
	case p.addr = <-addrc:
	case err := <-p.done:
		t.Fatalf("daemon exited: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("daemon did not start:\n%s", p.logs)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			// What the daemon said last, to tell why a wait ran out.
			lines := strings.Split(strings.TrimRight(p.logs.String(), "\n"), "\n")
			t.Logf("daemon at %s, last log lines:\n%s", p.addr, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	// Serving means answering: wait for the first health check to pass.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _, err := tryCall("GET", "http://"+p.addr+"/healthz", "", ""); err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon at %s does not answer /healthz:\n%s", p.addr, p.logs)
		}
	}
	return p
}

func (p *daemonProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("daemon exit after %v: %v\n%s", sig, err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon ignored %v", sig)
	}
}

// daemonFiles is what a test daemon's config names beside its users.
type daemonFiles struct {
	listen  string // "": 127.0.0.1:0; else the address, and http://listen the public URL
	dataDir string // "": data, beside the config
	mapping []byte // written to mapping.yaml beside the config and named; nil: none
	extra   string // more top-level YAML keys
}

// daemonConfig writes carebridge.yaml in a new temporary directory (the
// returned path's) with f and the test users, each with the token
// "<id>-token": sue (supervisor), alice (agent) and community
// (integration).
func daemonConfig(t *testing.T, f daemonFiles) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	if f.listen == "" {
		b.WriteString("listen: 127.0.0.1:0\n")
	} else {
		fmt.Fprintf(&b, "listen: %s\npublic_url: http://%s\n", f.listen, f.listen)
	}
	fmt.Fprintf(&b, "data_dir: %s\n", cmp.Or(f.dataDir, "data"))
	if f.mapping != nil {
		if err := os.WriteFile(filepath.Join(dir, "mapping.yaml"), f.mapping, 0o600); err != nil {
			t.Fatal(err)
		}
		b.WriteString("mapping_file: mapping.yaml\n")
	}
	b.WriteString("auth:\n  users:\n")
	for _, u := range [][3]string{{"sue", "Sue", "supervisor"}, {"alice", "Alice", "agent"}, {"community", "Community", "integration"}} {
		fmt.Fprintf(&b, "    - {id: %s, name: %s, email: %s@example.com, role: %s, token_sha256: %s}\n",
			u[0], u[1], u[0], u[2], testworld.TokenSHA256(u[0]+"-token"))
	}
	b.WriteString(f.extra)
	cfg := filepath.Join(dir, "carebridge.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// salesforceSection is a config's salesforce section for the simulated
// org sim, with keys (one "  key: value" a line) added.
func salesforceSection(sim *sfsim.Server, keys string) string {
	return fmt.Sprintf("salesforce:\n  login_url: %s\n  client_id: %s\n%s", sim.LoginURL, sfsim.DefaultClientID, keys)
}

// storeConfig is daemonConfig for a daemon on dataDir with the example
// mapping and the YAML keys of extra.
func storeConfig(t *testing.T, dataDir, extra string) string {
	t.Helper()
	return daemonConfig(t, daemonFiles{dataDir: dataDir, mapping: exampleMapping(t), extra: extra})
}

// exampleMapping is the mapping's example file (mapping/testdata).
func exampleMapping(t *testing.T) []byte {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "..", "mapping", "testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return example
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached in 20 s")
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	cfg := storeConfig(t, filepath.Join(t.TempDir(), "data"), "limits:\n  message_text_bytes: 100\n")
	mappingFile := filepath.Join(filepath.Dir(cfg), "mapping.yaml")

	p := startDaemon(t, bin, cfg)
	base := "http://" + p.addr
	if code, _ := call(t, "GET", base+"/healthz", "", ""); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, _ := call(t, "GET", base+"/readyz", "", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	if code, body := call(t, "GET", base+"/api/v1/me", "sue-token", ""); code != 200 || !strings.Contains(body, `"role":"supervisor"`) {
		t.Fatalf("me: %d %s", code, body)
	}
	escalation := `{"message":{"external_id":"x1","platform":"twitter","profile_id":"brand","customer":{"platform_user_id":"joe"},"text":"hello"}}`
	if code, body := call(t, "POST", base+"/api/v1/cases", "sue-token", escalation); code != 201 {
		t.Fatalf("escalate: %d %s", code, body)
	}
	// The config's limits reach the API: 101 bytes of text are refused,
	// naming the field, and nothing is written.
	long := `{"message":{"external_id":"x2","platform":"twitter","profile_id":"brand","customer":{"platform_user_id":"ann"},"text":"` + strings.Repeat("a", 101) + `"}}`
	if code, body := call(t, "POST", base+"/api/v1/cases", "sue-token", long); code != 400 || !strings.Contains(body, `"too_large"`) || !strings.Contains(body, "text") {
		t.Fatalf("text over limits.message_text_bytes: %d %s", code, body)
	}
	_, metrics := call(t, "GET", base+"/metrics", "", "")
	for _, want := range []string{`carebridge_cases{status="new"} 1`, `carebridge_cases{status="deleted"} 0`,
		`carebridge_http_requests_total{code="201",route="POST /api/v1/cases"} 1`, "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics miss %q", want)
		}
	}
	if code, body := call(t, "GET", base+"/api/v1/mapping", "sue-token", ""); code != 200 || !strings.Contains(body, `"valid":true`) {
		t.Fatalf("mapping: %d %s", code, body)
	}
	// A broken mapping and SIGHUP: rejected, counted, the old one stays.
	os.WriteFile(mappingFile, []byte("version: 1\nstatus:\n  mode: sideways\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool {
		_, m := call(t, "GET", base+"/metrics", "", "")
		return strings.Contains(m, `carebridge_mapping_reloads_total{result="error"} 1`) && strings.Contains(m, "carebridge_mapping_valid 0")
	})
	if code, body := call(t, "GET", base+"/readyz", "", ""); code != 200 {
		t.Fatalf("readyz after a rejected reload: %d %s", code, body)
	}
	if _, body := call(t, "GET", base+"/api/v1/mapping", "sue-token", ""); !strings.Contains(body, "sideways") || !strings.Contains(body, `"Care_Case_Id__c"`) {
		t.Fatalf("mapping after rejected reload should keep the old mapping and show the report: %s", body)
	}
	p.stop(t, syscall.SIGTERM)
	if !strings.Contains(p.logs.String(), "stopped cleanly") {
		t.Errorf("no clean stop in logs:\n%s", p.logs)
	}
	if strings.Contains(p.logs.String(), "sue-token") || strings.Contains(p.logs.String(), testworld.TokenSHA256("sue-token")) {
		t.Error("logs carry a token or its hash")
	}

	// The case survives a restart; SIGINT stops cleanly too.
	p = startDaemon(t, bin, cfg)
	if code, body := call(t, "GET", "http://"+p.addr+"/api/v1/cases/1", "sue-token", ""); code != 200 || !strings.Contains(body, `"profile_id":"brand"`) {
		t.Fatalf("case after restart: %d %s", code, body)
	}
	p.stop(t, syscall.SIGINT)
}

// The config's default limits are the Care defaults (SPEC §12): the two
// packages write them down separately, this keeps them one.
func TestDefaultLimitsAgree(t *testing.T) {
	if got, want := careLimits(config.Default().Limits), care.DefaultLimits(); got != want {
		t.Fatalf("config defaults give %+v, Care's are %+v", got, want)
	}
}
