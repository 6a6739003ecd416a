package sfapi_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/sfapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// accountWorld is a test world with the account and validation routes.
func accountWorld(t *testing.T, opts ...testworld.Option) *testworld.World {
	return testworld.New(t, append(opts, testworld.WithSalesforce(sfsim.Options{}), testworld.WithRoutes(func(w *testworld.World, api *httpapi.Server) {
		(&sfapi.AccountRoutes{Pool: w.Pool, MappingFile: func() string { return w.MappingFile }}).Register(api)
	}))...)
}

// An agent learns whether their own Salesforce account is connected, and
// as whom; nobody else's.
func TestSalesforceMe(t *testing.T) {
	w := accountWorld(t, testworld.Connected())
	if b := w.Must(http.StatusOK, "GET", "/api/v1/salesforce/me", "alice", nil); b["connected"] != false || b["sf_username"] != nil {
		t.Fatalf("before connecting: %v", b)
	}
	w.Connect(tokens.KindUser, "alice", "alice@acme.test")
	b := w.Must(http.StatusOK, "GET", "/api/v1/salesforce/me", "alice", nil)
	if b["connected"] != true || b["sf_username"] != "alice@acme.test" || b["healthy"] != true {
		t.Fatalf("connected: %v", b)
	}
	if b := w.Must(http.StatusOK, "GET", "/api/v1/salesforce/me", "bob", nil); b["connected"] != false {
		t.Fatalf("bob sees alice's account: %v", b)
	}
	if b := w.Must(http.StatusOK, "GET", "/api/v1/salesforce/me", "sue", nil); b["default_holder"] != true {
		t.Fatalf("the holder: %v", b)
	}
	if a := w.Do("GET", "/api/v1/salesforce/me", "community", nil); a.Status != http.StatusForbidden {
		t.Fatalf("integration: %d", a.Status)
	}
}

// "Validate online" checks the mapping against the org's describe: a
// status value the org's picklist lacks passes the offline check and
// fails the online one.
func TestValidateMappingOnline(t *testing.T) {
	w := accountWorld(t, testworld.Connected())
	if b := w.Must(http.StatusOK, "POST", "/api/v1/mapping/validate?online=true", "sue", nil); b["ok"] != true || b["online"] != true {
		t.Fatalf("the sample mapping online: %v", b)
	}
	bad := bytes.Replace(mapping.Sample(), []byte("on_hold: Escalated"), []byte("on_hold: Parked"), 1)
	if err := os.WriteFile(w.MappingFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if b := w.Must(http.StatusOK, "POST", "/api/v1/mapping/validate", "sue", nil); b["ok"] != true {
		t.Fatalf("offline check of a bad picklist value: %v", b)
	}
	b := w.Must(http.StatusOK, "POST", "/api/v1/mapping/validate?online=true", "sue", nil)
	problems, _ := b["problems"].([]any)
	if b["ok"] != false || len(problems) == 0 || !strings.Contains(problems[0].(map[string]any)["message"].(string), "Parked") {
		t.Fatalf("online check of a bad picklist value: %v", b)
	}
	for _, tc := range []struct {
		user, query string
		status      int
	}{
		{"alice", "?online=true", http.StatusForbidden},
		{"sue", "?online=maybe", http.StatusBadRequest},
	} {
		if a := w.Do("POST", "/api/v1/mapping/validate"+tc.query, tc.user, nil); a.Status != tc.status {
			t.Errorf("%s %s: %d %s", tc.user, tc.query, a.Status, a.Raw)
		}
	}
}

// Without a healthy token the online check says to connect first.
func TestValidateMappingNotConnected(t *testing.T) {
	w := accountWorld(t)
	if a := w.Do("POST", "/api/v1/mapping/validate?online=true", "sue", nil); a.Status != http.StatusServiceUnavailable || a.Code() != "salesforce_connection_expired" {
		t.Fatalf("not connected: %d %s", a.Status, a.Raw)
	}
}
