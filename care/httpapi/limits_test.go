package httpapi_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
)

// long is a value no error message may echo.
func long(n int) string { return strings.Repeat("Z", n) }

// with returns a copy of the incoming message body m with key set to v
// (a "customer." prefix sets a key of the customer).
func with(m map[string]any, key string, v any) map[string]any {
	out := maps.Clone(m)
	if k, ok := strings.CutPrefix(key, "customer."); ok {
		c := maps.Clone(out["customer"].(map[string]any))
		c[k] = v
		out["customer"] = c
		return out
	}
	out[key] = v
	return out
}

// fieldsOf returns n custom fields named prefix0, prefix1, ….
func fieldsOf(prefix string, n int) map[string]any {
	f := make(map[string]any, n)
	for i := range n {
		f[fmt.Sprintf("%s%d", prefix, i)] = "v"
	}
	return f
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestRolesOnEveryRoute checks each Care route against the roles of SPEC §3
// and §4: agents write no messages in a customer's name; integration users
// act as no agent and read no views or customers.
func TestRolesOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("r-1", "joe", "brand")
	cp := path("/api/v1/cases/%d", id)
	for _, tc := range []struct {
		name, method, path, user string
		body                     any
		status                   int
	}{
		{"agent ingests", "POST", "/api/v1/messages", "alice", msg("r-2", "joe", "brand", e.clock.Now()), 403},
		{"agent escalates", "POST", "/api/v1/cases", "bob", map[string]any{"message": msg("r-3", "ann", "brand", e.clock.Now())}, 403},
		{"agent escalates into an open case", "POST", "/api/v1/cases", "alice", map[string]any{"message": msg("r-4", "joe", "brand", e.clock.Now())}, 403},
		{"integration lists a view", "GET", "/api/v1/cases?view=new", "community", nil, 403},
		{"integration lists all cases", "GET", "/api/v1/cases", "community", nil, 403},
		{"integration reads a customer", "GET", "/api/v1/customers/1", "community", nil, 403},
		{"integration reads a customer's cases", "GET", "/api/v1/customers/1/cases", "community", nil, 403},
		{"integration changes a customer", "PATCH", "/api/v1/customers/1", "community", map[string]any{"first_name": "X"}, 403},
		{"integration changes a case", "PATCH", cp, "community", map[string]any{"priority": "low"}, 403},
		{"integration deletes a case", "DELETE", cp, "community", nil, 403},
		{"integration writes a note", "POST", cp + "/messages", "community", map[string]any{"kind": "note", "text": "x"}, 403},
		{"integration replies", "POST", cp + "/messages", "community", map[string]any{"kind": "reply", "text": "x"}, 403},
		// What each role may do.
		{"supervisor escalates", "POST", "/api/v1/cases", "sue", map[string]any{"message": msg("r-5", "ann", "brand", e.clock.Now())}, 201},
		{"supervisor ingests", "POST", "/api/v1/messages", "sue", msg("r-6", "joe", "brand", e.clock.Now()), 200},
		{"integration ingests", "POST", "/api/v1/messages", "community", msg("r-7", "joe", "brand", e.clock.Now()), 200},
		{"integration reads a case", "GET", cp, "community", nil, 200},
		{"integration reads the Community state", "GET", "/api/v1/community/messages/twitter/r-1", "community", nil, 200},
		{"agent reads the Community state", "GET", "/api/v1/community/messages/twitter/r-1", "alice", nil, 200},
		{"agent reads a customer", "GET", "/api/v1/customers/1", "alice", nil, 200},
		{"agent reads a customer's cases", "GET", "/api/v1/customers/1/cases", "bob", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.state()
			r := e.do(tc.method, tc.path, tc.user, tc.body)
			if r.status != tc.status {
				t.Fatalf("%s %s as %s: %d, want %d: %s", tc.method, tc.path, tc.user, r.status, tc.status, r.raw)
			}
			if tc.status == 403 {
				if r.errCode() != "forbidden" {
					t.Errorf("code %q, want forbidden", r.errCode())
				}
				if after := e.state(); after != before {
					t.Errorf("a refused request changed the store")
				}
			}
		})
	}
}

// TestHostileWrites sends every write route values that are too long, too
// many, from the wrong role, naming ids of other records, or with unknown
// fields: each gets its status and code, and the store is left as it was.
func TestHostileWrites(t *testing.T) {
	e := newEnv(t)
	a := e.escalate("h-1", "joe", "brand")
	e.must(200, "PATCH", path("/api/v1/cases/%d", a), "alice", map[string]any{"assignee": "alice", "fields": fieldsOf("f", 49)})
	e.escalate("h-2", "ann", "brand")
	now := e.clock.Now()
	in := msg("h-new", "zed", "brand", now) // a message Care has not seen
	esc := func(m map[string]any) map[string]any { return map[string]any{"message": m} }
	cp := path("/api/v1/cases/%d", a)
	mp := cp + "/messages"
	note := func(text string, mentions ...string) map[string]any {
		return map[string]any{"kind": "note", "text": text, "mentions": mentions}
	}
	url := "https://cdn.example.com/" + long(2048-len("https://cdn.example.com/"))

	for _, tc := range []struct {
		name, method, path, user string
		body                     any
		status                   int
		code, message            string // message: a part the error must say
	}{
		// POST /api/v1/messages
		{"ingest: text too long", "POST", "/api/v1/messages", "community", with(in, "text", long(65537)), 400, "too_large", "text: 65537 bytes, at most 65536"},
		{"ingest: author too long", "POST", "/api/v1/messages", "community", with(in, "author", long(256)), 400, "too_large", "author: 256 characters, at most 255"},
		{"ingest: handle too long", "POST", "/api/v1/messages", "community", with(in, "customer.username", long(256)), 400, "too_large", "customer.username: 256 characters"},
		{"ingest: name of 256 two-byte characters", "POST", "/api/v1/messages", "community", with(in, "customer.first_name", strings.Repeat("é", 256)), 400, "too_large", "customer.first_name: 256 characters, at most 255"},
		{"ingest: last name too long", "POST", "/api/v1/messages", "community", with(in, "customer.last_name", long(300)), 400, "too_large", "customer.last_name"},
		{"ingest: too many attachments", "POST", "/api/v1/messages", "community", with(in, "attachments", repeat[any]("https://cdn.example.com/a.png", 21)), 400, "too_large", "attachments: 21, at most 20"},
		{"ingest: attachment URL too long", "POST", "/api/v1/messages", "community", with(in, "attachments", []any{url + "Z"}), 400, "too_large", "attachments[0].url: 2049 characters, at most 2048"},
		{"ingest: attachment URL with a quote", "POST", "/api/v1/messages", "community", with(in, "attachments", []any{`https://x/"onload="`}), 400, "invalid_argument", "attachments[0].url is not a URL"},
		{"ingest: attachment name too long", "POST", "/api/v1/messages", "community", with(in, "attachments", []any{"https://x/1", map[string]any{"url": "https://x/2", "name": long(256)}}), 400, "too_large", "attachments[1].name"},
		{"ingest: external id too long", "POST", "/api/v1/messages", "community", with(in, "external_id", long(257)), 400, "too_large", "external_id: 257 bytes, at most 256"},
		{"ingest: platform user id too long", "POST", "/api/v1/messages", "community", with(in, "customer.platform_user_id", long(257)), 400, "too_large", "customer.platform_user_id"},
		{"ingest: profile id too long", "POST", "/api/v1/messages", "community", with(in, "profile_id", long(257)), 400, "too_large", "profile_id"},
		{"ingest: platform too long", "POST", "/api/v1/messages", "community", with(in, "platform", long(257)), 400, "too_large", "platform"},
		{"ingest: control character in text", "POST", "/api/v1/messages", "community", with(in, "text", "hi\x00there"), 400, "invalid_argument", "text"},
		{"ingest: line break in a handle", "POST", "/api/v1/messages", "community", with(in, "customer.username", "@joe\nadmin"), 400, "invalid_argument", "customer.username"},
		{"ingest: by an agent", "POST", "/api/v1/messages", "alice", in, 403, "forbidden", ""},
		{"ingest: unknown field", "POST", "/api/v1/messages", "community", with(in, "owner_id", "005x"), 400, "invalid_json", "owner_id"},
		{"ingest: another customer's message id (a replay)", "POST", "/api/v1/messages", "community", msg("h-1", "mallory", "brand", now), 200, "", ""},

		// POST /api/v1/cases
		{"escalate: text too long", "POST", "/api/v1/cases", "community", esc(with(in, "text", long(65537))), 400, "too_large", "message.text: 65537 bytes"},
		{"escalate: too many attachments", "POST", "/api/v1/cases", "community", esc(with(in, "attachments", repeat[any]("https://x/1", 21))), 400, "too_large", "message.attachments: 21"},
		{"escalate: too many fields", "POST", "/api/v1/cases", "community", map[string]any{"message": in, "fields": fieldsOf("f", 51)}, 400, "too_large", "fields: 51, at most 50"},
		{"escalate: field value too long", "POST", "/api/v1/cases", "community", map[string]any{"message": in, "fields": map[string]any{"Tier": long(4097)}}, 400, "too_large", `fields["Tier"]: 4097 bytes, at most 4096`},
		{"escalate: field name too long", "POST", "/api/v1/cases", "community", map[string]any{"message": in, "fields": map[string]any{long(256): "v"}}, 400, "too_large", "fields: a name: 256 characters"},
		{"escalate: by an agent", "POST", "/api/v1/cases", "bob", esc(in), 403, "forbidden", ""},
		{"escalate: unknown field", "POST", "/api/v1/cases", "community", map[string]any{"message": in, "owner": "005x"}, 400, "invalid_json", "owner"},
		{"escalate: another case's message", "POST", "/api/v1/cases", "community", map[string]any{"message": msg("h-1", "mallory", "brand", now), "priority": "urgent", "fields": map[string]any{"Tier": "gold"}}, 200, "", ""},

		// PATCH /api/v1/cases/{id}
		{"patch: merged fields over the limit", "PATCH", cp, "alice", map[string]any{"fields": fieldsOf("g", 2)}, 400, "too_large", "fields: 51, at most 50"},
		{"patch: too many fields at once", "PATCH", cp, "alice", map[string]any{"fields": fieldsOf("f", 51)}, 400, "too_large", "fields: 51, at most 50"},
		{"patch: field value too long", "PATCH", cp, "bob", map[string]any{"fields": map[string]any{"f1": long(4097)}}, 400, "too_large", `fields["f1"]: 4097 bytes`},
		{"patch: field name too long", "PATCH", cp, "bob", map[string]any{"fields": map[string]any{long(256): nil}}, 400, "too_large", "fields: a name"},
		{"patch: control character in a field", "PATCH", cp, "bob", map[string]any{"fields": map[string]any{"f1": "a\x07b"}}, 400, "invalid_argument", `fields["f1"]`},
		{"patch: assignee too long", "PATCH", cp, "bob", map[string]any{"assignee": long(300)}, 400, "too_large", "assignee: 300 bytes"},
		{"patch: profile id too long", "PATCH", cp, "alice", map[string]any{"profile_id": long(300)}, 400, "too_large", "profile_id: 300 bytes"},
		{"patch: by an integration", "PATCH", cp, "community", map[string]any{"priority": "low"}, 403, "forbidden", ""},
		{"patch: an unknown case", "PATCH", "/api/v1/cases/999", "bob", map[string]any{"priority": "low"}, 404, "not_found", ""},
		{"patch: unknown field", "PATCH", cp, "bob", map[string]any{"customer_id": 2}, 400, "invalid_json", "customer_id"},
		{"delete: by an integration", "DELETE", cp, "community", nil, 403, "forbidden", ""},

		// POST /api/v1/cases/{id}/messages
		{"note: text too long", "POST", mp, "bob", note(long(65537)), 400, "too_large", "text: 65537 bytes, at most 65536"},
		{"note: too many mentions", "POST", mp, "bob", note("all of you", repeat("sue", 21)...), 400, "too_large", "mentions: 21, at most 20"},
		{"note: mention too long", "POST", mp, "bob", note("hi", long(257)), 400, "too_large", "mentions[0]: 257 bytes"},
		{"note: an unknown user mentioned", "POST", mp, "bob", note("hi", "mallory"), 400, "invalid_argument", "mallory"},
		{"note: on an unknown case", "POST", "/api/v1/cases/999/messages", "bob", note("hi"), 404, "not_found", ""},
		{"note: by an integration", "POST", mp, "community", note("hi"), 403, "forbidden", ""},
		{"reply: text too long", "POST", mp, "alice", map[string]any{"kind": "reply", "text": long(65537)}, 400, "too_large", "text: 65537 bytes"},
		{"reply: by an agent not assigned", "POST", mp, "bob", map[string]any{"kind": "reply", "text": "hi"}, 403, "not_assigned", ""},
		{"reply: unknown field", "POST", mp, "alice", map[string]any{"kind": "reply", "text": "hi", "author": "Joe"}, 400, "invalid_json", "author"},

		// PATCH /api/v1/customers/{id}
		{"customer: first name too long", "PATCH", "/api/v1/customers/1", "bob", map[string]any{"first_name": long(256)}, 400, "too_large", "first_name: 256 characters, at most 255"},
		{"customer: handle too long", "PATCH", "/api/v1/customers/1", "bob", map[string]any{"username": long(256)}, 400, "too_large", "username: 256 characters"},
		{"customer: email too long", "PATCH", "/api/v1/customers/1", "bob", map[string]any{"email": long(245) + "@example.com"}, 400, "too_large", "email: 257 characters, at most 254"},
		{"customer: line break in a name", "PATCH", "/api/v1/customers/1", "bob", map[string]any{"last_name": "Doe\r\nX-Admin: 1"}, 400, "invalid_argument", "last_name"},
		{"customer: by an integration", "PATCH", "/api/v1/customers/1", "community", map[string]any{"first_name": "X"}, 403, "forbidden", ""},
		{"customer: an unknown customer", "PATCH", "/api/v1/customers/999", "bob", map[string]any{"first_name": "X"}, 404, "not_found", ""},
		{"customer: unknown field", "PATCH", "/api/v1/customers/2", "bob", map[string]any{"platform_user_id": "joe"}, 400, "invalid_json", "platform_user_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.state()
			r := e.do(tc.method, tc.path, tc.user, tc.body)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("got %d %q, want %d %q: %.300s", r.status, r.errCode(), tc.status, tc.code, r.raw)
			}
			if tc.code != "" {
				m, _ := r.body["error"].(map[string]any)["message"].(string)
				if !strings.Contains(m, tc.message) {
					t.Errorf("message %q does not say %q", m, tc.message)
				}
				if strings.Contains(m, long(10)) || len(m) > 300 {
					t.Errorf("the error echoes the value: %.300q", m)
				}
			}
			if after := e.state(); after != before {
				t.Errorf("the store changed:\nbefore %.2000s\nafter  %.2000s", before, after)
			}
		})
	}
}

// TestLimitsAtTheirBound: values exactly at each limit are taken.
func TestLimitsAtTheirBound(t *testing.T) {
	e := newEnv(t)
	m := msg("b-1", "joe", "brand", e.clock.Now())
	m["text"] = long(65536)
	m["author"] = strings.Repeat("é", 255)
	m["attachments"] = repeat[any]("https://cdn.example.com/"+long(2048-len("https://cdn.example.com/")), 20)
	b := e.must(201, "POST", "/api/v1/cases", "community", map[string]any{"message": m, "fields": fieldsOf("f", 50)})
	cp := path("/api/v1/cases/%d", caseID(b["case"]))
	if n := len(b["case"].(map[string]any)["fields"].(map[string]any)); n != 50 {
		t.Fatalf("case has %d fields, want 50", n)
	}
	// A patch may replace fields as long as the case keeps at most 50.
	patch := fieldsOf("g", 2)
	patch["f0"], patch["f1"] = nil, nil
	e.must(200, "PATCH", cp, "alice", map[string]any{"assignee": "alice", "fields": patch})
	e.must(201, "POST", cp+"/messages", "bob", map[string]any{"kind": "note", "text": long(65536), "mentions": repeat("sue", 20)})
	e.must(200, "PATCH", "/api/v1/customers/1", "bob", map[string]any{"first_name": long(255), "email": long(242) + "@example.com"})
}

// TestConfiguredLimits: the limits given in the policy hold, in the API and
// in the store's merge of a case's fields.
func TestConfiguredLimits(t *testing.T) {
	e := newEnvWithLimits(t, care.Limits{MessageTextBytes: 10, CaseFields: 2, NameChars: 5})
	in := msg("c-1", "joe", "brand", e.clock.Now())
	in["customer"] = map[string]any{"platform_user_id": "joe", "first_name": "Joe"}
	in["text"] = long(11)
	if r := e.do("POST", "/api/v1/messages", "community", in); r.errCode() != "too_large" {
		t.Fatalf("11 bytes over a limit of 10: %d %s", r.status, r.raw)
	}
	in["text"] = long(10)
	id := caseID(e.must(201, "POST", "/api/v1/cases", "community", map[string]any{"message": in, "fields": fieldsOf("f", 2)})["case"])
	if r := e.do("PATCH", path("/api/v1/cases/%d", id), "bob", map[string]any{"fields": fieldsOf("g", 1)}); r.errCode() != "too_large" {
		t.Fatalf("a third field over a limit of 2: %d %s", r.status, r.raw)
	}
	if r := e.do("PATCH", "/api/v1/customers/1", "bob", map[string]any{"first_name": "Joseph"}); r.errCode() != "too_large" {
		t.Fatalf("6 characters over a limit of 5: %d %s", r.status, r.raw)
	}
}

// TestListingsBounded: no answer lists more than 500 messages or cases.
func TestListingsBounded(t *testing.T) {
	e := newEnv(t)
	id := e.escalate("l-0", "joe", "brand")
	mp := path("/api/v1/cases/%d/messages", id)
	for _, q := range []string{"?limit=501", "?limit=100000", "?limit=-1"} {
		if r := e.do("GET", mp+q, "alice", nil); r.status != 400 || r.errCode() != "invalid_argument" {
			t.Errorf("messages%s: %d %s", q, r.status, r.raw)
		}
	}
	if r := e.do("GET", "/api/v1/cases?limit=501", "sue", nil); r.status != 400 {
		t.Errorf("cases limit 501: %d %s", r.status, r.raw)
	}
	e.must(200, "GET", mp+"?limit=500", "alice", nil)
}
