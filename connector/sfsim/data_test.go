package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var sfDateTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`)

func TestVersionsAndHosts(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	for _, host := range []string{srv.LoginURL, srv.InstanceURL} {
		resp, err := testClient.Get(host + "/services/data")
		if err != nil {
			t.Fatal(err)
		}
		var versions []map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&versions)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(versions) == 0 || resp.Header.Get("Sforce-Limit-Info") != "" {
			t.Fatalf("%s/services/data: %d %v", host, resp.StatusCode, versions)
		}
		found := false
		for _, v := range versions {
			if v["version"] == "62.0" && v["url"] == "/services/data/v62.0" && v["label"] == "Winter '25" {
				found = true
			}
		}
		if !found {
			t.Fatalf("v62.0 (Winter '25) missing: %v", versions)
		}
	}
	// Data calls sent to the login host fail.
	login := &api{t: t, base: srv.LoginURL, token: a.token, version: "62.0", hc: testClient}
	wantError(t, "data call on the login host", login.call(http.MethodGet, "sobjects", nil), 404, "NOT_FOUND", "")
	// Unknown and retired versions.
	for _, v := range []string{"v20.0", "v99.0", "vX", "62.0"} {
		if r := a.call(http.MethodGet, "/services/data/"+v+"/sobjects", nil); r.status != 404 {
			t.Errorf("version %s: %d", v, r.status)
		}
	}
	r := a.call(http.MethodGet, "", nil)
	if m := r.obj(t); r.status != 200 || m["sobjects"] != "/services/data/v62.0/sobjects" || !strings.HasPrefix(m["identity"].(string), srv.LoginURL+"/id/") {
		t.Fatalf("resource directory: %s", r.body)
	}
}

func TestCRUD(t *testing.T) {
	clock, _, a := clockedOrg(t, Options{})
	r := a.call(http.MethodPost, "sobjects/Contact", map[string]any{"attributes": map[string]any{"type": "Contact"}, "FirstName": "Joe", "LastName": "Doe", "Email": "joe@example.com"})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if string(r.body) != fmt.Sprintf(`{"id":"%s","success":true,"errors":[]}`, r.obj(t)["id"]) {
		t.Fatalf("create body %s", r.body)
	}
	id := r.obj(t)["id"].(string)
	if !strings.HasPrefix(id, "003") || len(id) != 18 || r.header.Get("Location") != "/services/data/v62.0/sobjects/Contact/"+id {
		t.Fatalf("id %s location %s", id, r.header.Get("Location"))
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("content type %s", r.header.Get("Content-Type"))
	}

	r = a.call(http.MethodGet, "sobjects/Contact/"+id, nil)
	rec := r.obj(t)
	attrs := rec["attributes"].(map[string]any)
	if r.status != 200 || attrs["type"] != "Contact" || attrs["url"] != "/services/data/v62.0/sobjects/Contact/"+id {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if rec["Name"] != "Joe Doe" || rec["Phone"] != nil || !sfDateTime.MatchString(rec["CreatedDate"].(string)) || rec["IsDeleted"] != false {
		t.Fatalf("record %s", r.body)
	}
	if _, present := rec["Phone"]; !present {
		t.Fatal("null fields are present with null")
	}
	if !strings.HasPrefix(string(r.body), `{"attributes":`) {
		t.Fatal("attributes come first")
	}
	// A 15-character id works too.
	if r := a.call(http.MethodGet, "sobjects/Contact/"+id[:15], nil); r.status != 200 {
		t.Fatalf("15-char id: %d", r.status)
	}
	// ?fields= returns those fields and Id.
	r = a.call(http.MethodGet, "sobjects/Contact/"+id+"?fields=Email,LastName", nil)
	if want := fmt.Sprintf(`{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/%s"},"Email":"joe@example.com","LastName":"Doe","Id":"%s"}`, id, id); string(r.body) != want {
		t.Fatalf("fields: %s", r.body)
	}
	wantError(t, "unknown field in ?fields=", a.call(http.MethodGet, "sobjects/Contact/"+id+"?fields=Nope", nil), 400, "INVALID_FIELD", "")

	created := rec["SystemModstamp"].(string)
	clock.Add(time.Minute)
	r = a.call(http.MethodPatch, "sobjects/Contact/"+id, map[string]any{"Title": "Buyer", "Email": nil})
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	rec = a.call(http.MethodGet, "sobjects/Contact/"+id, nil).obj(t)
	if rec["Title"] != "Buyer" || rec["Email"] != nil || rec["SystemModstamp"] == created || rec["LastModifiedDate"] != rec["SystemModstamp"] || rec["CreatedDate"] != created {
		t.Fatalf("after update: %v", rec)
	}

	r = a.call(http.MethodDelete, "sobjects/Contact/"+id, nil)
	if r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := a.call(http.MethodGet, "sobjects/Contact/"+id, nil); r.status != 404 || r.errMessage(t) != "The requested resource does not exist" {
		t.Fatalf("get deleted: %d %s", r.status, r.body)
	}
	wantError(t, "delete twice", a.call(http.MethodDelete, "sobjects/Contact/"+id, nil), 404, "ENTITY_IS_DELETED", "")
	wantError(t, "update deleted", a.call(http.MethodPatch, "sobjects/Contact/"+id, map[string]any{"Title": "x"}), 404, "ENTITY_IS_DELETED", "")
}

func TestPathErrors(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	caseID := a.mustCreate("Case", map[string]any{"Subject": "x"})
	missing := To18("500Sm0000ZZZZZZ")
	tests := []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{"GET", "sobjects/Whizbang/describe", 404, "NOT_FOUND", "The requested resource does not exist"},
		{"GET", "sobjects/Case/23foo", 404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: 23foo"},
		{"GET", "sobjects/Case/" + missing, 404, "NOT_FOUND", "The requested resource does not exist"},
		{"GET", "sobjects/Contact/" + caseID, 404, "NOT_FOUND", "The requested resource does not exist"},
		{"PATCH", "sobjects/Case/Namez/abc", 404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: Namez"},
		{"PATCH", "sobjects/Case/Subject/abc", 404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: Subject"},
		{"PUT", "sobjects/Case/" + caseID, 405, "METHOD_NOT_ALLOWED", "HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,PATCH,DELETE"},
		{"GET", "nothing/here", 404, "NOT_FOUND", "The requested resource does not exist"},
		// Empty segments leave no version to read: 404, not a handler panic.
		{"GET", "/services/data//", 404, "NOT_FOUND", "The requested resource does not exist"},
		{"GET", "/services/data///sobjects", 404, "NOT_FOUND", "The requested resource does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := a.call(tc.method, tc.path, map[string]any{})
			if tc.method == "GET" {
				r = a.call(tc.method, tc.path, nil)
			}
			if r.status != tc.status || r.errCode(t) != tc.code || r.errMessage(t) != tc.msg {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	contact := a.mustCreate("Contact", map[string]any{"LastName": "Ref"})
	a.mustCreate("Case", map[string]any{"Subject": "first", "Care_Case_Id__c": "care-1"})
	deletedContact := a.mustCreate("Contact", map[string]any{"LastName": "Gone"})
	a.call(http.MethodDelete, "sobjects/Contact/"+deletedContact, nil)
	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		object string
		body   string
		code   string
		msg    string // substring
		fields []string
	}{
		{"unknown field", "Case", `{"Subjekt":"x"}`, "INVALID_FIELD", "No such column 'Subjekt' on sobject of type Case", nil},
		{"required missing", "Lead", `{"FirstName":"x"}`, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName, Company]", []string{"LastName", "Company"}},
		{"required empty string", "Contact", `{"LastName":""}`, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", []string{"LastName"}},
		{"string too long", "Case", `{"Subject":"` + long + `"}`, "STRING_TOO_LONG", "Subject: data value too large: " + long + " (max length=255)", []string{"Subject"}},
		{"emoji count twice", "Case", `{"Care_Case_Id__c":"` + strings.Repeat("😀", 33) + `"}`, "STRING_TOO_LONG", "(max length=64)", []string{"Care_Case_Id__c"}},
		{"restricted picklist", "Care_Social_Post__c", `{"Direction__c":"Sideways"}`, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Direction: bad value for restricted picklist field: Sideways", []string{"Direction__c"}},
		{"duplicate external id", "Case", `{"Care_Case_Id__c":"CARE-1"}`, "DUPLICATE_VALUE", "duplicate value found: Care_Case_Id__c duplicates value on record with id: 500", []string{}},
		{"read-only fields", "Case", `{"IsClosed":true,"CaseNumber":"1"}`, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: IsClosed, CaseNumber.", []string{"IsClosed", "CaseNumber"}},
		{"id on insert", "Case", `{"Id":"500Sm000000000A"}`, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", []string{"Id"}},
		{"bad json", "Case", `{"Subject":}`, "JSON_PARSER_ERROR", "Unexpected character ('}' (code 125))", nil},
		{"array body", "Case", `[{"Subject":"x"}]`, "JSON_PARSER_ERROR", "from START_ARRAY", nil},
		{"empty body", "Case", ``, "JSON_PARSER_ERROR", "The HTTP entity body is required", nil},
		{"boolean from string", "Case", `{"IsEscalated":"maybe"}`, "JSON_PARSER_ERROR", "Cannot deserialize instance of boolean from VALUE_STRING value maybe", nil},
		{"datetime garbage", "Care_Social_Post__c", `{"Posted__c":"yesterday"}`, "JSON_PARSER_ERROR", "Cannot deserialize instance of datetime from VALUE_STRING value yesterday or request may be missing a required field at [line:1, column:14]", nil},
		{"object for a string", "Case", "{\n  \"Subject\": {\"a\":1}}", "JSON_PARSER_ERROR", "from START_OBJECT value { or request may be missing a required field at [line:2, column:14]", nil},
		{"malformed reference", "Case", `{"ContactId":"abc"}`, "MALFORMED_ID", "Contact ID: id value of incorrect type: abc", []string{"ContactId"}},
		{"reference of the wrong type", "Case", `{"ContactId":"` + a.mustCreate("Lead", map[string]any{"LastName": "L", "Company": "C"}) + `"}`, "FIELD_INTEGRITY_EXCEPTION", "Contact ID: id value of incorrect type: 00Q", []string{"ContactId"}},
		{"reference to nothing", "Case", `{"ContactId":"` + To18("003Sm0000ZZZZZZ") + `"}`, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []string{"ContactId"}},
		{"reference to a deleted record", "Case", `{"ContactId":"` + deletedContact + `"}`, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []string{"ContactId"}},
		{"bad record type", "Case", `{"RecordTypeId":"` + To18("012Sm0000ZZZZZZ") + `"}`, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []string{"RecordTypeId"}},
		{"invalid email", "Case", `{"Care_Agent_Email__c":"not an email"}`, "INVALID_EMAIL_ADDRESS", "Care Agent Email: invalid email address: not an email", []string{"Care_Agent_Email__c"}},
		{"user not createable", "User", `{"LastName":"x"}`, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be inserted: User", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.call(http.MethodPost, "sobjects/"+tc.object, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			arr := r.json(t).([]any)
			e := arr[0].(map[string]any)
			if e["errorCode"] != tc.code || !strings.Contains(e["message"].(string), tc.msg) {
				t.Fatalf("got %s", r.body)
			}
			got, present := e["fields"]
			switch {
			case tc.fields == nil && present:
				t.Fatalf("no fields key expected: %s", r.body)
			case tc.fields != nil:
				list, _ := got.([]any)
				if len(list) != len(tc.fields) {
					t.Fatalf("fields %v, want %v", got, tc.fields)
				}
				for i, f := range tc.fields {
					if list[i] != f {
						t.Fatalf("fields %v, want %v", got, tc.fields)
					}
				}
			}
		})
	}
	// Nothing above was written: only the records made by the test remain.
	if n := len(srv.Records("Case")); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}
	_ = contact
}

func TestValidRecordTypeAndRelationshipByExternalID(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	r := a.query("SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Case' AND DeveloperName = 'Social'")
	recs := r.obj(t)["records"].([]any)
	if len(recs) != 1 {
		t.Fatalf("record types: %s", r.body)
	}
	rtID := recs[0].(map[string]any)["Id"].(string)
	parent := a.mustCreate("Case", map[string]any{"Subject": "parent", "Care_Case_Id__c": "P-1", "RecordTypeId": rtID[:15]})
	rec, _ := srv.Record("Case", parent)
	if rec["RecordTypeId"] != rtID {
		t.Fatalf("a 15-char reference is stored as 18: %v", rec["RecordTypeId"])
	}
	// A lookup set through the parent's external id.
	post := a.mustCreate("Care_Social_Post__c", map[string]any{"Case__r": map[string]any{"Care_Case_Id__c": "P-1"}, "Direction__c": "Inbound"})
	prec, _ := srv.Record("Care_Social_Post__c", post)
	if prec["Case__c"] != parent || !strings.HasPrefix(prec["Name"].(string), "M-") {
		t.Fatalf("relationship by external id: %v", prec)
	}
	r = a.call(http.MethodPost, "sobjects/Care_Social_Post__c", map[string]any{"Case__r": map[string]any{"Care_Case_Id__c": "nope"}})
	wantError(t, "unknown parent external id", r, 400, "INVALID_FIELD", "Foreign key external ID: nope not found")
}

func TestCaseDerivedFields(t *testing.T) {
	clock, srv, a := clockedOrg(t, Options{})
	id := a.mustCreate("Case", map[string]any{"Subject": "s"})
	id2 := a.mustCreate("Case", map[string]any{"Subject": "s2", "Priority": "High", "Status": "Working"})
	rec, _ := srv.Record("Case", id)
	rec2, _ := srv.Record("Case", id2)
	if rec["Status"] != "New" || rec["Priority"] != "Medium" || rec["IsClosed"] != false || rec["ClosedDate"] != nil || rec["IsEscalated"] != false {
		t.Fatalf("defaults: %v", rec)
	}
	if rec["CaseNumber"] != "00000001" || rec2["CaseNumber"] != "00000002" || rec2["Priority"] != "High" {
		t.Fatalf("auto numbers %v %v", rec["CaseNumber"], rec2["CaseNumber"])
	}
	clock.Add(time.Hour)
	a.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"Status": "Closed"})
	rec, _ = srv.Record("Case", id)
	if rec["IsClosed"] != true || rec["ClosedDate"] != formatTime(clock.Now()) {
		t.Fatalf("closed: %v", rec)
	}
	a.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"Status": "Working"})
	rec, _ = srv.Record("Case", id)
	if rec["IsClosed"] != false || rec["ClosedDate"] != nil {
		t.Fatalf("reopened: %v", rec)
	}
	// Lead status default.
	lead := a.mustCreate("Lead", map[string]any{"LastName": "L", "Company": "C"})
	lrec, _ := srv.Record("Lead", lead)
	if lrec["Status"] != "Open - Not Contacted" || lrec["Name"] != "L" || lrec["IsConverted"] != false {
		t.Fatalf("lead: %v", lrec)
	}
}

func TestUpsert(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	path := "sobjects/Care_Social_Post__c/Care_Message_Id__c/"
	r := a.call(http.MethodPatch, path+"m%2F1", map[string]any{"Content__c": "one", "Direction__c": "Inbound"})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.obj(t)["id"].(string)
	if string(r.body) != `{"id":"`+id+`","success":true,"errors":[],"created":true}` {
		t.Fatalf("created body %s", r.body)
	}
	rec, _ := srv.Record("Care_Social_Post__c", id)
	if rec["Care_Message_Id__c"] != "m/1" {
		t.Fatalf("an encoded / stays in the value: %v", rec["Care_Message_Id__c"])
	}
	r = a.call(http.MethodPatch, path+"M%2F1", map[string]any{"Content__c": "two"})
	if r.status != 200 || string(r.body) != `{"id":"`+id+`","success":true,"errors":[],"created":false}` {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if rec, _ := srv.Record("Care_Social_Post__c", id); rec["Content__c"] != "two" {
		t.Fatalf("not updated: %v", rec)
	}
	if n := len(srv.Records("Care_Social_Post__c")); n != 1 {
		t.Fatalf("%d records", n)
	}
	// Before v46 an update answers 204 and a create has no created flag.
	old := *a
	old.version = "45.0"
	if r := old.call(http.MethodPatch, path+"m%2F1", map[string]any{"Content__c": "three"}); r.status != 204 {
		t.Fatalf("v45 update: %d %s", r.status, r.body)
	}
	if r := old.call(http.MethodPatch, path+"m2", map[string]any{"Content__c": "x"}); r.status != 201 || strings.Contains(string(r.body), "created") {
		t.Fatalf("v45 create: %d %s", r.status, r.body)
	}
	// Validation applies to upserts.
	wantError(t, "invalid upsert", a.call(http.MethodPatch, path+"m3", map[string]any{"Direction__c": "Up"}), 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "")
	// GET and DELETE by external id.
	if r := a.call(http.MethodGet, path+"m2", nil); r.status != 200 || r.obj(t)["Care_Message_Id__c"] != "m2" {
		t.Fatalf("get by ext id: %d %s", r.status, r.body)
	}
	if r := a.call(http.MethodGet, path+"zzz", nil); r.status != 404 {
		t.Fatalf("get unknown ext id: %d", r.status)
	}
	if r := a.call(http.MethodDelete, path+"m2", nil); r.status != 204 {
		t.Fatalf("delete by ext id: %d", r.status)
	}
	// Upsert by Id updates.
	if r := a.call(http.MethodPatch, "sobjects/Care_Social_Post__c/Id/"+id, map[string]any{"Author__c": "me"}); r.status != 200 {
		t.Fatalf("upsert by Id: %d %s", r.status, r.body)
	}
	// The Id path finds only a live record of that object, and upsert by
	// Id never creates.
	deleted := a.mustCreate("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "gone", "Direction__c": "Inbound"})
	if r := a.call(http.MethodDelete, "sobjects/Care_Social_Post__c/"+deleted, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	caseID := a.mustCreate("Case", map[string]any{"Subject": "not a post"})
	for _, tc := range []struct {
		name, method, id string
		status           int
	}{
		{"get live", http.MethodGet, id[:15], 200},
		{"get deleted", http.MethodGet, deleted, 404},
		{"get other object", http.MethodGet, caseID, 404},
		{"get malformed", http.MethodGet, "not-an-id", 404},
		{"upsert deleted", http.MethodPatch, deleted, 404},
		{"upsert missing", http.MethodPatch, To18("a0SSm0000ZZZZZZ"), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == http.MethodPatch {
				body = map[string]any{"Author__c": "x"}
			}
			r := a.call(tc.method, "sobjects/Care_Social_Post__c/Id/"+tc.id, body)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.status == 200 && r.obj(t)["Id"] != id {
				t.Fatalf("got %s", r.body)
			}
		})
	}
	if n := len(srv.Records("Care_Social_Post__c")); n != 1 {
		t.Fatalf("%d live posts, want 1: an upsert by Id created a record", n)
	}
}

func TestUpsertMultipleMatches(t *testing.T) {
	// A non-unique external id field can match several records: 300.
	ext, err := ParseSchema("extra.yaml", []byte("objects:\n  Contact:\n    fields:\n      Handle__c: {type: string, length: 80, external_id: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Options{Schema: ext})
	a := newAPI(t, srv, "")
	id1 := a.mustCreate("Contact", map[string]any{"LastName": "A", "Handle__c": "@joe"})
	id2 := a.mustCreate("Contact", map[string]any{"LastName": "B", "Handle__c": "@joe"})
	for _, method := range []string{http.MethodPatch, http.MethodGet} {
		var body any
		if method == http.MethodPatch {
			body = map[string]any{"FirstName": "x"}
		}
		r := a.call(method, "sobjects/Contact/Handle__c/"+url.PathEscape("@joe"), body)
		want := `["/services/data/v62.0/sobjects/Contact/` + id1 + `","/services/data/v62.0/sobjects/Contact/` + id2 + `"]`
		if r.status != 300 || string(r.body) != want {
			t.Fatalf("%s: %d %s", method, r.status, r.body)
		}
	}
}

func TestLimits(t *testing.T) {
	srv := startServer(t, Options{DailyLimit: 5})
	a := newAPI(t, srv, "")
	for i := 1; i <= 5; i++ {
		r := a.call(http.MethodGet, "limits", nil)
		if r.status != 200 || r.header.Get("Sforce-Limit-Info") != fmt.Sprintf("api-usage=%d/5", i) {
			t.Fatalf("call %d: %d %q", i, r.status, r.header.Get("Sforce-Limit-Info"))
		}
		d := r.obj(t)["DailyApiRequests"].(map[string]any)
		if d["Max"].(json.Number).String() != "5" || d["Remaining"].(json.Number).String() != fmt.Sprint(5-i) {
			t.Fatalf("limits body %v", d)
		}
	}
	r := a.call(http.MethodGet, "limits", nil)
	if r.status != 403 || string(r.body) != `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]` {
		t.Fatalf("over the limit: %d %s", r.status, r.body)
	}
	// The version list is not counted.
	if resp, err := testClient.Get(srv.InstanceURL + "/services/data"); err != nil || resp.StatusCode != 200 {
		t.Fatal("version list must work over the limit")
	} else {
		resp.Body.Close()
	}
	if used, max := srv.APIUsage(); used != 5 || max != 5 {
		t.Fatalf("usage %d/%d", used, max)
	}
	req, _ := http.NewRequest(http.MethodPut, srv.LoginURL+"/__sim/limits", strings.NewReader(`{"daily_limit":10}`))
	resp, err := testClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("PUT limits: %v", err)
	}
	resp.Body.Close()
	if r := a.call(http.MethodGet, "limits", nil); r.status != 200 || r.header.Get("Sforce-Limit-Info") != "api-usage=6/10" {
		t.Fatalf("after raising the limit: %d %s", r.status, r.header.Get("Sforce-Limit-Info"))
	}
}

func TestDescribe(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	r := a.call(http.MethodGet, "sobjects/Case/describe", nil)
	if r.status != 200 {
		t.Fatal(r.status)
	}
	var d struct {
		Name        string `json:"name"`
		KeyPrefix   string `json:"keyPrefix"`
		Fields      []map[string]any
		RecordTypes []map[string]any `json:"recordTypeInfos"`
		Children    []map[string]any `json:"childRelationships"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	fields := map[string]map[string]any{}
	for _, f := range d.Fields {
		fields[f["name"].(string)] = f
	}
	check := func(name, key string, want any) {
		t.Helper()
		f := fields[name]
		if f == nil {
			t.Fatalf("no field %s", name)
		}
		if fmt.Sprint(f[key]) != fmt.Sprint(want) {
			t.Errorf("%s.%s = %v, want %v", name, key, f[key], want)
		}
	}
	check("Subject", "length", 255)
	check("Description", "length", 32000)
	check("Description", "filterable", false)
	check("Care_Case_Id__c", "externalId", true)
	check("Care_Case_Id__c", "unique", true)
	check("Care_Case_Id__c", "length", 64)
	check("Care_Case_Id__c", "custom", true)
	check("Care_Agent_Email__c", "type", "email")
	check("CaseNumber", "autoNumber", true)
	check("CaseNumber", "createable", false)
	check("IsClosed", "updateable", false)
	check("ContactId", "referenceTo", []any{"Contact"})
	check("ContactId", "relationshipName", "Contact")
	check("Status", "defaultedOnCreate", true)
	check("OwnerId", "referenceTo", []any{"Group", "User"})
	var origin []string
	for _, p := range fields["Origin"]["picklistValues"].([]any) {
		origin = append(origin, p.(map[string]any)["value"].(string))
	}
	if !strings.Contains(strings.Join(origin, ","), "Social") {
		t.Errorf("Origin picklist lacks Social: %v", origin)
	}
	status := fields["Status"]["picklistValues"].([]any)
	if len(status) != 4 || status[0].(map[string]any)["value"] != "New" || status[0].(map[string]any)["defaultValue"] != true {
		t.Errorf("Status picklist %v", status)
	}
	if d.KeyPrefix != "500" || len(d.RecordTypes) != 3 {
		t.Fatalf("describe %s %d record types", d.KeyPrefix, len(d.RecordTypes))
	}
	devNames := map[string]bool{}
	for _, rt := range d.RecordTypes {
		devNames[rt["developerName"].(string)] = true
	}
	if !devNames["Support"] || !devNames["Social"] || !devNames["Master"] {
		t.Fatalf("record types %v", d.RecordTypes)
	}
	foundChild := false
	for _, ch := range d.Children {
		if ch["childSObject"] == "Care_Social_Post__c" && ch["relationshipName"] == "Care_Social_Posts__r" && ch["field"] == "Case__c" {
			foundChild = true
		}
	}
	if !foundChild {
		t.Errorf("Case lacks the Care_Social_Posts__r child relationship: %v", d.Children)
	}
	post := a.call(http.MethodGet, "sobjects/Care_Social_Post__c/describe", nil).obj(t)
	if post["keyPrefix"] != "a0S" || post["custom"] != true {
		t.Fatalf("custom object describe %v %v", post["keyPrefix"], post["custom"])
	}
	// Describe global and basic information.
	g := a.call(http.MethodGet, "sobjects", nil).obj(t)
	names := map[string]bool{}
	for _, o := range g["sobjects"].([]any) {
		names[o.(map[string]any)["name"].(string)] = true
	}
	for _, n := range []string{"Case", "Contact", "Lead", "User", "RecordType", "Care_Social_Post__c"} {
		if !names[n] {
			t.Errorf("describeGlobal lacks %s", n)
		}
	}
	if r := a.call(http.MethodGet, "sobjects/Lead", nil); r.status != 200 || r.obj(t)["objectDescribe"].(map[string]any)["keyPrefix"] != "00Q" {
		t.Fatalf("basic info: %d %s", r.status, r.body)
	}
	// If-Modified-Since: 304 once the schema is older.
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if r := a.call(http.MethodGet, "sobjects/Case/describe", nil, "If-Modified-Since", future); r.status != 304 {
		t.Fatalf("If-Modified-Since: %d", r.status)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	if r := a.call(http.MethodGet, "sobjects/Case/describe", nil, "If-Modified-Since", past); r.status != 200 {
		t.Fatalf("If-Modified-Since in the past: %d", r.status)
	}
}

func TestGetUpdatedAndDeleted(t *testing.T) {
	clock, _, a := clockedOrg(t, Options{})
	start := clock.Now()
	c1 := a.mustCreate("Contact", map[string]any{"LastName": "One"})
	clock.Add(2 * time.Minute)
	c2 := a.mustCreate("Contact", map[string]any{"LastName": "Two"})
	clock.Add(2 * time.Minute)
	a.call(http.MethodDelete, "sobjects/Contact/"+c1, nil)
	clock.Add(2 * time.Minute)
	r := a.replication("Contact", "updated", start, start.Add(3*time.Minute))
	m := r.obj(t)
	if r.status != 200 || fmt.Sprint(m["ids"]) != "["+c2+"]" || m["latestDateCovered"] != formatTime(start.Add(3*time.Minute)) {
		t.Fatalf("updated: %d %s", r.status, r.body)
	}
	r = a.replication("Contact", "deleted", start, clock.Now())
	m = r.obj(t)
	recs := m["deletedRecords"].([]any)
	if r.status != 200 || len(recs) != 1 || recs[0].(map[string]any)["id"] != c1 || recs[0].(map[string]any)["deletedDate"] != formatTime(start.Add(4*time.Minute)) {
		t.Fatalf("deleted: %d %s", r.status, r.body)
	}
	wantError(t, "end before start", a.replication("Contact", "updated", clock.Now(), start), 400, "INVALID_REPLICATION_DATE", "")
	wantError(t, "more than 30 days back", a.replication("Contact", "updated", start.Add(-31*24*time.Hour), start), 400, "INVALID_REPLICATION_DATE", "")
}

func TestMethodOverride(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	id := a.mustCreate("Contact", map[string]any{"LastName": "x"})
	if r := a.call(http.MethodPost, "sobjects/Contact/"+id+"?_HttpMethod=PATCH", map[string]any{"Title": "over"}); r.status != 204 {
		t.Fatalf("POST ?_HttpMethod=PATCH: %d %s", r.status, r.body)
	}
	if rec, _ := srv.Record("Contact", id); rec["Title"] != "over" {
		t.Fatal("override not applied")
	}
	if got := srv.Stats().ByOperation[opUpdate]; got != 1 {
		t.Fatalf("counted as update %d times", got)
	}
}

func TestEmptyStringIsNull(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	id := a.mustCreate("Contact", map[string]any{"LastName": "x", "Title": "", "Email": "", "AccountId": ""})
	rec, _ := srv.Record("Contact", id)
	if rec["Title"] != nil || rec["Email"] != nil || rec["AccountId"] != nil {
		t.Fatalf("empty strings must be stored as null: %v", rec)
	}
	if r := a.query("SELECT Id FROM Contact WHERE Title = null"); len(column(t, r, "Id")) != 1 {
		t.Fatalf("null query: %s", r.body)
	}
}
