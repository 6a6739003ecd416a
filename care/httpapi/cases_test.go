package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMe(t *testing.T) {
	e := newEnv(t)
	b := e.must(http.StatusOK, "GET", "/api/v1/me", "alice", nil)
	want := map[string]any{"id": "alice", "name": "Alice Agent", "email": "alice@example.com", "role": "agent"}
	for k, v := range want {
		if b[k] != v {
			t.Errorf("me.%s = %v, want %v", k, b[k], v)
		}
	}
	if len(b) != len(want) {
		t.Errorf("me has keys %v, want exactly %v", b, want)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"wrong token", "Bearer nope"},
		{"basic scheme", "Basic " + token("alice")},
		{"hash instead of token", "Bearer " + sha(token("alice"))},
		{"empty bearer", "Bearer "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
		})
	}
	// Unknown API routes also need a token, and answer the JSON error shape.
	if r := e.do("GET", "/api/v1/nope", "", nil); r.status != 401 {
		t.Errorf("unknown route without token: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/nope", "alice", nil); r.status != 404 || r.errCode() != "not_found" {
		t.Errorf("unknown route: %d %s", r.status, r.raw)
	}
	// Probes need no token.
	e.must(http.StatusOK, "GET", "/healthz", "", nil)
	e.must(http.StatusOK, "GET", "/readyz", "", nil)
}

func TestBadBodies(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("m1", "joe", "p1")
	big := `{"message":{"external_id":"x","platform":"twitter","customer":{"platform_user_id":"u"},"text":"` +
		strings.Repeat("a", 1<<20) + `"}}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed", "POST", "/api/v1/messages", `{"external_id":`, 400, "invalid_json"},
		{"not an object", "POST", "/api/v1/messages", `[1,2]`, 400, "invalid_json"},
		{"empty", "POST", "/api/v1/messages", ``, 400, "invalid_json"},
		{"trailing data", "POST", "/api/v1/messages", `{} {}`, 400, "invalid_json"},
		{"unknown field", "POST", "/api/v1/messages", `{"external_id":"x","colour":"red"}`, 400, "invalid_json"},
		{"unknown nested field", "POST", "/api/v1/cases", `{"message":{"customer":{"platform_user_id":"u","age":3}}}`, 400, "invalid_json"},
		{"wrong type", "PATCH", path("/api/v1/cases/%d", id), `{"priority":3}`, 400, "invalid_json"},
		{"oversize", "POST", "/api/v1/cases", big, 413, "body_too_large"},
		{"missing external id", "POST", "/api/v1/messages", `{"platform":"twitter","customer":{"platform_user_id":"u"}}`, 400, "invalid_argument"},
		{"bad direction", "POST", "/api/v1/messages", `{"external_id":"x","platform":"twitter","direction":"sideways","customer":{"platform_user_id":"u"}}`, 400, "invalid_argument"},
		{"bad priority", "PATCH", path("/api/v1/cases/%d", id), `{"priority":"whenever"}`, 400, "invalid_argument"},
		{"bad status", "PATCH", path("/api/v1/cases/%d", id), `{"status":"closed"}`, 400, "invalid_argument"},
		{"unknown assignee", "PATCH", path("/api/v1/cases/%d", id), `{"assignee":"mallory"}`, 400, "invalid_argument"},
		{"integration assignee", "PATCH", path("/api/v1/cases/%d", id), `{"assignee":"community"}`, 400, "invalid_argument"},
		{"bad view", "GET", "/api/v1/cases?view=everything", ``, 400, "invalid_argument"},
		{"bad sort", "GET", "/api/v1/cases?view=inbox&sort=random", ``, 400, "invalid_argument"},
		{"bad limit", "GET", "/api/v1/cases?limit=0", ``, 400, "invalid_argument"},
		{"limit too big", "GET", "/api/v1/cases?limit=501", ``, 400, "invalid_argument"},
		{"bad cursor", "GET", "/api/v1/cases?cursor=zzz", ``, 400, "invalid_argument"},
		{"unknown case", "GET", "/api/v1/cases/999", ``, 404, "not_found"},
		{"non-numeric case", "GET", "/api/v1/cases/abc", ``, 404, "not_found"},
		{"unknown customer", "GET", "/api/v1/customers/999", ``, 404, "not_found"},
		{"bad email", "PATCH", "/api/v1/customers/1", `{"email":"not-an-email"}`, 400, "invalid_argument"},
		{"bad kind", "POST", path("/api/v1/cases/%d/messages", id), `{"kind":"shout","text":"x"}`, 400, "invalid_argument"},
		{"empty note", "POST", path("/api/v1/cases/%d/messages", id), `{"kind":"note","text":"  "}`, 400, "invalid_argument"},
		{"unknown mention", "POST", path("/api/v1/cases/%d/messages", id), `{"kind":"note","text":"hi","mentions":["ghost"]}`, 400, "invalid_argument"},
		{"bad before", "GET", path("/api/v1/cases/%d/messages?before=nope", id), ``, 400, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, "sue", tc.body)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("got %d %q, want %d %q: %.300s", r.status, r.errCode(), tc.status, tc.code, r.raw)
			}
			if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Errorf("error without a message: %s", r.raw)
			}
		})
	}
	// Nothing was lost or changed by the rejected requests.
	c := e.must(200, "GET", path("/api/v1/cases/%d", id), "sue", nil)
	if c["priority"] != "medium" || c["status"] != "new" || c["assignee"] != nil {
		t.Errorf("case changed by rejected requests: %v", c)
	}
	if cs := ids(e.must(200, "GET", "/api/v1/cases", "sue", nil)); len(cs) != 1 {
		t.Errorf("cases after rejected requests: %v", cs)
	}
}

func TestEscalateAndCaseShape(t *testing.T) {
	e := newEnv(t)
	sent := e.clock.Now().Add(-time.Minute)
	m := msg("tw-1", "joe", "brand", sent)
	m["attachments"] = []any{"https://img.example/1.png", map[string]any{"url": "https://img.example/2.png", "type": "image/png"}}
	b := e.must(http.StatusCreated, "POST", "/api/v1/cases", "community",
		map[string]any{"message": m, "priority": "high", "fields": map[string]any{"Team ownership": "Care"}, "mode": "automatic"})
	if b["created"] != true {
		t.Fatalf("created = %v", b["created"])
	}
	c := b["case"].(map[string]any)
	for k, v := range map[string]any{
		"id": 1.0, "status": "new", "priority": "high", "sentiment": "none", "assignee": nil,
		"profile_id": "brand", "platform": "twitter", "customer_id": 1.0, "done_at": nil,
		"community_state": "open", "locked_for_reply": false,
		"last_customer_message_at": sent.Format(time.RFC3339), "created_at": e.clock.Now().Format(time.RFC3339),
	} {
		if c[k] != v {
			t.Errorf("case.%s = %#v, want %#v", k, c[k], v)
		}
	}
	if f := c["fields"].(map[string]any); f["Team ownership"] != "Care" {
		t.Errorf("fields = %v", f)
	}
	sf := c["salesforce"].(map[string]any)
	for _, k := range []string{"case_id", "case_number", "status", "lead_id", "contact_id", "escalated_without_contact"} {
		if _, ok := sf[k]; !ok {
			t.Errorf("salesforce block misses %s: %v", k, sf)
		}
	}
	// The message is in the case, with its attachments.
	msgs := e.must(200, "GET", "/api/v1/cases/1/messages", "alice", nil)["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("messages: %v", msgs)
	}
	m0 := msgs[0].(map[string]any)
	if m0["external_id"] != "tw-1" || m0["direction"] != "inbound" || m0["kind"] != "message" || m0["case_id"] != 1.0 {
		t.Errorf("message: %v", m0)
	}
	if att := m0["attachments"].([]any); len(att) != 2 || att[0].(map[string]any)["url"] != "https://img.example/1.png" {
		t.Errorf("attachments: %v", att)
	}
	// The customer came with it, in the API's shape: field order, the
	// display name, a null contact id while none is linked, times in UTC.
	if cu := e.do("GET", "/api/v1/customers/1", "alice", nil); cu.status != 200 || string(cu.raw) != `{"id":1,"platform":"twitter",`+
		`"platform_user_id":"joe","username":"@joe","first_name":"Joe","last_name":"Doe","name":"Joe Doe","email":"",`+
		`"salesforce_contact_id":null,"created_at":"2026-03-01T09:00:00Z","updated_at":"2026-03-01T09:00:00Z"}`+"\n" {
		t.Errorf("customer: %d %s", cu.status, cu.raw)
	}
	// A second message of the same pair joins the case (200, created false);
	// the same message again does too and adds nothing.
	b2 := e.must(http.StatusOK, "POST", "/api/v1/cases", "community", map[string]any{"message": msg("tw-2", "joe", "brand", e.clock.Now())})
	if b2["created"] != false || caseID(b2["case"]) != 1 {
		t.Errorf("second escalation: %v", b2)
	}
	e.must(http.StatusOK, "POST", "/api/v1/cases", "community", map[string]any{"message": msg("tw-2", "joe", "brand", e.clock.Now())})
	if n := len(e.must(200, "GET", "/api/v1/cases/1/messages", "alice", nil)["messages"].([]any)); n != 2 {
		t.Errorf("messages after replayed escalation: %d, want 2", n)
	}
	// Another profile is another pair: a new case.
	if id := e.escalate("tw-3", "joe", "other-brand"); id != 2 {
		t.Errorf("other profile case id %d, want 2", id)
	}
}

func TestConcurrentEscalationsMakeOneCase(t *testing.T) {
	e := newEnv(t)
	const n = 50
	var wg sync.WaitGroup
	results := make([]resp, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do("POST", "/api/v1/cases", "community",
				map[string]any{"message": msg(path("c-%d", i), "newbie", "brand", e.clock.Now())})
		}()
	}
	wg.Wait()
	created := 0
	for _, r := range results {
		switch r.status {
		case 201:
			created++
		case 200:
		default:
			t.Fatalf("escalation failed: %d %s", r.status, r.raw)
		}
		if caseID(r.body["case"]) != 1 {
			t.Fatalf("escalation landed in case %d: %s", caseID(r.body["case"]), r.raw)
		}
	}
	if created != 1 {
		t.Fatalf("%d escalations created a case, want exactly 1", created)
	}
	all := ids(e.must(200, "GET", "/api/v1/cases", "sue", nil))
	if len(all) != 1 {
		t.Fatalf("cases: %v", all)
	}
	if msgs := e.must(200, "GET", "/api/v1/cases/1/messages", "sue", nil)["messages"].([]any); len(msgs) != n {
		t.Fatalf("case has %d messages, want %d", len(msgs), n)
	}
	if cs := e.must(200, "GET", "/api/v1/customers/1/cases", "sue", nil)["cases"].([]any); len(cs) != 1 {
		t.Fatalf("customer has %d cases", len(cs))
	}
}

func TestConcurrentIngestAndEscalationKeepOneOpenCase(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("first", "joe", "brand")
	e.must(200, "PATCH", path("/api/v1/cases/%d", id), "sue", map[string]any{"assignee": "alice", "status": "done"})
	e.clock.Advance(grace + time.Second) // the case is closed now
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				e.do("POST", "/api/v1/cases", "community", map[string]any{"message": msg(path("e-%d", i), "joe", "brand", e.clock.Now())})
			} else {
				e.do("POST", "/api/v1/messages", "community", msg(path("i-%d", i), "joe", "brand", e.clock.Now()))
			}
		}()
	}
	wg.Wait()
	open := 0
	for _, c := range e.must(200, "GET", "/api/v1/customers/1/cases", "sue", nil)["cases"].([]any) {
		if st := c.(map[string]any)["status"]; st != "done" {
			open++
		}
	}
	if open != 1 {
		t.Fatalf("%d open cases for the pair, want 1", open)
	}
}

func TestIngest(t *testing.T) {
	e := newEnv(t)
	// No case for the pair yet: Care keeps the message but no case takes it.
	b := e.must(http.StatusAccepted, "POST", "/api/v1/messages", "community", msg("in-0", "joe", "brand", e.clock.Now()))
	if b["case_id"] != nil || b["case_event"] != "none" {
		t.Fatalf("ingest without a case: %v", b)
	}
	if r := e.do("GET", "/api/v1/community/messages/twitter/in-0", "community", nil); r.status != 404 {
		t.Errorf("community status of an untaken message: %d", r.status)
	}
	id := e.escalate("esc-1", "joe", "brand")
	b = e.must(http.StatusOK, "POST", "/api/v1/messages", "community", msg("in-1", "joe", "brand", e.clock.Now()))
	if caseID(map[string]any{"id": b["case_id"]}) != id || b["case_event"] != "appended" {
		t.Fatalf("ingest into the open case: %v", b)
	}
	first := b["message"].(map[string]any)["id"]
	// A replay answers the first result and adds nothing.
	for range 3 {
		r := e.must(http.StatusOK, "POST", "/api/v1/messages", "community", msg("in-1", "joe", "brand", e.clock.Now()))
		if r["message"].(map[string]any)["id"] != first || r["case_event"] != "appended" {
			t.Fatalf("replay: %v", r)
		}
	}
	if n := len(e.must(200, "GET", path("/api/v1/cases/%d/messages", id), "alice", nil)["messages"].([]any)); n != 2 {
		t.Fatalf("case has %d messages after replays, want 2", n)
	}
	// The same external id on another platform is another message.
	other := msg("in-1", "joe", "brand", e.clock.Now())
	other["platform"] = "facebook"
	if r := e.must(http.StatusAccepted, "POST", "/api/v1/messages", "community", other); r["message"].(map[string]any)["id"] == first {
		t.Fatal("facebook message took the twitter message's id")
	}
	// Agents may not ingest; supervisors may.
	if r := e.do("POST", "/api/v1/messages", "alice", msg("in-2", "joe", "brand", e.clock.Now())); r.status != 403 {
		t.Errorf("agent ingest: %d", r.status)
	}
	e.must(http.StatusOK, "POST", "/api/v1/messages", "sue", msg("in-3", "joe", "brand", e.clock.Now()))
	// A later customer message moves last_customer_message_at.
	e.clock.Advance(time.Hour)
	e.must(http.StatusOK, "POST", "/api/v1/messages", "community", msg("in-4", "joe", "brand", e.clock.Now()))
	c := e.must(200, "GET", path("/api/v1/cases/%d", id), "alice", nil)
	if c["last_customer_message_at"] != e.clock.Now().Format(time.RFC3339) {
		t.Errorf("last_customer_message_at = %v", c["last_customer_message_at"])
	}
	// An outbound message of the brand joins without touching it.
	out := msg("out-1", "joe", "brand", e.clock.Now().Add(time.Minute))
	out["direction"] = "outbound"
	e.must(http.StatusOK, "POST", "/api/v1/messages", "community", out)
	if c2 := e.must(200, "GET", path("/api/v1/cases/%d", id), "alice", nil); c2["last_customer_message_at"] != c["last_customer_message_at"] {
		t.Errorf("outbound message moved last_customer_message_at")
	}
}

func TestGracePeriodAndReopening(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("m-1", "joe", "brand")
	casePath := path("/api/v1/cases/%d", id)
	// Done needs an assignee.
	if r := e.do("PATCH", casePath, "alice", map[string]any{"status": "done"}); r.status != 409 || r.errCode() != "case_unassigned" {
		t.Fatalf("done unassigned: %d %s", r.status, r.raw)
	}
	c := e.must(200, "PATCH", casePath, "alice", map[string]any{"assignee": "alice", "status": "done"})
	if c["status"] != "done" || c["done_at"] != e.clock.Now().Format(time.RFC3339) || c["community_state"] != "open" {
		t.Fatalf("done: %v", c)
	}
	// Within grace an inbound message reopens the case.
	e.clock.Advance(grace - time.Minute)
	b := e.must(200, "POST", "/api/v1/messages", "community", msg("m-2", "joe", "brand", e.clock.Now()))
	if b["case_event"] != "reopened" {
		t.Fatalf("within grace: %v", b)
	}
	c = e.must(200, "GET", casePath, "alice", nil)
	if c["status"] != "open" || c["done_at"] != nil || c["assignee"] != "alice" {
		t.Fatalf("reopened case: %v", c)
	}
	// A pending case reopens too.
	e.must(200, "PATCH", casePath, "alice", map[string]any{"status": "pending"})
	if b := e.must(200, "POST", "/api/v1/messages", "community", msg("m-3", "joe", "brand", e.clock.Now())); b["case_event"] != "reopened" {
		t.Fatalf("pending: %v", b)
	}
	// on_hold takes the message without reopening.
	e.must(200, "PATCH", casePath, "alice", map[string]any{"status": "on_hold"})
	if b := e.must(200, "POST", "/api/v1/messages", "community", msg("m-4", "joe", "brand", e.clock.Now())); b["case_event"] != "appended" {
		t.Fatalf("on_hold: %v", b)
	}
	if c := e.must(200, "GET", casePath, "alice", nil); c["status"] != "on_hold" {
		t.Fatalf("on_hold case changed status: %v", c["status"])
	}
	// After grace the done case takes nothing and Community sees it closed.
	e.must(200, "PATCH", casePath, "alice", map[string]any{"status": "done"})
	e.clock.Advance(grace)
	if b := e.must(202, "POST", "/api/v1/messages", "community", msg("m-5", "joe", "brand", e.clock.Now())); b["case_event"] != "none" {
		t.Fatalf("after grace: %v", b)
	}
	st := e.must(200, "GET", "/api/v1/community/messages/twitter/m-1", "community", nil)
	if st["locked"] != false || st["community_state"] != "closed" || st["case_id"] != float64(id) {
		t.Fatalf("community after grace: %v", st)
	}
	// A new escalation of the pair makes a new case now.
	if id2 := e.escalate("m-6", "joe", "brand"); id2 == id {
		t.Fatal("escalation after grace joined the closed case")
	}
	// Reopening the old case by hand would give the pair two open cases.
	if r := e.do("PATCH", casePath, "alice", map[string]any{"status": "open"}); r.status != 409 || r.errCode() != "open_case_exists" {
		t.Fatalf("manual reopen with another open case: %d %s", r.status, r.raw)
	}
}

func TestZeroGraceClosesAtOnce(t *testing.T) {
	e := newEnv(t)
	e.stop()
	// Rebuild with grace 0 on the same directory.
	dir := e.dir
	e2 := &env{t: t, dir: dir, clock: e.clock}
	e2.startWithGrace(0)
	t.Cleanup(e2.stop)
	id := e2.escalate("z-1", "joe", "brand")
	e2.must(200, "PATCH", path("/api/v1/cases/%d", id), "alice", map[string]any{"assignee": "alice", "status": "done"})
	if b := e2.must(202, "POST", "/api/v1/messages", "community", msg("z-2", "joe", "brand", e.clock.Now())); b["case_event"] != "none" {
		t.Fatalf("grace 0: %v", b)
	}
	if st := e2.must(200, "GET", "/api/v1/community/messages/twitter/z-1", "alice", nil); st["community_state"] != "closed" {
		t.Fatalf("grace 0 community: %v", st)
	}
}

func TestCommunityLockTable(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("c-1", "joe", "brand")
	e.must(200, "PATCH", path("/api/v1/cases/%d", id), "alice", map[string]any{"assignee": "alice"})
	for _, tc := range []struct {
		status  string
		advance time.Duration
		locked  bool
		state   string
	}{
		{"new", 0, true, "open"},
		{"open", 0, true, "open"},
		{"pending", 0, true, "open"},
		{"on_hold", 0, true, "open"},
		{"done", grace - time.Second, true, "open"},
		{"done", grace, false, "closed"},
		{"spam", 0, false, "closed"},
		{"deleted", 0, false, "closed"},
	} {
		t.Run(tc.status+"/"+tc.advance.String(), func(t *testing.T) {
			e.must(200, "PATCH", path("/api/v1/cases/%d", id), "alice", map[string]any{"status": tc.status})
			e.clock.Advance(tc.advance)
			defer e.clock.Advance(-tc.advance)
			st := e.must(200, "GET", "/api/v1/community/messages/twitter/c-1", "community", nil)
			if st["locked"] != tc.locked || st["community_state"] != tc.state || st["case_id"] != float64(id) {
				t.Fatalf("got %v", st)
			}
			if c := e.must(200, "GET", path("/api/v1/cases/%d", id), "alice", nil); c["community_state"] != tc.state {
				t.Fatalf("case community_state %v, want %s", c["community_state"], tc.state)
			}
		})
	}
	if r := e.do("GET", "/api/v1/community/messages/twitter/never", "community", nil); r.status != 404 || r.errCode() != "not_found" {
		t.Fatalf("unknown message: %d %s", r.status, r.raw)
	}
}

func TestPermissions(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("p-1", "joe", "")
	cp := path("/api/v1/cases/%d", id)
	mp := cp + "/messages"
	reply := map[string]any{"kind": "reply", "reply_type": "public_reply", "text": "Happy to help!"}

	t.Run("integration users cannot act as agents", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"PATCH", cp, map[string]any{"priority": "high"}},
			{"DELETE", cp, nil},
			{"POST", mp, map[string]any{"kind": "note", "text": "hi"}},
			{"GET", "/api/v1/cases?view=inbox", nil},
			{"PATCH", "/api/v1/customers/1", map[string]any{"email": "joe@example.com"}},
		} {
			if r := e.do(tc.method, tc.path, "community", tc.body); r.status != 403 {
				t.Errorf("%s %s as integration: %d %s", tc.method, tc.path, r.status, r.raw)
			}
		}
	})
	t.Run("agents change cases they are not assigned", func(t *testing.T) {
		c := e.must(200, "PATCH", cp, "bob", map[string]any{"priority": "urgent", "sentiment": "negative",
			"fields": map[string]any{"Team ownership": "Salesforce", "Tier": "gold"}})
		if c["priority"] != "urgent" || c["sentiment"] != "negative" {
			t.Fatalf("patch: %v", c)
		}
		c = e.must(200, "PATCH", cp, "alice", map[string]any{"fields": map[string]any{"Tier": nil}})
		if f := c["fields"].(map[string]any); f["Tier"] != nil || f["Team ownership"] != "Salesforce" {
			t.Fatalf("fields merge: %v", f)
		}
		cu := e.must(200, "PATCH", "/api/v1/customers/1", "bob", map[string]any{"email": "joe@example.com", "first_name": "Joseph"})
		if cu["email"] != "joe@example.com" || cu["first_name"] != "Joseph" || cu["last_name"] != "Doe" {
			t.Fatalf("customer patch: %v", cu)
		}
	})
	t.Run("assigning a new case opens it", func(t *testing.T) {
		c := e.must(200, "PATCH", cp, "bob", map[string]any{"assignee": "alice"})
		if c["status"] != "open" || c["assignee"] != "alice" {
			t.Fatalf("assign: %v", c)
		}
	})
	t.Run("only the assignee replies or sets the profile", func(t *testing.T) {
		if r := e.do("POST", mp, "bob", reply); r.status != 403 || r.errCode() != "not_assigned" {
			t.Fatalf("reply by non-assignee: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", mp, "sue", reply); r.status != 403 || r.errCode() != "not_assigned" {
			t.Fatalf("reply by unassigned supervisor: %d %s", r.status, r.raw)
		}
		if r := e.do("PATCH", cp, "bob", map[string]any{"profile_id": "brand"}); r.status != 403 || r.errCode() != "not_assigned" {
			t.Fatalf("profile by non-assignee: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", mp, "alice", reply); r.status != 409 || r.errCode() != "no_profile" {
			t.Fatalf("reply without profile: %d %s", r.status, r.raw)
		}
		e.must(200, "PATCH", cp, "alice", map[string]any{"profile_id": "brand"})
		m := e.must(201, "POST", mp, "alice", reply)
		if m["direction"] != "outbound" || m["kind"] != "message" || m["author_id"] != "alice" || m["via"] != "care" {
			t.Fatalf("reply: %v", m)
		}
		if r := e.do("PATCH", cp, "alice", map[string]any{"profile_id": "other"}); r.status != 409 || r.errCode() != "profile_locked" {
			t.Fatalf("profile after reply: %d %s", r.status, r.raw)
		}
	})
	t.Run("notes by anyone, mentions indexed", func(t *testing.T) {
		n := e.must(201, "POST", mp, "bob", map[string]any{"kind": "note", "text": "@sue look", "mentions": []string{"sue"}})
		if n["kind"] != "note" {
			t.Fatalf("note: %v", n)
		}
		if got := ids(e.must(200, "GET", "/api/v1/cases?view=my_mentions", "sue", nil)); !slices.Equal(got, []int64{id}) {
			t.Fatalf("sue's mentions: %v", got)
		}
		// The Community side does not see notes.
		for _, m := range e.must(200, "GET", mp, "community", nil)["messages"].([]any) {
			if m.(map[string]any)["kind"] == "note" {
				t.Fatal("integration user sees a note")
			}
		}
	})
	t.Run("mark_pending", func(t *testing.T) {
		e.must(201, "POST", mp, "alice", map[string]any{"kind": "reply", "reply_type": "direct_message", "text": "DM sent", "mark_pending": true})
		if c := e.must(200, "GET", cp, "alice", nil); c["status"] != "pending" {
			t.Fatalf("status after mark_pending: %v", c["status"])
		}
	})
	t.Run("unassign keeps status; done needs an assignee", func(t *testing.T) {
		c := e.must(200, "PATCH", cp, "bob", map[string]any{"assignee": nil})
		if c["assignee"] != nil || c["status"] != "pending" {
			t.Fatalf("unassign: %v", c)
		}
		if r := e.do("PATCH", cp, "sue", map[string]any{"status": "done"}); r.errCode() != "case_unassigned" {
			t.Fatalf("done unassigned: %s", r.raw)
		}
	})
	t.Run("deleted is final", func(t *testing.T) {
		c := e.must(200, "DELETE", cp, "bob", nil)
		if c["status"] != "deleted" {
			t.Fatalf("delete: %v", c)
		}
		for _, body := range []map[string]any{{"status": "open"}, {"priority": "low"}, {"assignee": "alice"}} {
			if r := e.do("PATCH", cp, "sue", body); r.status != 409 || r.errCode() != "invalid_transition" {
				t.Fatalf("patch deleted %v: %d %s", body, r.status, r.raw)
			}
		}
		e.must(200, "DELETE", cp, "sue", nil) // deleting again changes nothing
	})
	t.Run("any status may follow any other", func(t *testing.T) {
		id := e.escalate("p-2", "ann", "brand")
		cp := path("/api/v1/cases/%d", id)
		e.must(200, "PATCH", cp, "alice", map[string]any{"assignee": "bob"})
		for _, st := range []string{"spam", "done", "new", "on_hold", "pending", "open", "spam", "new", "done", "open"} {
			if c := e.must(200, "PATCH", cp, "alice", map[string]any{"status": st}); c["status"] != st {
				t.Fatalf("status %s: %v", st, c["status"])
			}
		}
	})
}

func TestRepliesLockedToSalesforce(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("s-1", "joe", "brand")
	e.must(200, "PATCH", path("/api/v1/cases/%d", id), "alice", map[string]any{"assignee": "alice"})
	// Record a Salesforce case on the Care case, as the escalation will.
	if _, err := e.store.SetSalesforceLink(t.Context(), id, func(l *care.SalesforceLink) { l.CaseID, l.CaseNumber = "500000000000001AAA", "00001001" }); err != nil {
		t.Fatal(err)
	}
	c := e.must(200, "GET", path("/api/v1/cases/%d", id), "alice", nil)
	if c["locked_for_reply"] != true || c["salesforce"].(map[string]any)["case_number"] != "00001001" {
		t.Fatalf("case: %v", c)
	}
	mp := path("/api/v1/cases/%d/messages", id)
	if r := e.do("POST", mp, "alice", map[string]any{"kind": "reply", "text": "hi"}); r.status != 423 || r.errCode() != "locked_to_salesforce" {
		t.Fatalf("care reply: %d %s", r.status, r.raw)
	}
	if m := e.must(201, "POST", mp, "alice", map[string]any{"kind": "reply", "text": "hi", "via": "salesforce"}); m["via"] != "salesforce" {
		t.Fatalf("salesforce reply: %v", m)
	}
	e.must(201, "POST", mp, "alice", map[string]any{"kind": "note", "text": "notes still work"})
}

func TestMessagesPaging(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("pg-0", "joe", "brand")
	start := e.clock.Now()
	// Arrive out of order: listing is by sent time.
	for _, i := range []int{5, 1, 9, 3, 7, 2, 8, 4, 6} {
		e.must(200, "POST", "/api/v1/messages", "community", msg(path("pg-%d", i), "joe", "brand", start.Add(time.Duration(i)*time.Minute)))
	}
	mp := path("/api/v1/cases/%d/messages", id)
	texts := func(b map[string]any) []string {
		var out []string
		for _, m := range b["messages"].([]any) {
			out = append(out, m.(map[string]any)["external_id"].(string))
		}
		return out
	}
	if got := texts(e.must(200, "GET", mp+"?limit=4", "alice", nil)); !slices.Equal(got, []string{"pg-6", "pg-7", "pg-8", "pg-9"}) {
		t.Fatalf("latest 4: %v", got)
	}
	first := e.must(200, "GET", mp+"?limit=4", "alice", nil)["messages"].([]any)[0].(map[string]any)["id"].(string)
	if got := texts(e.must(200, "GET", mp+"?limit=4&before="+first, "alice", nil)); !slices.Equal(got, []string{"pg-2", "pg-3", "pg-4", "pg-5"}) {
		t.Fatalf("page before: %v", got)
	}
	if got := texts(e.must(200, "GET", mp, "alice", nil)); len(got) != 10 || got[0] != "pg-0" {
		t.Fatalf("all: %v", got)
	}
	if r := e.do("GET", mp+"?limit=501", "alice", nil); r.status != 400 {
		t.Fatalf("limit 501: %d", r.status)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("r-1", "joe", "brand")
	e.must(200, "PATCH", path("/api/v1/cases/%d", id), "alice", map[string]any{"assignee": "alice", "fields": map[string]any{"k": "v"}})
	e.must(201, "POST", path("/api/v1/cases/%d/messages", id), "bob", map[string]any{"kind": "note", "text": "n", "mentions": []string{"alice"}})
	ing := e.must(200, "POST", "/api/v1/messages", "community", msg("r-2", "joe", "brand", e.clock.Now()))
	before := e.must(200, "GET", path("/api/v1/cases/%d", id), "alice", nil)
	msgsBefore := e.must(200, "GET", path("/api/v1/cases/%d/messages", id), "alice", nil)

	e.restart()

	after := e.must(200, "GET", path("/api/v1/cases/%d", id), "alice", nil)
	if string(mustJSON(t, before)) != string(mustJSON(t, after)) {
		t.Fatalf("case changed across restart:\n%v\n%v", before, after)
	}
	if string(mustJSON(t, msgsBefore)) != string(mustJSON(t, e.must(200, "GET", path("/api/v1/cases/%d/messages", id), "alice", nil))) {
		t.Fatal("messages changed across restart")
	}
	// Replays still dedupe, ids keep counting, views and indexes are intact.
	if r := e.must(200, "POST", "/api/v1/messages", "community", msg("r-2", "joe", "brand", e.clock.Now())); r["message"].(map[string]any)["id"] != ing["message"].(map[string]any)["id"] {
		t.Fatal("replay after restart made a new message")
	}
	if got := ids(e.must(200, "GET", "/api/v1/cases?view=my_open", "alice", nil)); !slices.Equal(got, []int64{id}) {
		t.Fatalf("my_open after restart: %v", got)
	}
	if got := ids(e.must(200, "GET", "/api/v1/cases?view=my_mentions", "alice", nil)); !slices.Equal(got, []int64{id}) {
		t.Fatalf("my_mentions after restart: %v", got)
	}
	if id2 := e.escalate("r-3", "ann", "brand"); id2 != id+1 {
		t.Fatalf("next case id %d, want %d", id2, id+1)
	}
}
