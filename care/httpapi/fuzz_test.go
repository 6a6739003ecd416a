package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/connector/testworld"
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
	api := testworld.New(f, testworld.NoServer()).API
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
