package console

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/carebridge/carebridge/care"
)

// TestBootCarriesConfiguredLimits: the console and embed pages give their
// scripts the API's limits, the configured ones where the config sets them
// and the defaults elsewhere, in the boot data (a meta tag: the CSP allows
// no inline script).
func TestBootCarriesConfiguredLimits(t *testing.T) {
	e := newEnv(t, envOpts{limits: care.Limits{MessageTextBytes: 280, NameChars: 50}})
	id := e.escalate("m1", "joe", "brand", "Hello")
	def := care.DefaultLimits()
	want := bootLimits{MessageTextBytes: 280, NameChars: 50, EmailChars: def.EmailChars, IDBytes: def.IDBytes,
		FieldNameChars: def.FieldNameChars, FieldValueBytes: def.FieldValueBytes}
	for _, page := range []struct{ path, next string }{{"/", ""}, {"/embed/cases/" + itoa(id), "/embed/cases/" + itoa(id)}} {
		ck := e.login("alice", page.next)
		r := e.request(http.MethodGet, page.path, nil, nil, ck)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", page.path, r.status)
		}
		var b boot
		if err := json.Unmarshal([]byte(metaContent(t, r.body, "carebridge-boot")), &b); err != nil {
			t.Fatalf("%s boot data: %v", page.path, err)
		}
		if b.Limits != want {
			t.Errorf("%s boot limits %+v, want %+v", page.path, b.Limits, want)
		}
	}
}
