package sfsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	s := seedOrg(t, Options{})
	mustSeed(t, s.srv, "Lead", map[string]any{"FirstName": "Joe", "LastName": "Lead", "Company": "Doe Industries", "Email": "lead@example.com"})
	search := func(q string) result { return s.a.call(http.MethodGet, "search?q="+url.QueryEscape(q), nil) }
	names := func(t *testing.T, r result) string {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("search: %d %s", r.status, r.body)
		}
		var out []string
		for _, rec := range r.obj(t)["searchRecords"].([]any) {
			m := rec.(map[string]any)
			out = append(out, m["attributes"].(map[string]any)["type"].(string)+":"+strings.TrimSpace(str(m["Name"])+str(m["Subject"])+str(m["Id"])[:0]))
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	tests := []struct{ q, want string }{
		{"FIND {Joe} IN NAME FIELDS RETURNING Contact(Id, Name)", "Contact:Joe Doe"},
		{"FIND {joe} IN NAME FIELDS RETURNING Contact(Name), Lead(Name)", "Contact:Joe Doe,Lead:Joe Lead"},
		{"FIND {Doe} IN NAME FIELDS RETURNING Contact(Name), Lead(Name)", "Contact:Joe Doe,Lead:Joe Lead"},
		{"FIND {Jo*} IN NAME FIELDS RETURNING Contact(Name)", "Contact:Joe Doe"},
		{"FIND {J?ne} IN NAME FIELDS RETURNING Contact(Name)", "Contact:Jane Roe"},
		{"FIND {Joe Doe} IN NAME FIELDS RETURNING Contact(Name)", "Contact:Joe Doe"},
		{"FIND {Joe Roe} IN NAME FIELDS RETURNING Contact(Name)", ""},
		{"FIND {Joe OR Jane} IN NAME FIELDS RETURNING Contact(Name)", "Contact:Jane Roe,Contact:Joe Doe"},
		{"FIND {jane@example.com} IN EMAIL FIELDS RETURNING Contact(Name)", "Contact:Jane Roe"},
		{"FIND {example} IN NAME FIELDS RETURNING Contact(Name)", ""},
		{"FIND {Perfume} RETURNING Case(Subject)", "Case:Perfume"},
		{"FIND {Joe} IN NAME FIELDS RETURNING Contact(Name WHERE Email = 'nobody@example.com')", ""},
		{"FIND {Roe OR Doe} IN NAME FIELDS RETURNING Contact(Name ORDER BY Name LIMIT 1)", "Contact:Jane Roe"},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			if got := names(t, search(tc.q)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Field lists, relationship fields and the modern shape.
	r := search("FIND {Perfume} RETURNING Case(Id, Subject, Contact.Email)")
	var body struct {
		SearchRecords []map[string]any `json:"searchRecords"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.SearchRecords) != 1 {
		t.Fatalf("%s", r.body)
	}
	if body.SearchRecords[0]["Contact"].(map[string]any)["Email"] != "joe@example.com" {
		t.Fatalf("relationship in RETURNING: %s", r.body)
	}
	// No field list: only Id. Before v36: a bare array.
	r = search("FIND {Perfume} RETURNING Case")
	if !strings.Contains(string(r.body), `"Id":"`+s.perfume+`"`) || strings.Contains(string(r.body), "Subject") {
		t.Fatalf("bare object: %s", r.body)
	}
	old := *s.a
	old.version = "35.0"
	r = old.call(http.MethodGet, "search?q="+url.QueryEscape("FIND {Perfume} RETURNING Case"), nil)
	if !strings.HasPrefix(string(r.body), "[") {
		t.Fatalf("v35 search: %s", r.body)
	}
	// Errors.
	errs := []struct{ q, code, msg string }{
		{"FIND Joe", "MALFORMED_SEARCH", "No search term found. The search term must be enclosed in braces."},
		{"FIND {Joe} RETURNING Whizbang(Id)", "INVALID_TYPE", "sObject type 'Whizbang' is not supported"},
		{"FIND {Joe} RETURNING Contact(Bogus)", "INVALID_FIELD", "No such column 'Bogus'"},
		{"FIND {Joe} IN NAME FIELDS RETURNING", "MALFORMED_SEARCH", "unexpected token"},
		// RETURNING shares SOQL's ORDER BY and OFFSET rules.
		{"FIND {Perfume} RETURNING Case(Id ORDER BY Description)", "INVALID_FIELD", "field 'Description' can not be sorted"},
		{"FIND {Perfume} RETURNING Case(Id OFFSET 2001)", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"},
	}
	for _, tc := range errs {
		t.Run(tc.q, func(t *testing.T) {
			wantError(t, "search", search(tc.q), 400, tc.code, tc.msg)
		})
	}
}
