package sfsim

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestJsforce drives the simulator with the npm package jsforce, unchanged
// (testdata/jsforce/check.js): OAuth web-server flow with PKCE, refresh on
// 401, describe, CRUD, upsert, collections, paged query, search, limits and
// revoke. It needs node and `npm ci --prefix connector/sfsim/testdata/jsforce`;
// without them it skips, unless CAREBRIDGE_REQUIRE_NODE=1.
func TestJsforce(t *testing.T) {
	require := os.Getenv("CAREBRIDGE_REQUIRE_NODE") == "1"
	skip := func(why string) {
		if require {
			t.Fatalf("CAREBRIDGE_REQUIRE_NODE=1 but %s", why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "jsforce"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jsforce", "package.json")); err != nil {
		skip("jsforce is not installed: run npm ci --prefix connector/sfsim/testdata/jsforce")
	}

	const username = "jsforce@sfsim.test"
	// A small page size makes jsforce follow nextRecordsUrl.
	srv := startServer(t, Options{QueryBatchSize: 100, Callback: testRedirect})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"SFSIM_LOGIN_URL="+srv.LoginURL,
		"SFSIM_INSTANCE_URL="+srv.InstanceURL,
		"SFSIM_CLIENT_ID="+DefaultClientID,
		"SFSIM_CLIENT_SECRET="+DefaultClientSecret,
		"SFSIM_REDIRECT_URI="+testRedirect,
		"SFSIM_USERNAME="+username,
		// Talk to the simulator directly, never through a proxy.
		"HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("jsforce check failed: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var out struct {
		OK     bool     `json:"ok"`
		UserID string   `json:"userId"`
		Checks []string `json:"checks"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || !out.OK {
		t.Fatalf("jsforce output %q: %v", stdout.String(), err)
	}
	t.Logf("jsforce passed %d checks", len(out.Checks))
	if len(out.Checks) < 30 {
		t.Fatalf("only %d checks ran: %v", len(out.Checks), out.Checks)
	}

	// The server saw jsforce's user: login_hint made a new standard user,
	// and records carry it as creator.
	u, ok := srv.User(username)
	if !ok || u.ID[:15] != out.UserID[:15] {
		t.Fatalf("user %s = %+v, jsforce saw %s", username, u, out.UserID)
	}
	posts := srv.Records("Care_Social_Post__c")
	if len(posts) != 2 {
		t.Fatalf("want 2 message records (msg-1, msg-2), got %d", len(posts))
	}
	for _, p := range posts {
		if p["CreatedById"] != u.ID {
			t.Errorf("post %v created by %v, want %s", p["Care_Message_Id__c"], p["CreatedById"], u.ID)
		}
	}
	st := srv.Stats()
	for _, op := range []string{opToken, opQuery, opSearch, opDescribe, opCreate, opUpdate, opUpsert, opCollections, opDelete, opRevoke, opLimits} {
		if st.ByOperation[op] == 0 {
			t.Errorf("stats: no %s call counted: %+v", op, st.ByOperation)
		}
	}
	if st.ByOperation[opToken] != 3 { // code exchange, refresh, failed refresh
		t.Errorf("token calls = %d, want 3", st.ByOperation[opToken])
	}
}
