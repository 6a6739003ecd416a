package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/carebridge/carebridge/connector/tokens"
)

// TestLostSecretKeyDaemon (SPEC §12 "Lost key"): restarted with another
// secret key, the daemon starts, Care works, the connection reads
// not_connected with the reason, and a reconnect replaces the tokens.
func TestLostSecretKeyDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	_, bin, cfg, _ := simDaemon(t)
	secret := envClientSecret
	keyA := tokens.EnvSecretKey + "=" + strings.Repeat("a1", 32)
	keyB := tokens.EnvSecretKey + "=" + strings.Repeat("b2", 32)

	p := startDaemon(t, bin, cfg, secret, keyA)
	base := "http://" + p.addr
	connectDefault(t, base, "sue-token", "admin@sfsim.test")
	p.stop(t, syscall.SIGTERM)

	p = startDaemon(t, bin, cfg, secret, keyB)
	escalation := `{"message":{"external_id":"x1","platform":"twitter","profile_id":"brand","customer":{"platform_user_id":"joe"},"text":"hello"}}`
	if code, body := call(t, "POST", base+"/api/v1/cases", "sue-token", escalation); code != 201 {
		t.Fatalf("Care with another key: %d %s", code, body)
	}
	_, conn := call(t, "GET", base+"/api/v1/salesforce/connection", "sue-token", "")
	if !strings.Contains(conn, `"state":"not_connected"`) || !strings.Contains(conn, `"error":"secret key changed: reconnect"`) {
		t.Fatalf("connection with another key: %s", conn)
	}
	connectDefault(t, base, "sue-token", "admin@sfsim.test")
	if _, conn = call(t, "GET", base+"/api/v1/salesforce/connection", "sue-token", ""); !strings.Contains(conn, `"state":"connected"`) ||
		!strings.Contains(conn, `"error":null`) {
		t.Fatalf("after reconnect: %s", conn)
	}
	p.stop(t, syscall.SIGTERM)
}
