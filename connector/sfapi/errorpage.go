// Refusals of the browser-facing routes: a person who clicked "Connect" or
// came back from Salesforce's login page gets a short HTML page with a way
// back, an API client the JSON error of every other route.

package sfapi

import (
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/carebridge/carebridge/care/httpapi"
)

// wantsHTML reports whether the client asks for HTML before JSON: a browser
// (Accept: text/html,...,*/*;q=0.8). A client that names neither, or
// prefers application/json, gets JSON.
func wantsHTML(r *http.Request) bool {
	var html, json float64 = -1, -1
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			html = max(html, q)
		case "application/json":
			json = max(json, q)
		}
	}
	return html > 0 && html >= json
}

// refuse answers a refused browser-facing request: HTML for a browser, the
// API's JSON error otherwise. msg never holds a secret.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if !wantsHTML(r) {
		httpapi.WriteError(w, status, code, msg)
		return
	}
	h.errorPage(w, status, code, msg)
}

// errorPageTitles are the pages' headings by error code; others read
// "Salesforce is not connected".
var errorPageTitles = map[string]string{
	"invalid_state":                   "This Salesforce connect has expired",
	"salesforce_authorization_failed": "Salesforce did not authorize the connection",
	"salesforce_unavailable":          "Salesforce could not be reached",
	"unauthenticated":                 "Sign in to carebridge first",
	"forbidden":                       "You cannot connect this Salesforce token",
	"too_many_requests":               "Too many connects are pending",
	"internal":                        "Something went wrong in carebridge",
}

var errorPageTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · carebridge</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .2rem}a{color:#0b5cad}</style></head>
<body><main><h1>{{.Title}}</h1>
<p>{{.Message}}</p>
<p class="code">Error code: <code>{{.Code}}</code> (HTTP {{.Status}})</p>
<p><a href="{{.Back}}">Back to the Salesforce settings in carebridge</a></p>
</main></body></html>
`))

// errorPage writes the HTML page of a refusal, with a link back to the
// console page connects end on.
func (h *Handler) errorPage(w http.ResponseWriter, status int, code, msg string) {
	title, ok := errorPageTitles[code]
	if !ok {
		title = "Salesforce is not connected"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_ = errorPageTmpl.Execute(w, struct {
		Title, Message, Code, Back string
		Status                     int
	}{title, msg, code, h.console, status})
}
