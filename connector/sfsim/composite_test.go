package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func rec(typ string, fields map[string]any) map[string]any {
	out := map[string]any{"attributes": map[string]any{"type": typ}}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// results decodes a collections answer.
func results(t *testing.T, r result) []map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("collections: %d %s", r.status, r.body)
	}
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	return out
}

func statusCode(res map[string]any) string {
	errs := res["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].(map[string]any)["statusCode"].(string)
}

func TestCollectionsCreate(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	body := func(allOrNone bool) map[string]any {
		return map[string]any{"allOrNone": allOrNone, "records": []any{
			rec("Contact", map[string]any{"LastName": "One"}),
			rec("Lead", map[string]any{"LastName": "NoCompany"}),
			rec("Case", map[string]any{"Subject": "Three"}),
		}}
	}
	t.Run("allOrNone false", func(t *testing.T) {
		res := results(t, a.call(http.MethodPost, "composite/sobjects", body(false)))
		if len(res) != 3 || res[0]["success"] != true || res[1]["success"] != false || res[2]["success"] != true {
			t.Fatalf("%v", res)
		}
		if statusCode(res[1]) != "REQUIRED_FIELD_MISSING" {
			t.Fatalf("per-record errors are keyed statusCode: %v", res[1])
		}
		e := res[1]["errors"].([]any)[0].(map[string]any)
		if _, has := e["errorCode"]; has || fmt.Sprint(e["fields"]) != "[Company]" {
			t.Fatalf("error %v", e)
		}
		if _, ok := srv.Record("Contact", res[0]["id"].(string)); !ok {
			t.Fatal("successful records are committed")
		}
	})
	t.Run("allOrNone true", func(t *testing.T) {
		before := len(srv.Records("Contact"))
		res := results(t, a.call(http.MethodPost, "composite/sobjects", body(true)))
		if statusCode(res[0]) != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || statusCode(res[1]) != "REQUIRED_FIELD_MISSING" || statusCode(res[2]) != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
			t.Fatalf("%v", res)
		}
		if len(srv.Records("Contact")) != before || len(srv.Records("Case")) != 1 {
			t.Fatal("allOrNone must commit nothing")
		}
	})
	t.Run("errors", func(t *testing.T) {
		res := results(t, a.call(http.MethodPost, "composite/sobjects", map[string]any{"records": []any{
			map[string]any{"LastName": "no type"},
			rec("Whizbang", map[string]any{}),
			rec("Contact", map[string]any{"Id": "003Sm000000000A", "LastName": "x"}),
		}}))
		if statusCode(res[0]) != "INVALID_TYPE" || statusCode(res[1]) != "INVALID_TYPE" || statusCode(res[2]) != "INVALID_FIELD_FOR_INSERT_UPDATE" {
			t.Fatalf("%v", res)
		}
		var many []any
		for i := 0; i < 201; i++ {
			many = append(many, rec("Contact", map[string]any{"LastName": "x"}))
		}
		r := a.call(http.MethodPost, "composite/sobjects", map[string]any{"records": many})
		wantError(t, "201 records", r, 400, "EXCEEDED_ID_LIMIT", "")
		r = a.call(http.MethodPost, "composite/sobjects", `{"records":[{"attributes":{"type":"Contact"},"LastName":}]}`)
		wantError(t, "bad JSON", r, 400, "JSON_PARSER_ERROR", "")
		r = a.call(http.MethodPost, "composite/sobjects", `{"allOrNone":"yes","records":[]}`)
		wantError(t, "allOrNone not a boolean", r, 400, "JSON_PARSER_ERROR", "")
	})
}

func TestCollectionsUpdateDeleteRetrieve(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	c1 := a.mustCreate("Contact", map[string]any{"LastName": "One"})
	c2 := a.mustCreate("Contact", map[string]any{"LastName": "Two"})
	res := results(t, a.call(http.MethodPatch, "composite/sobjects", map[string]any{"records": []any{
		rec("Contact", map[string]any{"id": c1, "Title": "T1"}),
		rec("Contact", map[string]any{"Title": "no id"}),
		rec("Contact", map[string]any{"Id": c2, "LastName": nil}),
	}}))
	if res[0]["success"] != true || statusCode(res[1]) != "MISSING_ARGUMENT" || statusCode(res[2]) != "REQUIRED_FIELD_MISSING" || res[2]["id"] != c2 {
		t.Fatalf("update: %v", res)
	}
	if r, _ := srv.Record("Contact", c1); r["Title"] != "T1" {
		t.Fatal("update not applied")
	}
	r := a.call(http.MethodGet, "composite/sobjects/Contact?ids="+c1+","+c2[:15]+","+To18("003Sm0000ZZZZZZ")+"&fields=Id,LastName,Title", nil)
	var got []map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil || len(got) != 3 || got[0]["Title"] != "T1" || got[1]["LastName"] != "Two" || got[2] != nil {
		t.Fatalf("retrieve: %s", r.body)
	}
	res = results(t, a.call(http.MethodDelete, "composite/sobjects?allOrNone=true&ids="+c1+",bad", nil))
	if statusCode(res[0]) != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || statusCode(res[1]) != "MALFORMED_ID" {
		t.Fatalf("delete allOrNone: %v", res)
	}
	if _, ok := srv.Record("Contact", c1); !ok {
		t.Fatal("rolled-back delete removed the record")
	}
	res = results(t, a.call(http.MethodDelete, "composite/sobjects?ids="+c1+","+c2, nil))
	if res[0]["success"] != true || res[1]["success"] != true || len(srv.Records("Contact")) != 0 {
		t.Fatalf("delete: %v", res)
	}
}

func TestCollectionsUpsert(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	caseID := a.mustCreate("Case", map[string]any{"Subject": "s"})
	path := "composite/sobjects/Care_Social_Post__c/Care_Message_Id__c"
	msgs := func(n int, prefix string) []any {
		var out []any
		for i := 0; i < n; i++ {
			out = append(out, rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": fmt.Sprintf("%s%d", prefix, i), "Case__c": caseID, "Content__c": "x", "Direction__c": "Inbound"}))
		}
		return out
	}
	res := results(t, a.call(http.MethodPatch, path, map[string]any{"allOrNone": false, "records": msgs(200, "m")}))
	for _, r := range res {
		if r["success"] != true || r["created"] != true {
			t.Fatalf("first upsert: %v", r)
		}
	}
	// A retry creates nothing new.
	res = results(t, a.call(http.MethodPatch, path, map[string]any{"allOrNone": false, "records": msgs(200, "m")}))
	for _, r := range res {
		if r["success"] != true || r["created"] != false {
			t.Fatalf("retried upsert: %v", r)
		}
	}
	if n := len(srv.Records("Care_Social_Post__c")); n != 200 {
		t.Fatalf("%d records after a retry, want 200", n)
	}
	// The same external id twice in one call fails both; a missing value
	// fails that record.
	dup := []any{
		rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "d1", "Direction__c": "Inbound"}),
		rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "D1", "Direction__c": "Inbound"}),
		rec("Care_Social_Post__c", map[string]any{"Direction__c": "Inbound"}),
		rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "ok1", "Direction__c": "Inbound"}),
	}
	res = results(t, a.call(http.MethodPatch, path, map[string]any{"records": dup}))
	if statusCode(res[0]) != "DUPLICATE_EXTERNAL_ID" || statusCode(res[1]) != "DUPLICATE_EXTERNAL_ID" || statusCode(res[2]) != "MISSING_ARGUMENT" || res[3]["created"] != true {
		t.Fatalf("%v", res)
	}
	// allOrNone rolls back creates and updates.
	before, _ := srv.Record("Care_Social_Post__c", res[3]["id"].(string))
	res = results(t, a.call(http.MethodPatch, path, map[string]any{"allOrNone": true, "records": []any{
		rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "ok1", "Content__c": "changed"}),
		rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "new1", "Direction__c": "Inbound"}),
		rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": "bad", "Direction__c": "Up"}),
	}}))
	if statusCode(res[0]) != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || statusCode(res[2]) != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
		t.Fatalf("%v", res)
	}
	after, _ := srv.Record("Care_Social_Post__c", before["Id"].(string))
	if after["Content__c"] != before["Content__c"] || after["SystemModstamp"] != before["SystemModstamp"] {
		t.Fatalf("update not rolled back: %v", after)
	}
	if a.count("SELECT COUNT() FROM Care_Social_Post__c WHERE Care_Message_Id__c = 'new1'") != "0" {
		t.Fatal("create not rolled back")
	}
	// Unknown external id field.
	if r := a.call(http.MethodPatch, "composite/sobjects/Care_Social_Post__c/Nope__c", map[string]any{"records": []any{}}); r.status != 404 {
		t.Fatalf("unknown ext field: %d %s", r.status, r.body)
	}
}

func TestComposite(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	sub := func(method, url, ref string, body any) map[string]any {
		m := map[string]any{"method": method, "url": url, "referenceId": ref}
		if body != nil {
			m["body"] = body
		}
		return m
	}
	type entry struct {
		Body           json.RawMessage   `json:"body"`
		HTTPHeaders    map[string]string `json:"httpHeaders"`
		HTTPStatusCode int               `json:"httpStatusCode"`
		ReferenceID    string            `json:"referenceId"`
	}
	run := func(t *testing.T, req map[string]any) []entry {
		t.Helper()
		r := a.call(http.MethodPost, "composite", req)
		if r.status != 200 {
			t.Fatalf("composite: %d %s", r.status, r.body)
		}
		var out struct {
			CompositeResponse []entry `json:"compositeResponse"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		return out.CompositeResponse
	}
	before := srv.Stats().ByOperation[opComposite]
	used, _ := srv.APIUsage()
	out := run(t, map[string]any{"allOrNone": true, "compositeRequest": []any{
		sub("PATCH", "/services/data/v62.0/sobjects/Contact/Email/joe@example.com", "contact", map[string]any{"LastName": "Doe"}),
		sub("PATCH", "/services/data/v62.0/sobjects/Case/Care_Case_Id__c/care-7", "case", map[string]any{"Subject": "DM", "ContactId": "@{contact.id}"}),
		sub("GET", "/services/data/v62.0/sobjects/Case/@{case.id}?fields=CaseNumber", "caseNum", nil),
		sub("GET", "/services/data/v62.0/query?q=SELECT+Id,Contact.LastName+FROM+Case", "q", nil),
		sub("PATCH", "/services/data/v62.0/sobjects/Case/@{q.records[0].Id}", "upd", map[string]any{"Description": "number @{caseNum.CaseNumber}"}),
	}})
	if len(out) != 5 || out[0].HTTPStatusCode != 201 || out[1].HTTPStatusCode != 201 || out[2].HTTPStatusCode != 200 || out[4].HTTPStatusCode != 204 {
		t.Fatalf("%+v", out)
	}
	if !strings.HasPrefix(out[0].HTTPHeaders["Location"], "/services/data/v62.0/sobjects/Contact/003") || out[3].ReferenceID != "q" || string(out[4].Body) != "null" {
		t.Fatalf("%+v", out)
	}
	cases := srv.Records("Case")
	if len(cases) != 1 || cases[0]["ContactId"] == nil || cases[0]["Description"] != "number "+cases[0]["CaseNumber"].(string) {
		t.Fatalf("references not resolved: %v", cases)
	}
	if got := srv.Stats().ByOperation[opComposite]; got != before+1 {
		t.Fatalf("composite counted %d times", got-before)
	}
	if now, _ := srv.APIUsage(); now != used+1 {
		t.Fatalf("a composite request is one API call: %d → %d", used, now)
	}

	t.Run("allOrNone rolls back", func(t *testing.T) {
		out := run(t, map[string]any{"allOrNone": true, "compositeRequest": []any{
			sub("POST", "/services/data/v62.0/sobjects/Contact", "ok", map[string]any{"LastName": "Kept?"}),
			sub("POST", "/services/data/v62.0/sobjects/Lead", "bad", map[string]any{"LastName": "x"}),
			sub("POST", "/services/data/v62.0/sobjects/Contact", "after", map[string]any{"LastName": "After"}),
		}})
		if out[1].HTTPStatusCode != 400 || !strings.Contains(string(out[1].Body), "REQUIRED_FIELD_MISSING") {
			t.Fatalf("%+v", out)
		}
		for _, i := range []int{0, 2} {
			if out[i].HTTPStatusCode != 400 || !strings.Contains(string(out[i].Body), "PROCESSING_HALTED") {
				t.Fatalf("sub %d: %+v", i, out[i])
			}
		}
		if a.count("SELECT COUNT() FROM Contact WHERE LastName IN ('Kept?','After')") != "0" {
			t.Fatal("allOrNone composite committed")
		}
	})
	t.Run("a subrequest without a version fails and rolls back", func(t *testing.T) {
		out := run(t, map[string]any{"allOrNone": true, "compositeRequest": []any{
			sub("POST", "/services/data/v62.0/sobjects/Contact", "first", map[string]any{"LastName": "Versionless"}),
			sub("GET", "/services/data/", "noversion", nil),
			sub("GET", "/services/data//limits", "emptyversion", nil),
		}})
		if len(out) != 3 || out[1].HTTPStatusCode != 404 || !strings.Contains(string(out[1].Body), "NOT_FOUND") {
			t.Fatalf("%+v", out)
		}
		if a.count("SELECT COUNT() FROM Contact WHERE LastName = 'Versionless'") != "0" {
			t.Fatal("allOrNone composite committed")
		}
	})
	t.Run("allOrNone false keeps independent work", func(t *testing.T) {
		out := run(t, map[string]any{"allOrNone": false, "compositeRequest": []any{
			sub("POST", "/services/data/v62.0/sobjects/Lead", "bad", map[string]any{"LastName": "x"}),
			sub("GET", "/services/data/v62.0/sobjects/Lead/@{bad.id}", "dependent", nil),
			sub("POST", "/services/data/v62.0/sobjects/Contact", "indep", map[string]any{"LastName": "Independent"}),
		}})
		if out[0].HTTPStatusCode != 400 || out[1].HTTPStatusCode != 400 || !strings.Contains(string(out[1].Body), "PROCESSING_HALTED") || out[2].HTTPStatusCode != 201 {
			t.Fatalf("%+v", out)
		}
	})
	t.Run("structural errors", func(t *testing.T) {
		tests := []struct {
			body any
			msg  string
		}{
			{map[string]any{"compositeRequest": []any{map[string]any{"method": "GET", "url": "/services/data/v62.0/limits"}}}, "'referenceId' is a required field."},
			{map[string]any{"compositeRequest": []any{sub("GET", "/services/data/v62.0/limits", "a", nil), sub("GET", "/services/data/v62.0/limits", "a", nil)}}, "Duplicate ReferenceId"},
			{map[string]any{"compositeRequest": []any{sub("GET", "/services/data/v62.0/limits", "bad-ref", nil)}}, "Invalid referenceId"},
			{`{"compositeRequest":`, "Unexpected end-of-input"},
		}
		for _, tc := range tests {
			wantError(t, fmt.Sprint(tc.body), a.call(http.MethodPost, "composite", tc.body), 400, "JSON_PARSER_ERROR", tc.msg)
		}
		var many []any
		for i := 0; i < 26; i++ {
			many = append(many, sub("GET", "/services/data/v62.0/limits", fmt.Sprintf("r%d", i), nil))
		}
		if r := a.call(http.MethodPost, "composite", map[string]any{"compositeRequest": many}); r.status != 400 {
			t.Errorf("26 subrequests: %d", r.status)
		}
	})
}
