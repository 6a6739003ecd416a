package sfsim

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// The pages a browser sees: the login form of the authorize endpoint and
// the Lightning record pages of the instance host (so a "Salesforce link"
// opens a page, not JSON).

var pageTemplates = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.}} | sfsim</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.25em .75em;text-align:left;vertical-align:top}
iframe{width:100%;height:32em;border:1px solid #bbb;margin-top:1em}</style></head><body>{{end}}

{{define "login"}}{{template "head" "Login"}}
<h1>Log in to sfsim</h1>
<form method="post" action="/services/oauth2/authorize">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>Username <input type="email" name="username" id="username" value="{{.Username}}" autocomplete="username" required></label>
<label>Password <input type="password" name="pw" id="password" autocomplete="current-password"></label>
<button type="submit" id="Login">Log In</button>
</form>
<p>The simulated org approves every login; an unknown username becomes a new standard user.</p>
</body></html>{{end}}

{{define "record"}}{{template "head" .Title}}
<p>{{.Object}}</p>
<h1>{{.Title}}</h1>
<table>{{range .Fields}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{if .Embed}}<iframe id="care-case" title="Care case" src="{{.Embed}}"></iframe>{{end}}
</body></html>{{end}}

{{define "notfound"}}{{template "head" "Not found"}}
<h1>Record not found</h1>
<p>The record you're looking for ({{.}}) doesn't exist or was deleted.</p>
</body></html>{{end}}
`))

// writePage renders one of pageTemplates as an HTML answer.
func (s *Server) writePage(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, name, data); err != nil {
		s.log.Error("sfsim: render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, "text/html;charset=UTF-8", b.String())
}

type hiddenInput struct{ Name, Value string }

// loginPage is the form the authorize endpoint shows with
// Options.LoginPage: login_hint prefills the username, the request's
// parameters ride along as hidden fields.
func (s *Server) loginPage(w http.ResponseWriter, q url.Values) {
	var hidden []hiddenInput
	for _, k := range sortedKeys(q) {
		if k == "username" || k == "pw" {
			continue
		}
		for _, v := range q[k] {
			hidden = append(hidden, hiddenInput{k, v})
		}
	}
	s.writePage(w, http.StatusOK, "login", struct {
		Hidden   []hiddenInput
		Username string
	}{hidden, q.Get("login_hint")})
}

// recordPath matches /lightning/r/{Object}/{Id}/view.
func recordPath(path string) (object, id string, ok bool) {
	parts := splitPath(strings.TrimPrefix(path, "/lightning/r/"))
	if !strings.HasPrefix(path, "/lightning/r/") || len(parts) != 3 || parts[2] != "view" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

type pageField struct{ Name, Value string }

// handleRecordPage answers a record's Lightning page: its fields and, for a
// Case with Options.CasePageEmbedURL, the Care case in an iframe (the
// stand-in for the org kit's Visualforce page). No session is asked for:
// the simulated browser is always logged in.
func (s *Server) handleRecordPage(w http.ResponseWriter, r *http.Request, object, id string) {
	rec, ok := s.Record(object, id)
	if !ok {
		s.writePage(w, http.StatusNotFound, "notfound", object+" "+id)
		return
	}
	o := s.schema.object(object)
	page := struct {
		Object, Title string
		Fields        []pageField
		Embed         string
	}{Object: o.Label, Title: recordTitle(rec)}
	for _, f := range o.Fields {
		page.Fields = append(page.Fields, pageField{f.Name, pageValue(rec[f.Name])})
	}
	if o.Name == "Case" && s.opts.CasePageEmbedURL != "" {
		page.Embed = fillTemplate(s.opts.CasePageEmbedURL, rec)
	}
	s.writePage(w, http.StatusOK, "record", page)
}

// recordTitle is what Lightning shows as a record's heading.
func recordTitle(rec Record) string {
	for _, name := range []string{"Name", "CaseNumber", "Subject"} {
		if v, ok := rec[name].(string); ok && v != "" {
			return v
		}
	}
	return fmt.Sprint(rec["Id"])
}

func pageValue(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

var placeholder = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9_]*)\}`)

// fillTemplate replaces each {Field} of tmpl by the record's value of that
// field, path-escaped (empty when null or unknown).
func fillTemplate(tmpl string, rec Record) string {
	byLower := make(map[string]any, len(rec))
	for k, v := range rec {
		byLower[strings.ToLower(k)] = v
	}
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		return url.PathEscape(pageValue(byLower[strings.ToLower(m[1:len(m)-1])]))
	})
}
