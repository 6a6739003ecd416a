// Package testworld builds the world an end-to-end test needs, wired the
// way cmd/carebridge's serve wires the daemon, so that a fix to the wiring
// is made once: a Clock, users with bearer tokens, a bolt store on
// t.TempDir(), and on request the simulated org (through simtest.Options,
// so CAREBRIDGE_SFSIM_STRICT=1 makes it a production org), the mapping
// holder, the token pool with the default token connected through the real
// OAuth flow, the escalator, and the Care API on an httptest server with
// JSON helpers (Do, Must). Everything stops in t.Cleanup.
//
// It is a test helper: import it from _test.go files (and cmd/cbbench)
// only. It imports neither connector/outbox, connector/sfapi nor
// care/console, so that their own tests can use it; a test adds their
// routes with WithRoutes. The token pool's tests, below it, use
// connector/sfsim/simtest directly.
//
//	w := testworld.New(t, testworld.Connected())
//	w.Must(http.StatusCreated, "POST", "/api/v1/cases", "community", body)
package testworld
