package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
)

// FuzzAPIJSON feeds arbitrary bodies to the JSON endpoints: every answer is
// a known status with a JSON body, and a 4xx carries the error shape.
func FuzzAPIJSON(f *testing.F) {
	for _, seed := range []string{
		`{"external_id":"x","platform":"twitter","customer":{"platform_user_id":"u"},"text":"hi"}`,
		`{"message":{"external_id":"x","platform":"twitter","customer":{"platform_user_id":"u"}},"priority":"high","fields":{"a":"b"}}`,
		`{"status":"done","assignee":"alice","fields":{"x":null}}`,
		`{"kind":"note","text":"hi","mentions":["alice"]}`,
		`{"attachments":["a",{"url":"b"}]}`, `{`, `null`, `[]`, `{"sent_at":"yesterday"}`, "\x00",
	} {
		f.Add(seed)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	users := care.NewDirectory(testUsers)
	st, err := bolt.Open(f.TempDir(), bolt.Options{Policy: care.Policy{Grace: grace}, Clock: clk, Users: users})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	var creds []httpapi.Credential
	for _, u := range testUsers {
		creds = append(creds, httpapi.Credential{User: u, TokenSHA256: sha(token(u.ID))})
	}
	api, err := httpapi.New(httpapi.Options{Service: st, Credentials: creds, Policy: care.Policy{Grace: grace}, Clock: clk})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/api/v1/messages"}, {"POST", "/api/v1/cases"}, {"PATCH", "/api/v1/cases/1"},
			{"POST", "/api/v1/cases/1/messages"}, {"PATCH", "/api/v1/customers/1"},
		} {
			req := httptest.NewRequest(target.method, target.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token("sue"))
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q: %d %s", target.method, target.path, body, rec.Code, rec.Body)
			}
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s %s: answer is not JSON: %q", target.method, target.path, rec.Body)
			}
			if rec.Code >= 400 {
				if e, ok := out["error"].(map[string]any); !ok || e["code"] == "" {
					t.Fatalf("%s %s: %d without the error shape: %s", target.method, target.path, rec.Code, rec.Body)
				}
			}
			if rec.Code == http.StatusInternalServerError {
				t.Fatal("internal error")
			}
		}
	})
}
