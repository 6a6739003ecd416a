package expect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing, so
// the assertions themselves can be tested; Fatalf stops the assertion's
// goroutine as the real one does.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	panic(r)
}

// run calls f against a recorder and returns it once f returns or stops.
func run(f func(t testing.TB)) (r *recorder) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
	}()
	f(r)
	return r
}

func TestErrorSays(t *testing.T) {
	err := errors.New("c.yaml:2:16: publishing.webhook_url: needs a signing secret")
	tests := []struct {
		name          string
		err           error
		parts         []string
		errors, fatal int
	}{
		{"says all", err, []string{"c.yaml:2:16", "signing secret"}, 0, 0},
		{"misses one", err, []string{"c.yaml:2:16", "colour"}, 1, 0},
		{"misses two", err, []string{"size", "colour"}, 2, 0},
		{"no error", nil, []string{"signing secret"}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(func(t testing.TB) { ErrorSays(t, tt.err, tt.parts...) })
			if len(r.errors) != tt.errors || len(r.fatals) != tt.fatal {
				t.Errorf("errors %q fatals %q", r.errors, r.fatals)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	err := errors.New("d.yaml:2:1: only one YAML document is allowed")
	tests := []struct {
		name          string
		err           error
		want          string
		wanted        bool
		errors, fatal int
	}{
		{"no error wanted, none", nil, "", false, 0, 0},
		{"no error wanted, one", err, "", false, 0, 1},
		{"error wanted, says it", err, "only one YAML document", true, 0, 0},
		{"error wanted, says other", err, "colour", true, 1, 0},
		{"error wanted, none", nil, "only one YAML document", false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wanted bool
			r := run(func(t testing.TB) { wanted = Outcome(t, tt.err, tt.want) })
			if wanted != tt.wanted || len(r.errors) != tt.errors || len(r.fatals) != tt.fatal {
				t.Errorf("wanted %v, errors %q fatals %q", wanted, r.errors, r.fatals)
			}
		})
	}
}

func TestNoSecret(t *testing.T) {
	const text = `token: refresh failed for https://acme.my.salesforce.com (invalid_grant)`
	r := run(func(t testing.TB) { NoSecret(t, "error", text, "5Aep861-refresh", "", "invalid_grant", "acme.my") })
	if len(r.errors) != 2 || len(r.fatals) != 0 {
		t.Fatalf("errors %q fatals %q", r.errors, r.fatals)
	}
	for i, s := range []string{"invalid_grant", "acme.my"} {
		if strings.Contains(r.errors[i], s) || !strings.Contains(r.errors[i], s[:6]) {
			t.Errorf("the failure %q prints more of the secret %q than its first characters, or not them", r.errors[i], s)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := WriteFile(t, dir, "client.secret", "s3cret\n")
	if path != filepath.Join(dir, "client.secret") {
		t.Errorf("path %s", path)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "s3cret\n" {
		t.Errorf("read back %q, %v", b, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	r := run(func(t testing.TB) { WriteFile(t, filepath.Join(dir, "missing"), "x", "") })
	if len(r.fatals) != 1 {
		t.Errorf("writing into a missing directory: fatals %q", r.fatals)
	}
}
