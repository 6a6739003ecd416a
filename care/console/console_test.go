package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
)

func TestLoginForm(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := e.request(http.MethodGet, "/login", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /login: %d", r.status)
	}
	if !strings.Contains(r.body, `name="token"`) || !strings.Contains(r.body, `action="/login"`) {
		t.Fatalf("GET /login is not the sign-in form:\n%s", r.body)
	}
	if !strings.Contains(r.body, `<label for="token">`) {
		t.Error("the token field has no label")
	}
	checkHeaders(t, r, "'none'")
}

func TestLoginWrongTokenReshowsForm(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, tok := range []string{"wrong", "", token("alice") + "x", "Bearer " + token("alice")} {
		t.Run(tok, func(t *testing.T) {
			r := e.postForm("/login", url.Values{"token": {tok}}, nil)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", r.status)
			}
			if !strings.Contains(r.body, `name="token"`) || !strings.Contains(r.body, `role="alert"`) ||
				!strings.Contains(r.body, "not valid") {
				t.Fatalf("the form is not shown again with an error:\n%s", r.body)
			}
			if len(r.res.Cookies()) != 0 {
				t.Fatalf("a refused sign-in set cookies: %v", r.res.Cookies())
			}
			checkHeaders(t, r, "'none'")
		})
	}
}

func TestLoginSetsCookie(t *testing.T) {
	tests := []struct {
		name       string
		publicURL  string
		next       string
		wantName   string
		wantSecure bool
		wantSite   http.SameSite
		wantPart   bool
		wantLoc    string
	}{
		{"console over http", "http://127.0.0.1:8080", "", CookieName, false, http.SameSiteLaxMode, false, "/"},
		{"console over https", "https://care.example.com", "", CookieName, true, http.SameSiteLaxMode, false, "/"},
		{"back to a case", "", "/cases/7?view=my_open", CookieName, false, http.SameSiteLaxMode, false, "/cases/7?view=my_open"},
		{"embed over https", "https://care.example.com", "/embed/cases/3", EmbedCookieName, true, http.SameSiteNoneMode, true, "/embed/cases/3"},
		// Browsers refuse SameSite=None without Secure: over plain http the
		// embed cookie stays Lax (it works same-site, as in local tests).
		{"embed over http", "http://127.0.0.1:8080", "/embed/cases/3", EmbedCookieName, false, http.SameSiteLaxMode, false, "/embed/cases/3"},
		// http://localhost is a secure context: browsers take Secure (and
		// so SameSite=None) cookies from it, for a framed local console.
		{"embed on localhost", "http://localhost:8080", "/embed/cases/3", EmbedCookieName, true, http.SameSiteNoneMode, true, "/embed/cases/3"},
		{"console on localhost", "http://localhost:8080", "", CookieName, false, http.SameSiteLaxMode, false, "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{publicURL: tc.publicURL})
			form := url.Values{"token": {"  " + token("alice") + "\n"}}
			if tc.next != "" {
				form.Set("next", tc.next)
			}
			r := e.postForm("/login", form, nil)
			if r.status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", r.status, r.body)
			}
			if loc := r.header.Get("Location"); loc != tc.wantLoc {
				t.Fatalf("Location %q, want %q", loc, tc.wantLoc)
			}
			ck := r.cookie(tc.wantName)
			if ck == nil {
				t.Fatalf("no %s cookie in %v", tc.wantName, r.header.Values("Set-Cookie"))
			}
			if !ck.HttpOnly || ck.Secure != tc.wantSecure || ck.SameSite != tc.wantSite || ck.Partitioned != tc.wantPart || ck.Path != "/" {
				t.Fatalf("cookie %s: HttpOnly=%v Secure=%v SameSite=%v Partitioned=%v Path=%q", ck.Raw, ck.HttpOnly, ck.Secure, ck.SameSite, ck.Partitioned, ck.Path)
			}
			if ck.MaxAge != int(DefaultSessionTTL/time.Second) {
				t.Errorf("Max-Age %d, want %d", ck.MaxAge, int(DefaultSessionTTL/time.Second))
			}
			if strings.Contains(ck.Value, token("alice")) {
				t.Fatal("the cookie carries the token")
			}
			// The cookie works on the API.
			r = e.request(http.MethodGet, "/api/v1/me", nil, nil, ck)
			if r.status != http.StatusOK || !strings.Contains(r.body, `"id":"alice"`) {
				t.Fatalf("GET /api/v1/me with the cookie: %d %s", r.status, r.body)
			}
		})
	}
}

func TestLoginNextIsLocal(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, next := range []string{
		"https://evil.example/", "//evil.example/", "/\\evil.example", "http:/evil", "/api/v1/me",
		"/login", "javascript:alert(1)", "/cases/abc", "/cases/1/../../x", "/embed/cases/0",
		"/%2F%2Fevil.example", "\r\nSet-Cookie: x=y",
	} {
		t.Run(next, func(t *testing.T) {
			r := e.postForm("/login", url.Values{"token": {token("alice")}, "next": {next}}, nil)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
				t.Fatalf("next=%q: status %d Location %q, want 303 to /", next, r.status, r.header.Get("Location"))
			}
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newEnv(t, envOpts{publicURL: "https://care.example.com"})
	tests := []struct {
		name   string
		user   string
		hdr    map[string]string
		status int
		words  string
	}{
		{"integration user", "community", nil, http.StatusForbidden, "Integration accounts"},
		{"cross-site form", "alice", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, "did not come from"},
		{"same-site other origin", "alice", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden, "did not come from"},
		{"foreign Origin", "alice", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, "did not come from"},
		{"null Origin", "alice", map[string]string{"Origin": "null"}, http.StatusForbidden, "did not come from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm("/login", url.Values{"token": {token(tc.user)}}, tc.hdr)
			if r.status != tc.status || !strings.Contains(r.body, tc.words) {
				t.Fatalf("status %d, want %d with %q:\n%s", r.status, tc.status, tc.words, r.body)
			}
			if len(r.res.Cookies()) != 0 {
				t.Fatal("a refused sign-in set a cookie")
			}
		})
	}
	// The console's own origin, as a browser sends it, is accepted.
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "same-origin", "Origin": "https://care.example.com"},
		{"Origin": strings.Replace(e.srv.URL, "http://", "https://", 1)},
		{"Origin": e.srv.URL},
	} {
		r := e.postForm("/login", url.Values{"token": {token("alice")}}, hdr)
		if r.status != http.StatusSeeOther {
			t.Fatalf("sign-in with %v: %d", hdr, r.status)
		}
	}
}

// TestLoginRefusalLogged checks the log line of a refused sign-in: one
// value per key (a JSON log with a key twice keeps only one of them) and
// never the token.
func TestLoginRefusalLogged(t *testing.T) {
	e := newEnv(t, envOpts{})
	var buf bytes.Buffer
	e.con.log = slog.New(slog.NewJSONHandler(&buf, nil))
	for _, tc := range []struct{ user, reason string }{{"community", "not an agent"}, {"nobody", "unknown token"}} {
		buf.Reset()
		e.postForm("/login", url.Values{"token": {token(tc.user)}}, nil)
		line := buf.String()
		if strings.Contains(line, token(tc.user)) {
			t.Fatalf("the token reached the log: %s", line)
		}
		dec := json.NewDecoder(strings.NewReader(line))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("not a JSON log line: %q", line)
		}
		seen := map[string]string{}
		for dec.More() {
			k, _ := dec.Token()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			key := k.(string)
			if _, dup := seen[key]; dup {
				t.Fatalf("key %q twice in %s", key, line)
			}
			seen[key] = fmt.Sprint(v)
		}
		if seen["msg"] != "console sign-in refused" || seen["reason"] != tc.reason {
			t.Fatalf("log line %s", line)
		}
	}
}

func TestPagesWithoutSessionRedirect(t *testing.T) {
	e := newEnv(t, envOpts{})
	good := e.login("alice", "")
	tampered := &http.Cookie{Name: CookieName, Value: good.Value[:len(good.Value)-2] + "AA"}
	otherKey := *e.con
	otherKey.signer = newSigner(bytes.Repeat([]byte{9}, 32))
	forged := &http.Cookie{Name: CookieName, Value: otherKey.signer.seal(session{ID: "x", UserID: "alice", Expires: e.clock.Now().Add(time.Hour).Unix()})}
	tests := []struct {
		path, loc string
		cookie    *http.Cookie
		embed     bool
	}{
		{"/", "/login", nil, false},
		{"/?view=done", "/login?next=%2F%3Fview%3Ddone", nil, false},
		{"/cases/3", "/login?next=%2Fcases%2F3", nil, false},
		{"/settings/salesforce", "/login?next=%2Fsettings%2Fsalesforce", nil, false},
		{"/embed/cases/3", "/login?next=%2Fembed%2Fcases%2F3", nil, true},
		{"/", "/login", tampered, false},
		{"/", "/login", forged, false},
		{"/", "/login", &http.Cookie{Name: CookieName, Value: "garbage"}, false},
		{"/embed/cases/3", "/login?next=%2Fembed%2Fcases%2F3", &http.Cookie{Name: EmbedCookieName, Value: tampered.Value}, true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := e.request(http.MethodGet, tc.path, nil, nil, tc.cookie)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != tc.loc {
				t.Fatalf("status %d Location %q, want 303 to %q", r.status, r.header.Get("Location"), tc.loc)
			}
			anc := "'none'"
			if tc.embed {
				anc = "https://*.lightning.force.com https://*.my.salesforce.com"
			}
			checkHeaders(t, r, anc)
		})
	}
	// The embed sign-in form can be framed by Salesforce, as the embed
	// page itself; the plain one cannot.
	r := e.request(http.MethodGet, "/login?next=%2Fembed%2Fcases%2F3", nil, nil)
	checkHeaders(t, r, "https://*.lightning.force.com https://*.my.salesforce.com")
	if !strings.Contains(r.body, `value="/embed/cases/3"`) {
		t.Fatal("the embed sign-in form does not carry next")
	}
	// Signed in, /login goes on to next.
	r = e.request(http.MethodGet, "/login?next=%2Fcases%2F5", nil, nil, good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/cases/5" {
		t.Fatalf("GET /login signed in: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, envOpts{})
	ck := e.login("alice", "")
	e.clock.Advance(DefaultSessionTTL - time.Minute)
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusOK {
		t.Fatalf("before expiry: %d", r.status)
	}
	e.clock.Advance(2 * time.Minute)
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusUnauthorized {
		t.Fatalf("after expiry: %d, want 401", r.status)
	}
	if r := e.request(http.MethodGet, "/", nil, nil, ck); r.status != http.StatusSeeOther {
		t.Fatalf("page after expiry: %d, want 303", r.status)
	}
}

func TestPagesWithSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	ck := e.login("alice", "")
	for _, path := range []string{"/", "/?view=my_open&sort=priority_desc", "/cases/12", "/settings/salesforce", "/?error=org_mismatch"} {
		t.Run(path, func(t *testing.T) {
			r := e.request(http.MethodGet, path, nil, nil, ck)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			checkHeaders(t, r, "'none'")
			if r.header.Get("X-Frame-Options") != "DENY" {
				t.Error("no X-Frame-Options: DENY")
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Error("a page with a CSRF token may be cached")
			}
			checkNoInline(t, r.body)
			// The region a connect's ?error= is said in (app.js).
			if !strings.Contains(r.body, `<div id="flash" class="flash"></div>`) {
				t.Error("no flash region for the connect's error")
			}
			var b boot
			if err := json.Unmarshal([]byte(metaContent(t, r.body, "carebridge-boot")), &b); err != nil {
				t.Fatal(err)
			}
			if b.Mode != "console" || b.User.ID != "alice" || len(b.Users) != 3 {
				t.Fatalf("boot data %+v (want console mode, alice, 3 assignable users)", b)
			}
			if path == "/cases/12" && b.CaseID != 12 {
				t.Fatalf("case id %d", b.CaseID)
			}
			for _, u := range b.Users {
				if u.Role == care.RoleIntegration {
					t.Fatal("integration users offered for assignment")
				}
			}
			if csrf := metaContent(t, r.body, "csrf-token"); csrf == "" || !strings.Contains(r.body, `name="csrf" value="`+csrf+`"`) {
				t.Fatal("no CSRF token for the scripts and the sign-out form")
			}
		})
	}
	if r := e.request(http.MethodGet, "/cases/0", nil, nil, ck); r.status != http.StatusNotFound {
		t.Fatalf("/cases/0: %d", r.status)
	}
}

func TestEmbedPageFrameAncestors(t *testing.T) {
	tests := []struct {
		name string
		o    envOpts
		want string
	}{
		{"configured list", envOpts{ancestors: []string{"https://acme.lightning.force.com", "https://*.my.salesforce.com"}},
			"https://acme.lightning.force.com https://*.my.salesforce.com"},
		{"empty list", envOpts{noAncestors: true}, "'none'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.o)
			ck := e.login("alice", "/embed/cases/4")
			r := e.request(http.MethodGet, "/embed/cases/4", nil, nil, ck)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			checkHeaders(t, r, tc.want)
			if r.header.Get("X-Frame-Options") != "" {
				t.Error("X-Frame-Options would forbid the Salesforce frame")
			}
			checkNoInline(t, r.body)
			var b boot
			if err := json.Unmarshal([]byte(metaContent(t, r.body, "carebridge-boot")), &b); err != nil {
				t.Fatal(err)
			}
			if b.Mode != "embed" || b.CaseID != 4 {
				t.Fatalf("boot %+v", b)
			}
			// Every other page still refuses frames.
			r = e.request(http.MethodGet, "/", nil, nil, ck)
			checkHeaders(t, r, "'none'")
		})
	}
}

func TestSessionAuthCSRF(t *testing.T) {
	e := newEnv(t, envOpts{publicURL: "https://care.example.com"})
	caseID := e.escalate("m1", "joe", "brand", "Hello")
	alice := e.login("alice", "")
	bob := e.login("bob", "")
	csrf := e.csrfOf(alice)
	bobCSRF := e.csrfOf(bob)
	if csrf == bobCSRF {
		t.Fatal("two sessions share a CSRF token")
	}
	path := "/api/v1/cases/" + itoa(caseID)
	body := `{"priority":"high"}`
	tests := []struct {
		name   string
		method string
		hdr    map[string]string
		cookie *http.Cookie
		want   int
	}{
		{"read needs no token", http.MethodGet, nil, alice, http.StatusOK},
		{"no cookie", http.MethodGet, nil, nil, http.StatusUnauthorized},
		{"patch without token", http.MethodPatch, nil, alice, http.StatusUnauthorized},
		{"patch with forged token", http.MethodPatch, map[string]string{CSRFHeader: "forged"}, alice, http.StatusUnauthorized},
		{"patch with another session's token", http.MethodPatch, map[string]string{CSRFHeader: bobCSRF}, alice, http.StatusUnauthorized},
		{"patch with a truncated token", http.MethodPatch, map[string]string{CSRFHeader: csrf[:len(csrf)-1]}, alice, http.StatusUnauthorized},
		{"cross-site fetch", http.MethodPatch, map[string]string{CSRFHeader: csrf, "Sec-Fetch-Site": "cross-site"}, alice, http.StatusUnauthorized},
		{"foreign origin", http.MethodPatch, map[string]string{CSRFHeader: csrf, "Origin": "https://evil.example"}, alice, http.StatusUnauthorized},
		{"delete without token", http.MethodDelete, nil, alice, http.StatusUnauthorized},
		{"post without token", http.MethodPost, nil, alice, http.StatusUnauthorized},
		{"patch with token", http.MethodPatch, map[string]string{CSRFHeader: csrf}, alice, http.StatusOK},
		{"patch from the console's origin", http.MethodPatch, map[string]string{CSRFHeader: csrf, "Sec-Fetch-Site": "same-origin", "Origin": "https://care.example.com"}, alice, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/json"}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			var rd *strings.Reader
			p := path
			switch tc.method {
			case http.MethodPatch:
				rd = strings.NewReader(body)
			case http.MethodPost:
				p = path + "/messages"
				rd = strings.NewReader(`{"kind":"note","text":"x"}`)
			default:
				rd = strings.NewReader("")
			}
			r := e.request(tc.method, p, rd, hdr, tc.cookie)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}
	// Nothing refused above changed the case: only the accepted patches.
	status, c := e.apiAs("alice", http.MethodGet, path, nil)
	if status != http.StatusOK || c["priority"] != "high" || c["status"] == "deleted" {
		t.Fatalf("case after the table: %d %v", status, c)
	}
	_, msgs := e.apiAs("alice", http.MethodGet, path+"/messages", nil)
	if n := len(msgs["messages"].([]any)); n != 1 {
		t.Fatalf("a refused POST added a note: %d messages", n)
	}
	// A bearer token still works alongside, without CSRF.
	if s, _ := e.apiAs("bob", http.MethodPatch, path, map[string]any{"sentiment": "positive"}); s != http.StatusOK {
		t.Fatalf("bearer PATCH: %d", s)
	}
}

func TestUserRemovedLosesAccessAtOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	ck := e.login("bob", "")
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusOK {
		t.Fatalf("before removal: %d", r.status)
	}
	e.users.remove("bob")
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusUnauthorized {
		t.Fatalf("API after removal: %d, want 401", r.status)
	}
	if r := e.request(http.MethodGet, "/", nil, nil, ck); r.status != http.StatusSeeOther {
		t.Fatalf("page after removal: %d, want 303", r.status)
	}
	// A user whose role became integration is refused too.
	ck = e.login("alice", "")
	e.users.mu.Lock()
	e.users.users["alice"] = care.User{ID: "alice", Name: "Alice", Role: care.RoleIntegration}
	e.users.mu.Unlock()
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusUnauthorized {
		t.Fatalf("API after role change: %d, want 401", r.status)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, envOpts{})
	ck := e.login("alice", "")
	csrf := e.csrfOf(ck)
	other := e.login("alice", "") // a second browser of the same user

	r := e.postForm("/logout", url.Values{"csrf": {"forged"}}, nil, ck)
	if r.status != http.StatusForbidden {
		t.Fatalf("logout with a forged token: %d, want 403", r.status)
	}
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusOK {
		t.Fatal("a refused logout ended the session")
	}
	// A form too large to read is refused as such, and ends nothing.
	r = e.postForm("/logout", url.Values{"csrf": {csrf}, "pad": {strings.Repeat("x", maxFormBytes)}}, nil, ck)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "could not be read") {
		t.Fatalf("logout with an oversized form: %d %s, want 400", r.status, r.body)
	}
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusOK {
		t.Fatal("an unreadable logout ended the session")
	}
	r = e.postForm("/logout", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, ck)
	if r.status != http.StatusForbidden {
		t.Fatalf("cross-site logout: %d, want 403", r.status)
	}

	r = e.postForm("/logout", url.Values{"csrf": {csrf}}, nil, ck)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
	}
	cleared := r.cookie(CookieName)
	if cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Fatalf("logout did not clear the cookie: %v", r.header.Values("Set-Cookie"))
	}
	// The old cookie value is dead, even if a copy of it survived.
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, ck); r.status != http.StatusUnauthorized {
		t.Fatalf("API with a signed-out cookie: %d", r.status)
	}
	if r := e.request(http.MethodGet, "/", nil, nil, ck); r.status != http.StatusSeeOther {
		t.Fatalf("page with a signed-out cookie: %d", r.status)
	}
	// The other session goes on.
	if r := e.request(http.MethodGet, "/api/v1/me", nil, nil, other); r.status != http.StatusOK {
		t.Fatalf("the other session: %d", r.status)
	}
	// Signing out of the embed page returns to its sign-in.
	emb := e.login("alice", "/embed/cases/2")
	r = e.request(http.MethodGet, "/embed/cases/2", nil, nil, emb)
	ecsrf := metaContent(t, r.body, "csrf-token")
	r = e.postForm("/logout", url.Values{"csrf": {ecsrf}, "next": {"/embed/cases/2"}}, nil, emb)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fembed%2Fcases%2F2" || r.cookie(EmbedCookieName) == nil {
		t.Fatalf("embed logout: %d %q %v", r.status, r.header.Get("Location"), r.header.Values("Set-Cookie"))
	}
}

func TestRevocationSurvivesRestart(t *testing.T) {
	e := newEnv(t, envOpts{durable: true})
	ck := e.login("alice", "")
	keep := e.login("bob", "")
	r := e.postForm("/logout", url.Values{"csrf": {e.csrfOf(ck)}}, nil, ck)
	if r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	// A new console over the same store (a restart) still refuses it.
	restarted := e.newConsole(envOpts{durable: true})
	for _, tc := range []struct {
		ck   *http.Cookie
		want bool
	}{{ck, false}, {keep, true}} {
		req, _ := http.NewRequest(http.MethodGet, "/api/v1/me", nil)
		req.AddCookie(&http.Cookie{Name: tc.ck.Name, Value: tc.ck.Value})
		if _, ok := restarted.SessionAuth(req); ok != tc.want {
			t.Fatalf("after restart, session accepted=%v, want %v", ok, tc.want)
		}
	}
	// Once the session would have expired anyway, a restart prunes it.
	e.clock.Advance(DefaultSessionTTL + time.Minute)
	e.newConsole(envOpts{durable: true})
	left, err := e.store.KV("console-sessions").List(context.Background(), "")
	if err != nil || len(left) != 0 {
		t.Fatalf("expired revocations kept: %v %v", left, err)
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, name := range []string{"app.js", "api.js", "dom.js", "casepage.js", "salesforce.js", "console.css", "favicon.svg"} {
		t.Run(name, func(t *testing.T) {
			r := e.request(http.MethodGet, "/assets/"+name, nil, nil)
			if r.status != http.StatusOK || r.body == "" {
				t.Fatalf("status %d", r.status)
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			ct := r.header.Get("Content-Type")
			want := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}[name[strings.LastIndexByte(name, '.'):]]
			if !strings.HasPrefix(ct, want) {
				t.Errorf("Content-Type %q, want %s", ct, want)
			}
			if r.header.Get("Cache-Control") != "no-cache" {
				t.Errorf("unversioned Cache-Control %q", r.header.Get("Cache-Control"))
			}
			etag := r.header.Get("ETag")
			v := strings.Trim(etag, `"`)
			r = e.request(http.MethodGet, "/assets/"+name+"?v="+v, nil, nil)
			if !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
				t.Errorf("versioned Cache-Control %q", r.header.Get("Cache-Control"))
			}
			r = e.request(http.MethodGet, "/assets/"+name, nil, map[string]string{"If-None-Match": etag})
			if r.status != http.StatusNotModified {
				t.Errorf("If-None-Match: %d, want 304", r.status)
			}
		})
	}
	for _, bad := range []string{"/assets/nope.js", "/assets/..%2Fconsole.go", "/assets/"} {
		if r := e.request(http.MethodGet, bad, nil, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, r.status)
		}
	}
}

// TestScriptsStayCSPSafe keeps the front end within the policy it is served
// under: no inline handlers or styles, no HTML parsing of strings, no eval,
// no address other than this origin.
func TestScriptsStayCSPSafe(t *testing.T) {
	forbidden := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(['"]style|setAttribute\(['"]on|https?://(?:[a-z0-9-]+\.)+[a-z]{2,}`)
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, _ := files.ReadFile(p)
		for i, line := range strings.Split(string(src), "\n") {
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d uses %q", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tpls, _ := fs.Glob(files, "templates/*.html")
	for _, p := range tpls {
		src, _ := files.ReadFile(p)
		checkNoInline(t, string(src))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	users := newDirectory(testUsers)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no users", Options{Key: testKey}, "user directory"},
		{"short key", Options{Users: users, Key: []byte("short")}, "at least 32"},
		{"bad public url", Options{Users: users, Key: testKey, PublicURL: "ftp://x"}, "public URL"},
		{"directive injection", Options{Users: users, Key: testKey, EmbedFrameAncestors: []string{"https://a.example; script-src *"}}, "frame ancestor"},
		{"quoted keyword", Options{Users: users, Key: testKey, EmbedFrameAncestors: []string{"'unsafe-inline'"}}, "frame ancestor"},
		{"newline", Options{Users: users, Key: testKey, EmbedFrameAncestors: []string{"https://a.example\r\nX: y"}}, "frame ancestor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one about %q", err, tc.want)
			}
		})
	}
	for _, ok := range [][]string{{"'self'"}, {"https:"}, {"https://*.my.salesforce.com"}, {"http://localhost:3000"}, {"acme.my.salesforce.com"}} {
		if _, err := New(context.Background(), Options{Users: users, Key: testKey, EmbedFrameAncestors: ok}); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k := newSigner(testKey)
	s := session{ID: "abc", UserID: "alice", Expires: 1_900_000_000, Embed: true}
	v := k.seal(s)
	got, ok := k.open(v)
	if !ok || got != s {
		t.Fatalf("open(seal(s)) = %+v, %v", got, ok)
	}
	for name, bad := range map[string]string{
		"empty":          "",
		"no version":     strings.TrimPrefix(v, cookieVersion),
		"flipped mac":    flip(v, len(v)-5),
		"flipped tail":   flip(v, len(v)-1),
		"flipped body":   flip(v, len(cookieVersion)+3),
		"other key":      newSigner(bytes.Repeat([]byte{1}, 32)).seal(s),
		"payload swap":   swapMAC(k.seal(session{ID: "abc", UserID: "bob", Expires: s.Expires}), v),
		"no uid":         k.seal(session{ID: "abc", Expires: 1}),
		"csrf not a mac": cookieVersion + "e30." + k.csrf("abc"),
	} {
		if _, ok := k.open(bad); ok {
			t.Errorf("%s: opened", name)
		}
	}
	if k.csrf("a") == k.csrf("b") || !k.csrfOK("a", k.csrf("a")) || k.csrfOK("a", "") || k.csrfOK("a", k.csrf("b")) {
		t.Fatal("CSRF tokens are not bound to their session")
	}
}

// swapMAC puts the MAC of b on the payload of a.
func swapMAC(a, b string) string {
	return a[:strings.LastIndexByte(a, '.')] + b[strings.LastIndexByte(b, '.'):]
}

// flip changes the character at i of a base64url string.
func flip(v string, i int) string {
	c := byte('A')
	if v[i] == 'A' {
		c = 'B'
	}
	return v[:i] + string(c) + v[i+1:]
}

func FuzzOpenCookie(f *testing.F) {
	k := newSigner(testKey)
	f.Add(k.seal(session{ID: "a", UserID: "alice", Expires: 5}))
	f.Add("v1..")
	f.Add("v1.e30.AAAA")
	f.Fuzz(func(t *testing.T, v string) {
		// Only the exact bytes seal produces may open: no other encoding
		// of a session, and nothing without the key.
		if s, ok := k.open(v); ok && k.seal(s) != v {
			t.Fatalf("opened %q, which seal would write as %q", v, k.seal(s))
		}
	})
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/cases/1", "//x", "/\\x", "https://x", "/embed/cases/9?x=1", "/%2f%2fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		out := safeNext(next)
		u, err := url.Parse(out)
		if err != nil || !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || u.Host != "" || u.Scheme != "" ||
			strings.ContainsAny(out, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, out)
		}
	})
}

// checkHeaders asserts the security headers of a console response, with
// frame-ancestors set to anc.
func checkHeaders(t *testing.T, r reply, anc string) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors " + anc, "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if !strings.HasSuffix(csp, "frame-ancestors "+anc) {
		t.Errorf("frame-ancestors is not exactly %q: %q", anc, csp)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no X-Content-Type-Options: nosniff")
	}
	if r.header.Get("Referrer-Policy") == "" {
		t.Error("no Referrer-Policy")
	}
}

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	inlineEvent = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	inlineStyle = regexp.MustCompile(`(?i)<style\b|<[^>]+\sstyle\s*=`)
)

// checkNoInline asserts a page has no inline script, handler or style,
// which its CSP would block.
func checkNoInline(t *testing.T, html string) {
	t.Helper()
	for _, m := range scriptTag.FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %s", m[0])
		}
	}
	if m := inlineEvent.FindString(html); m != "" {
		t.Errorf("inline event handler: %s", m)
	}
	if m := inlineStyle.FindString(html); m != "" {
		t.Errorf("inline style: %s", m)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	os.Exit(code)
}

// TestScriptLimitsAreTheAPIDefaults: the maxlength and byte checks of the
// console's inputs (api.js LIMITS) are the Care API's default limits.
func TestScriptLimitsAreTheAPIDefaults(t *testing.T) {
	src, err := files.ReadFile("static/api.js")
	if err != nil {
		t.Fatal(err)
	}
	d := care.DefaultLimits()
	for name, want := range map[string]int{
		"messageTextBytes": d.MessageTextBytes, "nameChars": d.NameChars, "emailChars": d.EmailChars,
		"idBytes": d.IDBytes, "fieldNameChars": d.FieldNameChars, "fieldValueBytes": d.FieldValueBytes,
	} {
		m := regexp.MustCompile(`\b` + name + `: (\d+)`).FindSubmatch(src)
		if m == nil {
			t.Errorf("api.js LIMITS has no %s", name)
			continue
		}
		if got, _ := strconv.Atoi(string(m[1])); got != want {
			t.Errorf("api.js LIMITS.%s = %d, the API's default is %d", name, got, want)
		}
	}
}
