package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// largest returns the largest incoming message the default limits allow:
// 64 KiB of text that doubles in JSON, 20 attachments with 2048-character
// URLs and 255-character types and names, names of 255 characters.
func largest(ext string) map[string]any {
	name := strings.Repeat("\u2028", 255) // 3 bytes, 6 in JSON
	att := make([]any, 20)
	for i := range att {
		att[i] = map[string]any{"url": "https://cdn.example.com/" + long(2048-len("https://cdn.example.com/")), "type": name, "name": name}
	}
	return map[string]any{
		"external_id": ext, "platform": "twitter", "profile_id": "brand", "author": name,
		"customer": map[string]any{"platform_user_id": "joe", "username": name, "first_name": name, "last_name": name},
		"text":     strings.Repeat(`"`, 65536), "attachments": att,
	}
}

// largestFields returns the most custom fields a case may hold, each at its
// largest.
func largestFields() map[string]any {
	f := make(map[string]any, 50)
	for i := range 50 {
		f[long(253)+string(rune('A'+i%26))+string(rune('a'+i/26))] = strings.Repeat(`"`, 4096)
	}
	return f
}

// send sends a raw body and discards the answer, returning its status and
// size: what is allocated is the server's work (and the transport's).
func (e *env) send(method, path, user string, body []byte) (int, int64) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(user))
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	n, _ := io.Copy(io.Discard, res.Body)
	return res.StatusCode, n
}

// BenchmarkLargestBodies sends the largest bodies the default limits allow
// at the API over HTTP and reports the bytes allocated per request and the
// size of each answer: memory per request is bounded by the limits. The
// listing is the worst answer there is: 500 of the largest messages.
func BenchmarkLargestBodies(b *testing.B) {
	e := newEnv(b)
	id := caseID(e.must(http.StatusCreated, "POST", "/api/v1/cases", "community",
		map[string]any{"message": largest("seed"), "fields": largestFields()})["case"])
	cp := path("/api/v1/cases/%d", id)
	e.must(http.StatusOK, "PATCH", cp, "alice", map[string]any{"assignee": "alice"})
	marshal := func(v any) []byte { return mustJSON(b, v) }
	n := 0
	// run sends body (with ext replaced by a new id each time) b.N times.
	run := func(b *testing.B, want int, method, path, user string, body []byte) {
		var size int64
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			n++
			send := bytes.Replace(body, []byte("$ext"), []byte("bench-"+strconv.Itoa(n)), -1)
			var status int
			if status, size = e.send(method, path, user, send); status != want {
				b.Fatalf("%s %s: %d", method, path, status)
			}
		}
		b.ReportMetric(float64(size), "answer-bytes")
	}
	b.Run("ingest", func(b *testing.B) {
		run(b, http.StatusOK, "POST", "/api/v1/messages", "community", marshal(largest("$ext")))
	})
	b.Run("escalate", func(b *testing.B) {
		m := largest("$ext")
		m["customer"].(map[string]any)["platform_user_id"] = "$ext"
		run(b, http.StatusCreated, "POST", "/api/v1/cases", "community", marshal(map[string]any{"message": m, "fields": largestFields()}))
	})
	b.Run("patch", func(b *testing.B) {
		run(b, http.StatusOK, "PATCH", cp, "bob", marshal(map[string]any{"fields": largestFields(), "priority": "high"}))
	})
	b.Run("note", func(b *testing.B) {
		run(b, http.StatusCreated, "POST", cp+"/messages", "bob",
			marshal(map[string]any{"kind": "note", "text": strings.Repeat(`"`, 65536), "mentions": repeat("sue", 20)}))
	})
	b.Run("list 500 messages", func(b *testing.B) {
		body := marshal(largest("$ext"))
		for i := range 500 {
			send := bytes.Replace(body, []byte("$ext"), []byte("list-"+strconv.Itoa(i)), 1)
			if status, _ := e.send("POST", "/api/v1/messages", "community", send); status != http.StatusOK {
				b.Fatalf("ingest: %d", status)
			}
		}
		run(b, http.StatusOK, "GET", cp+"/messages?limit=500", "alice", nil)
	})
}
