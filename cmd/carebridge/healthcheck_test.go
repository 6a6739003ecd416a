package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ready := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
			w.Write([]byte("ok"))
		case r.URL.Path == "/readyz" && ready:
			w.Write([]byte("ready"))
		case r.URL.Path == "/readyz":
			http.Error(w, "mapping not loaded", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if code, out, errs := runCmd(t, "", "healthcheck", "--url", srv.URL); code != 0 || out != srv.URL+"/healthz: OK\n" {
		t.Fatalf("healthy: %d %q %s", code, out, errs)
	}
	if code, _, errs := runCmd(t, "", "healthcheck", "--url", srv.URL, "--ready"); code != 1 || !strings.Contains(errs, "503") || !strings.Contains(errs, "mapping not loaded") {
		t.Fatalf("not ready: %d %s", code, errs)
	}
	ready = true
	if code, _, errs := runCmd(t, "", "healthcheck", "--ready", "--url", srv.URL+"/"); code != 0 {
		t.Fatalf("ready: %d %s", code, errs)
	}
	// The address comes from the config's listen (here the environment's).
	addr := strings.TrimPrefix(srv.URL, "http://")
	if code, _, errs := runEnv(t, []string{"CAREBRIDGE_LISTEN=" + addr}, "healthcheck"); code != 0 {
		t.Fatalf("from CAREBRIDGE_LISTEN: %d %s", code, errs)
	}
	srv.Close()
	if code, _, errs := runCmd(t, "", "healthcheck", "--url", srv.URL); code != 1 || !strings.Contains(errs, "healthcheck "+srv.URL) {
		t.Fatalf("down: %d %s", code, errs)
	}
	for _, args := range [][]string{{"--url", "ftp://x"}, {"--url", "http://x", "--config", "c.yaml"}, {"extra"}} {
		if code, _, _ := runCmd(t, "", append([]string{"healthcheck"}, args...)...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestListenURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":   "http://127.0.0.1:8080",
		":8080":            "http://127.0.0.1:8080",
		"0.0.0.0:9000":     "http://127.0.0.1:9000",
		"[::]:8080":        "http://127.0.0.1:8080",
		"[::1]:8080":       "http://[::1]:8080",
		"care.internal:80": "http://care.internal:80",
	} {
		if got := listenURL(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
