package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/expect"
)

var testClient = &http.Client{Timeout: 10 * time.Second}

var startLine = regexp.MustCompile(`^sfsim: login_url=(http://127\.0\.0\.1:\d+) instance_url=(http://127\.0\.0\.1:\d+)(?: pubsub_url=(http://127\.0\.0\.1:\d+))?$`)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := expect.WriteFile(t, dir, "garbage.pem", "not a certificate")
	badSchema := expect.WriteFile(t, dir, "schema.yaml", "objects:\n  Foo__c:\n    colour: red\n")
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--session-ttl", "0s"}, 2, "--session-ttl must be positive"},
		{[]string{"--session-ttl", "soon"}, 2, "invalid value"},
		{[]string{"--daily-limit", "-1"}, 2, "--daily-limit must be positive"},
		{[]string{"--listen", "nocolon"}, 2, "--listen"},
		{[]string{"--client-id", ""}, 2, "must not be empty"},
		{[]string{"--listen", "127.0.0.1:0", "--schema", filepath.Join(dir, "missing.yaml")}, 1, "read schema"},
		{[]string{"--listen", "127.0.0.1:0", "--schema", badSchema}, 1, `schema.yaml:3:5: unknown key "colour"`},
		{[]string{"--listen", "127.0.0.1:0", "--jwt-cert", garbage}, 1, "no certificate or RSA public key"},
		{[]string{"--listen", "127.0.0.1:0", "--state-file", garbage}, 1, "garbage.pem is damaged"},
		{[]string{"-h"}, 0, "usage: sfsim"},
		{[]string{"-h"}, 0, "--strict makes the org behave like a production org"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.msg)
			}
		})
	}
}

// lineWriter hands the first line written to it to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.lines <- strings.TrimRight(line, "\n")
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 4)}
	done := make(chan int, 1)
	stateFile := filepath.Join(t.TempDir(), "org.json")
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--daily-limit", "7", "--strict", "--state-file", stateFile}, out, io.Discard)
	}()
	var line string
	select {
	case line = <-out.lines:
	case code := <-done:
		t.Fatalf("exited early with %d", code)
	case <-time.After(10 * time.Second):
		t.Fatal("no start line")
	}
	m := startLine.FindStringSubmatch(line)
	if m == nil || m[1] == m[2] || m[3] == "" || m[3] == m[1] {
		t.Fatalf("start line %q", line)
	}
	resp, err := testClient.Get(m[1] + "/__sim/limits")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"daily_limit":7`) {
		t.Fatalf("flags not applied: %d %s", resp.StatusCode, body)
	}
	resp, err = testClient.Get(m[1] + "/__sim/org")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"strict":true`) {
		t.Fatalf("--strict not applied: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after a clean shutdown", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not shut down")
	}
	if b, err := os.ReadFile(stateFile); err != nil || !strings.Contains(string(b), `"org_id"`) {
		t.Fatalf("--state-file not kept: %v %.100s", err, b)
	}
}

func TestNoPubSubServesNone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 4)}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--no-pubsub"}, out, io.Discard) }()
	select {
	case line := <-out.lines:
		if m := startLine.FindStringSubmatch(line); m == nil || m[3] != "" {
			t.Errorf("start line %q: want no pubsub_url", line)
		}
	case code := <-done:
		t.Fatalf("exited early with %d", code)
	case <-time.After(10 * time.Second):
		t.Fatal("no start line")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestBinaryExitsCleanlyOnSignals(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sfsim")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--listen", "127.0.0.1:0", "--rotate-refresh-tokens")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			if !sc.Scan() {
				t.Fatal("no start line")
			}
			m := startLine.FindStringSubmatch(sc.Text())
			if m == nil {
				t.Fatalf("start line %q", sc.Text())
			}
			resp, err := testClient.Get(m[2] + "/services/data")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("instance URL: %d", resp.StatusCode)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit after %s: %v", sig, err)
			}
		})
	}
}
