package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestCaseProfileLock: the case JSON says whether the profile is fixed and
// why, by the whole case: a reply older than the latest page of messages
// still locks it (the page a client loads first holds no outbound message),
// the refusal agrees, and a deleted case says so.
func TestCaseProfileLock(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("first", "joe", "brand")
	cp, mp := path("/api/v1/cases/%d", id), path("/api/v1/cases/%d/messages", id)
	lock := func(want bool, reason string) {
		t.Helper()
		c := e.must(http.StatusOK, "GET", cp, "bob", nil)
		if c["profile_locked"] != want || (reason == "" && c["profile_lock_reason"] != nil) || (reason != "" && c["profile_lock_reason"] != reason) {
			t.Fatalf("profile lock: got %v %v, want %v %q", c["profile_locked"], c["profile_lock_reason"], want, reason)
		}
	}
	e.must(http.StatusOK, "PATCH", cp, "alice", map[string]any{"assignee": "alice"})
	lock(false, "")

	e.must(http.StatusCreated, "POST", mp, "alice", map[string]any{"kind": "reply", "reply_type": "public_reply", "text": "We are on it."})
	for i := range 150 {
		e.clock.Advance(time.Second)
		e.must(http.StatusOK, "POST", "/api/v1/messages", "community", msg(fmt.Sprintf("later-%d", i), "joe", "brand", e.clock.Now()))
	}
	page := e.must(http.StatusOK, "GET", mp+"?limit=100", "bob", nil)["messages"].([]any)
	for _, m := range page {
		if m.(map[string]any)["direction"] == "outbound" {
			t.Fatal("the latest 100 messages hold the reply: the test needs it older")
		}
	}
	lock(true, "outbound_message")
	if r := e.do("PATCH", cp, "alice", map[string]any{"profile_id": "other"}); r.status != http.StatusConflict || r.errCode() != "profile_locked" {
		t.Fatalf("profile change after an old reply: %d %s", r.status, r.raw)
	}

	fresh := e.escalate("second", "ann", "brand")
	e.must(http.StatusOK, "DELETE", path("/api/v1/cases/%d", fresh), "alice", nil)
	if c := e.must(http.StatusOK, "GET", path("/api/v1/cases/%d", fresh), "sue", nil); c["profile_locked"] != true || c["profile_lock_reason"] != "deleted" {
		t.Fatalf("deleted case: %v %v", c["profile_locked"], c["profile_lock_reason"])
	}
}
