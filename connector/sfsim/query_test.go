package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

type seeded struct {
	srv                 *Server
	a                   *api
	clock               *fakeClock
	joe, jane, zed      string
	perfume, hib, other string
	t0, t1, t2          time.Time
}

func mustSeed(t testing.TB, srv *Server, object string, fields map[string]any) string {
	t.Helper()
	id, err := srv.CreateRecord(object, fields)
	if err != nil {
		t.Fatalf("seed %s: %v", object, err)
	}
	return id
}

// seedOrg creates contacts, cases and message records at distinct times.
func seedOrg(t *testing.T, opts Options) *seeded {
	t.Helper()
	s := &seeded{}
	s.clock, s.srv, s.a = clockedOrg(t, opts)
	srv := s.srv
	s.joe = mustSeed(t, srv, "Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe", "Email": "joe@example.com", "Birthdate": "1990-01-01"})
	s.jane = mustSeed(t, srv, "Contact", map[string]any{"FirstName": "Jane", "LastName": "Roe", "Email": "jane@example.com"})
	s.zed = mustSeed(t, srv, "Contact", map[string]any{"LastName": "O'Brien"})
	s.t0 = s.clock.Now()
	s.perfume = mustSeed(t, srv, "Case", map[string]any{"Subject": "Perfume", "Priority": "High", "ContactId": s.joe, "Origin": "Social"})
	s.clock.Add(time.Minute)
	s.t1 = s.clock.Now()
	s.hib = mustSeed(t, srv, "Case", map[string]any{"Subject": "Hibiscus", "Status": "Working", "Priority": "Low", "ContactId": s.jane})
	s.clock.Add(time.Minute)
	s.t2 = s.clock.Now()
	s.other = mustSeed(t, srv, "Case", map[string]any{"Subject": "Other", "Status": "Closed"})
	mustSeed(t, srv, "Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "m1", "Case__c": s.perfume, "Direction__c": "Inbound", "Content__c": "Hi"})
	mustSeed(t, srv, "Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "m2", "Case__c": s.perfume, "Direction__c": "Outbound"})
	mustSeed(t, srv, "Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "m3", "Case__c": s.hib, "Direction__c": "Inbound"})
	return s
}

// column returns one field of every row, in order.
func column(t *testing.T, r result, field string) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("query: %d %s", r.status, r.body)
	}
	var out []string
	for _, rec := range r.obj(t)["records"].([]any) {
		out = append(out, fmt.Sprint(rec.(map[string]any)[field]))
	}
	return out
}

func TestQueryWhereAndOrder(t *testing.T) {
	s := seedOrg(t, Options{})
	lit := func(tm time.Time) string { return tm.UTC().Format("2006-01-02T15:04:05Z") }
	tests := []struct {
		soql  string
		field string
		want  string
	}{
		{"SELECT Subject FROM Case WHERE Status = 'new'", "Subject", "Perfume"},
		{"SELECT Subject FROM Case WHERE Status != 'Closed' ORDER BY CaseNumber", "Subject", "Perfume,Hibiscus"},
		{"SELECT Subject FROM Case WHERE Status <> 'Closed' ORDER BY CaseNumber", "Subject", "Perfume,Hibiscus"},
		{"SELECT Subject FROM Case WHERE Status IN ('New','Working') ORDER BY Subject", "Subject", "Hibiscus,Perfume"},
		{"SELECT Subject FROM Case WHERE Status NOT IN ('New') ORDER BY Subject DESC", "Subject", "Other,Hibiscus"},
		{"SELECT Subject FROM Case WHERE Subject LIKE 'per%'", "Subject", "Perfume"},
		{"SELECT Subject FROM Case WHERE Subject LIKE '%IS%'", "Subject", "Hibiscus"},
		{"SELECT Subject FROM Case WHERE Subject LIKE 'H_biscus'", "Subject", "Hibiscus"},
		{"SELECT Subject FROM Case WHERE Contact.Email = 'joe@example.com'", "Subject", "Perfume"},
		{"SELECT Subject FROM Case WHERE ContactId = null", "Subject", "Other"},
		{"SELECT Subject FROM Case WHERE ContactId != null ORDER BY Subject", "Subject", "Hibiscus,Perfume"},
		{"SELECT Subject FROM Case WHERE (Status = 'New' OR Priority = 'Low') AND IsClosed = false ORDER BY CaseNumber", "Subject", "Perfume,Hibiscus"},
		{"SELECT Subject FROM Case WHERE NOT Status = 'New' ORDER BY CaseNumber", "Subject", "Hibiscus,Other"},
		{"SELECT Subject FROM Case WHERE IsClosed = true", "Subject", "Other"},
		{"SELECT Subject FROM Case WHERE SystemModstamp > " + lit(s.t0) + " ORDER BY SystemModstamp, Id", "Subject", "Hibiscus,Other"},
		{"SELECT Subject FROM Case WHERE SystemModstamp >= " + lit(s.t1) + " AND SystemModstamp < " + lit(s.t2), "Subject", "Hibiscus"},
		{"SELECT Subject FROM Case WHERE CreatedDate >= 2025-07-31T12:00:00.000+0000 ORDER BY CaseNumber", "Subject", "Perfume,Hibiscus,Other"},
		{"SELECT Subject FROM Case WHERE CreatedDate > 2025-07-31T13:00:00+01:00 ORDER BY CaseNumber", "Subject", "Hibiscus,Other"},
		{"SELECT Subject FROM Case WHERE CreatedDate = TODAY ORDER BY CaseNumber", "Subject", "Perfume,Hibiscus,Other"},
		{"SELECT Subject FROM Case WHERE CreatedDate = YESTERDAY", "Subject", ""},
		{"SELECT Subject FROM Case WHERE CreatedDate = LAST_N_DAYS:2 ORDER BY CaseNumber", "Subject", "Perfume,Hibiscus,Other"},
		{"SELECT Subject FROM Case ORDER BY Contact.LastName NULLS LAST", "Subject", "Perfume,Hibiscus,Other"},
		{"SELECT Subject FROM Case ORDER BY Contact.LastName", "Subject", "Other,Perfume,Hibiscus"},
		{"SELECT Subject FROM Case ORDER BY Contact.LastName DESC", "Subject", "Hibiscus,Perfume,Other"},
		{"SELECT Subject FROM Case ORDER BY Contact.LastName DESC NULLS FIRST", "Subject", "Other,Hibiscus,Perfume"},
		{"SELECT Subject FROM Case ORDER BY Priority DESC", "Subject", "Other,Hibiscus,Perfume"},
		{"SELECT Subject FROM Case ORDER BY IsClosed DESC, Subject ASC", "Subject", "Other,Hibiscus,Perfume"},
		{"SELECT Subject FROM Case ORDER BY CaseNumber LIMIT 1 OFFSET 1", "Subject", "Hibiscus"},
		{"SELECT Subject FROM Case ORDER BY CaseNumber LIMIT 0", "Subject", ""},
		{"SELECT Subject FROM Case WHERE Id = '" + s.perfume[:15] + "'", "Subject", "Perfume"},
		{"SELECT Subject FROM Case WHERE Id IN ('" + s.perfume + "', '" + s.other + "') ORDER BY Subject", "Subject", "Other,Perfume"},
		{"SELECT LastName FROM Contact WHERE Birthdate < 2000-01-01", "LastName", "Doe"},
		{"SELECT LastName FROM Contact WHERE LastName = 'O\\'Brien'", "LastName", "O'Brien"},
		{"SELECT LastName FROM Contact WHERE Name = 'joe doe'", "LastName", "Doe"},
		{"SELECT Care_Message_Id__c FROM Care_Social_Post__c WHERE Case__r.Contact.Email = 'joe@example.com' ORDER BY Care_Message_Id__c", "Care_Message_Id__c", "m1,m2"},
		{"SELECT Care_Message_Id__c FROM Care_Social_Post__c WHERE Case__r.Status = 'Working'", "Care_Message_Id__c", "m3"},
		{"SELECT c.Subject FROM Case c WHERE c.Status = 'New'", "Subject", "Perfume"},
	}
	for _, tc := range tests {
		t.Run(tc.soql, func(t *testing.T) {
			got := strings.Join(column(t, s.a.query(tc.soql), tc.field), ",")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQueryShapes(t *testing.T) {
	s := seedOrg(t, Options{})
	a := s.a
	// Canonical casing, nested parents with attributes, null parents.
	r := a.query("select subject, contact.email, CONTACT.name from case order by casenumber")
	recs := r.obj(t)["records"].([]any)
	first := recs[0].(map[string]any)
	contact := first["Contact"].(map[string]any)
	if first["Subject"] != "Perfume" || contact["Email"] != "joe@example.com" || contact["Name"] != "Joe Doe" {
		t.Fatalf("canonical casing: %s", r.body)
	}
	if contact["attributes"].(map[string]any)["url"] != "/services/data/v62.0/sobjects/Contact/"+s.joe {
		t.Fatalf("parent attributes: %v", contact)
	}
	if v, ok := recs[2].(map[string]any)["Contact"]; !ok || v != nil {
		t.Fatalf("a null parent is \"Contact\": null: %v", recs[2])
	}
	wantPrefix := `{"totalSize":3,"done":true,"records":[{"attributes":{"type":"Case","url":"/services/data/v62.0/sobjects/Case/` + s.perfume + `"},"Subject":"Perfume","Contact":{"attributes":`
	if !strings.HasPrefix(string(r.body), wantPrefix) {
		t.Fatalf("body order: %s", r.body)
	}
	// Three levels: Care_Social_Post__c → Case → Contact.
	r = a.query("SELECT Care_Message_Id__c, Case__r.CaseNumber, Case__r.Contact.Email FROM Care_Social_Post__c WHERE Care_Message_Id__c = 'm1'")
	rec := r.obj(t)["records"].([]any)[0].(map[string]any)
	if rec["Case__r"].(map[string]any)["Contact"].(map[string]any)["Email"] != "joe@example.com" {
		t.Fatalf("two hops: %s", r.body)
	}
	// COUNT().
	r = a.query("SELECT COUNT() FROM Case WHERE IsClosed = false")
	if string(r.body) != `{"totalSize":2,"done":true,"records":[]}` {
		t.Fatalf("COUNT(): %s", r.body)
	}
	// Aggregates.
	r = a.query("SELECT Status, COUNT(Id) n FROM Case GROUP BY Status ORDER BY Status")
	rows := r.obj(t)["records"].([]any)
	if len(rows) != 3 || rows[0].(map[string]any)["attributes"].(map[string]any)["type"] != "AggregateResult" {
		t.Fatalf("group by: %s", r.body)
	}
	if _, hasURL := rows[0].(map[string]any)["attributes"].(map[string]any)["url"]; hasURL {
		t.Fatal("AggregateResult attributes carry no url")
	}
	r = a.query("SELECT COUNT(Id), MAX(CaseNumber), MIN(CreatedDate) FROM Case")
	row := r.obj(t)["records"].([]any)[0].(map[string]any)
	if row["expr0"].(json.Number).String() != "3" || row["expr1"] != "00000003" || row["expr2"] != formatTime(s.t0) {
		t.Fatalf("unaliased aggregates: %s", r.body)
	}
	// A child subquery.
	r = a.query("SELECT Subject, (SELECT Care_Message_Id__c FROM Care_Social_Posts__r ORDER BY Care_Message_Id__c DESC) FROM Case ORDER BY CaseNumber")
	recs = r.obj(t)["records"].([]any)
	kids := recs[0].(map[string]any)["Care_Social_Posts__r"].(map[string]any)
	if kids["totalSize"].(json.Number).String() != "2" || kids["done"] != true || kids["records"].([]any)[0].(map[string]any)["Care_Message_Id__c"] != "m2" {
		t.Fatalf("child subquery: %s", r.body)
	}
	if v, ok := recs[2].(map[string]any)["Care_Social_Posts__r"]; !ok || v != nil {
		t.Fatalf("no children shows null: %v", recs[2])
	}
	// Go helper.
	rows2, err := s.srv.Query("SELECT Subject, Contact.Email FROM Case WHERE Status = 'New'")
	if err != nil || len(rows2) != 1 || rows2[0]["Contact"].(Record)["Email"] != "joe@example.com" {
		t.Fatalf("Query helper: %v %v", rows2, err)
	}
}

func TestQueryErrors(t *testing.T) {
	s := seedOrg(t, Options{})
	tests := []struct {
		soql, code, msg string
	}{
		{"SELECT Id,Invalid__x FROM Contact LIMIT 1", "INVALID_FIELD",
			"\nSELECT Id,Invalid__x FROM Contact LIMIT 1\n          ^\nERROR at Row:1:Column:11\nNo such column 'Invalid__x' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."},
		{"SELECT Id FROM Whizbang", "INVALID_TYPE", "sObject type 'Whizbang' is not supported."},
		{"SELECT Foo.Name FROM Case", "INVALID_FIELD", "Didn't understand relationship 'Foo' in field path."},
		{"SELECT Contact.Bogus FROM Case", "INVALID_FIELD", "No such column 'Contact.Bogus' on entity 'Contact'."},
		{"SELECT Id FROM Case WHERE Subject = 5", "INVALID_FIELD", "value of filter criterion for field 'Subject' must be of type string and should be enclosed in quotes"},
		{"SELECT Id FROM Case WHERE CreatedDate > '2020-01-01'", "INVALID_FIELD", "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"},
		{"SELECT Id FROM Case WHERE IsClosed = 'true'", "INVALID_FIELD", "must be of type boolean"},
		{"SELECT Id FROM Case WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"},
		{"SELECT Id FROM Case WHERE IsClosed > true", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on field 'IsClosed'"},
		{"SELECT Id FROM Case WHERE Description = 'x'", "INVALID_FIELD", "field 'Description' can not be filtered in a query call"},
		{"SELECT Id FROM Case ORDER BY Description", "INVALID_FIELD", "field 'Description' can not be sorted in a query call"},
		{"SELECT Id FROM Case WHERE", "MALFORMED_QUERY", "\nSELECT Id FROM Case WHERE\n                         ^\nERROR at Row:1:Column:26\nunexpected token: <EOF>"},
		{"SELECT Id FROM Case WHERE Status = 'New' AND Priority = 'High' OR IsClosed = true", "MALFORMED_QUERY", "unexpected token: 'OR'"},
		{"SELECT Id FROM Case OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"},
		{"SELECT Subject, COUNT(Id) FROM Case", "MALFORMED_QUERY", "Field must be grouped or aggregated: Subject"},
		{"SELECT Id, COUNT() FROM Case", "MALFORMED_QUERY", "COUNT() must be the only element"},
		{"SELECT Id, (SELECT Id FROM Nopes__r) FROM Case", "INVALID_TYPE", "Didn't understand relationship 'Nopes__r'"},
		{" ", "MALFORMED_QUERY", "A query string has to be specified"},
	}
	for _, tc := range tests {
		t.Run(tc.soql, func(t *testing.T) {
			wantError(t, "query", s.a.query(tc.soql), 400, tc.code, tc.msg)
		})
	}
}

var locatorURL = regexp.MustCompile(`^/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-(\d+)$`)

func TestQueryPaging(t *testing.T) {
	clock := newClock()
	srv := startServer(t, Options{Now: clock.Now})
	for i := 0; i < 450; i++ {
		mustSeed(t, srv, "Lead", map[string]any{"LastName": fmt.Sprintf("L%03d", i), "Company": "C"})
	}
	a := newAPI(t, srv, "")
	// Default batch 2000: one page.
	if r := a.query("SELECT Id FROM Lead"); r.obj(t)["done"] != true || len(r.obj(t)["records"].([]any)) != 450 {
		t.Fatal("default batch size is 2000")
	}
	// batchSize=200: 200, 200, 50; a batch size below 200 is raised to 200.
	for _, hdr := range []string{"batchSize=200", "batchSize=10"} {
		r := a.query("SELECT LastName FROM Lead ORDER BY LastName", "Sforce-Query-Options", hdr)
		var names []string
		pages := 0
		for {
			pages++
			m := r.obj(t)
			if m["totalSize"].(json.Number).String() != "450" {
				t.Fatalf("totalSize on every page is the full count: %v", m["totalSize"])
			}
			for _, rec := range m["records"].([]any) {
				names = append(names, rec.(map[string]any)["LastName"].(string))
			}
			if m["done"] == true {
				if _, ok := m["nextRecordsUrl"]; ok {
					t.Fatal("the last page has no nextRecordsUrl")
				}
				break
			}
			next := m["nextRecordsUrl"].(string)
			if !locatorURL.MatchString(next) {
				t.Fatalf("locator %s", next)
			}
			r = a.call(http.MethodGet, next, nil)
		}
		if pages != 3 || len(names) != 450 || names[0] != "L000" || names[449] != "L449" {
			t.Fatalf("%s: %d pages, %d rows", hdr, pages, len(names))
		}
	}

	// Cursors expire after 15 idle minutes and belong to their user.
	r := a.query("SELECT Id FROM Lead", "Sforce-Query-Options", "batchSize=200")
	next := r.obj(t)["nextRecordsUrl"].(string)
	other := newAPI(t, srv, "other@example.com")
	wantError(t, "another user's locator", other.call(http.MethodGet, next, nil), 400, "INVALID_QUERY_LOCATOR", "")
	clock.Add(16 * time.Minute)
	wantError(t, "expired locator", a.call(http.MethodGet, next, nil), 400, "INVALID_QUERY_LOCATOR", "")
	wantError(t, "garbage locator", a.call(http.MethodGet, "query/garbage", nil), 400, "INVALID_QUERY_LOCATOR", "")

	// At most 10 open cursors per user: the 11th releases the oldest.
	var locs []string
	for i := 0; i < 11; i++ {
		locs = append(locs, a.query("SELECT Id FROM Lead", "Sforce-Query-Options", "batchSize=200").obj(t)["nextRecordsUrl"].(string))
		clock.Add(time.Second)
	}
	if r := a.call(http.MethodGet, locs[0], nil); r.status != 400 {
		t.Fatalf("oldest cursor should be released: %d", r.status)
	}
	if r := a.call(http.MethodGet, locs[10], nil); r.status != 200 {
		t.Fatalf("newest cursor: %d", r.status)
	}
}

func TestQueryBatchOption(t *testing.T) {
	srv := startServer(t, Options{QueryBatchSize: 7})
	for i := 0; i < 20; i++ {
		mustSeed(t, srv, "Contact", map[string]any{"LastName": fmt.Sprint(i)})
	}
	a := newAPI(t, srv, "")
	r := a.query("SELECT Id FROM Contact")
	m := r.obj(t)
	if len(m["records"].([]any)) != 7 || !strings.HasSuffix(m["nextRecordsUrl"].(string), "-7") {
		t.Fatalf("Options.QueryBatchSize caps the page: %s", r.body)
	}
	r = a.call(http.MethodGet, m["nextRecordsUrl"].(string), nil)
	r = a.call(http.MethodGet, r.obj(t)["nextRecordsUrl"].(string), nil)
	if m := r.obj(t); m["done"] != true || len(m["records"].([]any)) != 6 {
		t.Fatalf("last page: %s", r.body)
	}
}

func TestQueryAll(t *testing.T) {
	s := seedOrg(t, Options{})
	if err := s.srv.DeleteRecord("Case", s.other); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(column(t, s.a.query("SELECT Subject FROM Case ORDER BY CaseNumber"), "Subject"), ","); got != "Perfume,Hibiscus" {
		t.Fatalf("query hides deleted rows: %s", got)
	}
	r := s.a.call(http.MethodGet, "queryAll?q=SELECT+Subject,IsDeleted+FROM+Case+WHERE+IsDeleted+=+true", nil)
	if got := strings.Join(column(t, r, "Subject"), ","); got != "Other" {
		t.Fatalf("queryAll shows deleted rows: %s", r.body)
	}
}
