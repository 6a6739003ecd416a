// Package expect holds the few assertions that the tests of many packages
// spelled out the same way: an error that must say certain things, a table
// row that wants either no error or one that says something, and text
// (an error, a log, an answer) that must not hold a secret; and the one
// chore they all repeat before asserting, writing a file for the code under
// test to read. It imports the standard library only, so the tests of any
// package can use it, the simulator's and the client's alike. Import it
// from _test.go files only.
package expect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ErrorSays fails the test unless err is an error whose text holds every
// one of parts; a nil err stops the test.
func ErrorSays(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

// Outcome checks the error of a table row: want "" wants no error (any
// error stops the test), else err must say want (see ErrorSays). It
// reports whether an error was wanted, so that the row can return before
// checking the result:
//
//	if expect.Outcome(t, err, tt.wantErr) {
//		return
//	}
func Outcome(t testing.TB, err error, want string) (wantedError bool) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	ErrorSays(t, err, want)
	return true
}

// NoSecret fails the test for each secret that text holds in clear; what
// names the text (an error, the logs, an answer) in the failure, which
// names the secret by its first characters only. An empty secret is passed
// over.
func NoSecret(t testing.TB, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s holds a secret (%.6s…) in clear", what, s)
		}
	}
}

// WriteFile writes content to the file name in dir (mode 0600: fixtures
// may hold secrets) and returns its path; a failure stops the test.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return path
}
