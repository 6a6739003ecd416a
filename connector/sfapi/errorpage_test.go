package sfapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// browserAccept is what Chromium sends for a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// acceptHeader sets the Accept header of every request it carries.
type acceptHeader string

func (a acceptHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if a != "" {
		r.Header.Set("Accept", string(a))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// browse sends a GET with the test browser's cookies and an Accept header.
func (e *env) browse(path, who, accept string) *http.Response {
	e.t.Helper()
	c := noRedirect()
	c.Transport = acceptHeader(accept)
	return e.request(c, "GET", path, who)
}

// A refusal a person reaches in the browser (the callback Salesforce sends
// them to, a connect link) is an HTML page with a way back; API clients keep
// the JSON error.
func TestBrowserErrorPages(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.handler = func(opts *Options) { opts.ConsoleURL = "/settings/salesforce" }
	})
	denied := func() string {
		u := e.callbackURL("alice", "user", "alice@acme.test")
		u.RawQuery = url.Values{"error": {"access_denied"}, "error_description": {"end-user denied <b>authorization</b>"},
			"state": {u.Query().Get("state")}}.Encode()
		return u.String()
	}
	expired := func() string {
		u := e.callbackURL("alice", "user", "alice@acme.test")
		q := u.Query()
		q.Set("state", "not-a-state")
		u.RawQuery = q.Encode()
		return u.String()
	}
	tests := []struct {
		name, path, who string
		status          int
		code, says      string
	}{
		{"access denied", denied(), "", 400, "salesforce_authorization_failed", "access_denied"},
		{"invalid state", expired(), "", 400, "invalid_state", "start connecting again"},
		{"connect signed out", "/oauth/salesforce/connect?as=user", "", 401, "unauthenticated", "sign in"},
		{"default connect by an agent", "/oauth/salesforce/connect?as=default", "alice", 403, "forbidden", "only a supervisor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.browse(tt.path, tt.who, browserAccept)
			page := body(t, resp)
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("browser got %d %s, want %d text/html: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, page)
			}
			for _, want := range []string{"<!doctype html>", tt.code, tt.says, `href="/settings/salesforce"`} {
				if !strings.Contains(page, want) {
					t.Errorf("page misses %q:\n%s", want, page)
				}
			}
			if strings.Contains(page, "<b>") {
				t.Errorf("Salesforce's text is not escaped:\n%s", page)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
	// The same refusals stay JSON for an API client, whether it names
	// JSON, prefers it, or says nothing.
	for _, accept := range []string{"", "application/json", "application/json, text/html;q=0.5", "*/*"} {
		resp := e.browse(expired(), "", accept)
		if got := resp.Header.Get("Content-Type"); resp.StatusCode != 400 || !strings.HasPrefix(got, "application/json") {
			t.Fatalf("Accept %q: %d %s", accept, resp.StatusCode, got)
		}
		if code := errorCode(t, resp); code != "invalid_state" {
			t.Fatalf("Accept %q: code %s", accept, code)
		}
	}
}

func TestWantsHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		browserAccept:                      true,
		"text/html":                        true,
		"":                                 false,
		"*/*":                              false,
		"application/json":                 false,
		"application/json,text/html;q=0.9": false,
		"text/html;q=0":                    false,
		"text/html, application/json":      true,
		"garbage;;=":                       false,
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		if got := wantsHTML(r); got != want {
			t.Errorf("Accept %q: wantsHTML %v, want %v", accept, got, want)
		}
	}
}
