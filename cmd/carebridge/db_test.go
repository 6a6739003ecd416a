package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/bolt/bolttest"
)

// fillStore escalates n cases (two messages each) through the API and
// patches every third, so the file has branch pages and free pages.
func fillStore(t *testing.T, base string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		esc := fmt.Sprintf(`{"message":{"external_id":"m%d","platform":"twitter","profile_id":"brand","customer":{"platform_user_id":"u%d"},"text":"hello %d"}}`, i, i, i)
		code, body := call(t, "POST", base+"/api/v1/cases", "sue-token", esc)
		if code != 201 {
			t.Fatalf("escalate: %d %s", code, body)
		}
		var res struct {
			Case struct{ ID int64 } `json:"case"`
		}
		json.Unmarshal([]byte(body), &res)
		note := fmt.Sprintf(`{"kind":"note","text":"note %d"}`, i)
		if code, body := call(t, "POST", fmt.Sprintf("%s/api/v1/cases/%d/messages", base, res.Case.ID), "sue-token", note); code != 201 {
			t.Fatalf("note: %d %s", code, body)
		}
		if i%3 == 0 {
			if code, body := call(t, "PATCH", fmt.Sprintf("%s/api/v1/cases/%d", base, res.Case.ID), "sue-token", `{"priority":"high"}`); code != 200 {
				t.Fatalf("patch: %d %s", code, body)
			}
		}
	}
}

// runBin runs the binary to its end (at most a minute) and returns its
// exit code, stdout and stderr.
func runBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not end: %s", args, stderr.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// A damaged store stops serve with exit 1 and one line naming the file
// and saying to restore a backup, without a panic, leaving the file as it
// was; db check finds the same damage and passes a healthy file.
func TestDamagedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	p := startDaemon(t, bin, storeConfig(t, data, ""))
	fillStore(t, "http://"+p.addr, 0, 60)
	p.stop(t, syscall.SIGTERM)
	healthy := filepath.Join(data, bolt.FileName)
	if code, out, errs := runBin(t, bin, "db", "check", "--data-dir", data); code != 0 || out != healthy+": ok, no damage found\n" {
		t.Fatalf("db check of a healthy file: %d %q %q", code, out, errs)
	}
	bolttest.EachDamage(t, healthy, bolt.FileName, func(t *testing.T, dir, path string) {
		for _, args := range [][]string{{"serve", "--config", storeConfig(t, dir, "")}, {"db", "check", "--data-dir", dir}} {
			code, _, errs := runBin(t, bin, args...)
			t.Logf("%s: %s", args[0], errs)
			var verdict []string
			for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
				if strings.Contains(line, "restore a backup") {
					verdict = append(verdict, line)
				}
			}
			if code != 1 || len(verdict) != 1 || !strings.HasPrefix(verdict[0], "carebridge: "+path+" is damaged") {
				t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 1 and one line naming %s", args[0], code, errs, path)
			}
			for _, bad := range []string{"panic", "goroutine ", "SIGBUS", "SIGSEGV", "fatal error"} {
				if strings.Contains(errs, bad) {
					t.Errorf("%s: stderr shows %q:\n%s", args[0], bad, errs)
				}
			}
		}
	})
}

// A backup taken from a running daemon with `carebridge backup` restores:
// a second daemon on the copy shows every case and message, and cases
// created there get keys the first never gave.
func TestBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	p := startDaemon(t, bin, storeConfig(t, t.TempDir(), ""))
	base := "http://" + p.addr
	fillStore(t, base, 0, 5)
	dir := t.TempDir()
	tokenFile := func(tok string) string {
		f := filepath.Join(dir, tok)
		os.WriteFile(f, []byte(tok+"\n"), 0o600)
		return f
	}
	out := filepath.Join(dir, "backup.db")

	// An agent is refused with the daemon's reason; nothing is left.
	code, stdout, stderr := runBin(t, bin, "backup", "--url", base, "--token-file", tokenFile("alice-token"), "--out", out)
	if code != 1 || !strings.Contains(stderr, "403") || !strings.Contains(stderr, "only a supervisor may download a backup") {
		t.Fatalf("backup as an agent: %d %q %q", code, stdout, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 { // the token file
		t.Fatalf("a refused backup left files: %v %q", entries, stderr)
	}
	code, stdout, stderr = runBin(t, bin, "backup", "--url", base+"/", "--token-file", tokenFile("sue-token"), "--out", out)
	if code != 0 || !strings.Contains(stdout, "saved a backup of") {
		t.Fatalf("backup: %d %q %q", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "sue-token") || strings.Contains(stdout+stderr, "alice-token") {
		t.Fatal("the backup command printed a token")
	}

	// The restore: the copy as carebridge.db of a fresh data dir.
	data2 := t.TempDir()
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data2, bolt.FileName), raw, 0o600)
	q := startDaemon(t, bin, storeConfig(t, data2, ""))
	restored := "http://" + q.addr
	keys := map[string]bool{}
	for id := 1; id <= 5; id++ {
		for _, path := range []string{"/api/v1/cases/%d", "/api/v1/cases/%d/messages"} {
			u := fmt.Sprintf(path, id)
			_, want := call(t, "GET", base+u, "sue-token", "")
			if code, got := call(t, "GET", restored+u, "sue-token", ""); code != 200 || got != want {
				t.Fatalf("%s after the restore: %d\n%s\nwant\n%s", u, code, got, want)
			}
		}
		keys[caseKey(t, base, id)] = true
	}
	fillStore(t, base, 10, 2)
	fillStore(t, restored, 20, 2)
	for id := 6; id <= 7; id++ {
		for _, b := range []string{base, restored} {
			k := caseKey(t, b, id)
			if keys[k] {
				t.Fatalf("case %d at %s got key %s, given before", id, b, k)
			}
			keys[k] = true
		}
	}
}

// caseKey is the external key of case id at the daemon at base.
func caseKey(t *testing.T, base string, id int) string {
	t.Helper()
	code, body := call(t, "GET", fmt.Sprintf("%s/api/v1/cases/%d", base, id), "sue-token", "")
	var c struct {
		ExternalKey string `json:"external_key"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &c) != nil || len(c.ExternalKey) != 26 {
		t.Fatalf("case %d: %d %s", id, code, body)
	}
	return c.ExternalKey
}
