package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// Every write carries Sforce-Auto-Assign: FALSE and the duplicate rule
// header; a context from WithAssignmentRules turns assignment on; reads
// carry neither.
func TestWriteHeaders(t *testing.T) {
	const id = "500RO00000A1b2cYAB"
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) {
		serve(w, 201, []byte(`{"id":"500RO00000A1b2cYAB","errors":[],"success":true,"created":true}`))
	}
	mux.HandleFunc("POST "+v+"/sobjects/Case", ok)
	mux.HandleFunc("PATCH "+v+"/sobjects/Case/Care_Case_Id__c/{value}", ok)
	mux.HandleFunc("PATCH "+v+"/sobjects/Case/"+id, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("DELETE "+v+"/sobjects/Case/"+id, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("GET "+v+"/sobjects/Case/"+id, func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`{"Id":"500RO00000A1b2cYAB"}`))
	})
	mux.HandleFunc(v+"/composite/sobjects", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`[{"id":"500RO00000A1b2cYAB","success":true,"errors":[]}]`))
	})
	mux.HandleFunc("POST "+v+"/composite", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`{"compositeResponse":[{"body":{"id":"500RO00000A1b2cYAB","success":true,"errors":[]},"httpHeaders":{},"httpStatusCode":201,"referenceId":"c"},{"body":{"Id":"500RO00000A1b2cYAB"},"httpHeaders":{},"httpStatusCode":200,"referenceId":"g"}]}`))
	})
	c, rec, _ := newOrg(t, mux, Options{})
	ctx := context.Background()
	assigned := WithAssignmentRules(ctx)
	calls := []struct {
		name   string
		assign string // the Sforce-Auto-Assign wanted; "" for a read
		call   func() error
	}{
		{"create", "FALSE", func() error { _, err := c.Create(ctx, "Case", map[string]any{"Subject": "x"}); return err }},
		{"create assigned", "TRUE", func() error { _, err := c.Create(assigned, "Case", map[string]any{"Subject": "x"}); return err }},
		{"upsert", "FALSE", func() error { _, err := c.Upsert(ctx, "Case", "Care_Case_Id__c", "k1", nil); return err }},
		{"upsert assigned", "TRUE", func() error { _, err := c.Upsert(assigned, "Case", "Care_Case_Id__c", "k1", nil); return err }},
		{"update", "FALSE", func() error { return c.Update(ctx, "Case", id, map[string]any{"Status": "New"}) }},
		{"delete", "FALSE", func() error { return c.Delete(ctx, "Case", id) }},
		{"get", "", func() error { _, err := c.Get(ctx, "Case", id); return err }},
		{"collections create", "FALSE", func() error {
			_, err := c.CollectionsCreate(ctx, "Case", []map[string]any{{"Subject": "x"}}, false)
			return err
		}},
		{"collections update", "FALSE", func() error {
			_, err := c.CollectionsUpdate(ctx, "Case", []map[string]any{{"Id": id, "Status": "New"}}, false)
			return err
		}},
		{"composite", "FALSE", func() error {
			_, err := c.Composite(ctx, false, []Subrequest{
				{Method: "POST", URL: c.DataPath("sobjects", "Case"), ReferenceID: "c", Body: map[string]any{"Subject": "x"}},
				{Method: "GET", URL: c.DataPath("sobjects", "Case", id), ReferenceID: "g"},
			})
			return err
		}},
	}
	for i, tt := range calls {
		if err := tt.call(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := rec.all()[i].Header
		wantDup := "allowSave=true"
		if tt.assign == "" {
			wantDup = ""
		}
		if got.Get("Sforce-Auto-Assign") != tt.assign || got.Get("Sforce-Duplicate-Rule-Header") != wantDup {
			t.Errorf("%s: Sforce-Auto-Assign %q, Sforce-Duplicate-Rule-Header %q", tt.name,
				got.Get("Sforce-Auto-Assign"), got.Get("Sforce-Duplicate-Rule-Header"))
		}
	}
	// Composite subrequests inherit no such header: each write carries its own.
	var sent struct {
		CompositeRequest []struct {
			Method      string            `json:"method"`
			HTTPHeaders map[string]string `json:"httpHeaders"`
		} `json:"compositeRequest"`
	}
	if err := json.Unmarshal(rec.all()[len(calls)-1].Body, &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Sforce-Auto-Assign": "FALSE", "Sforce-Duplicate-Rule-Header": "allowSave=true"}
	if !reflect.DeepEqual(sent.CompositeRequest[0].HTTPHeaders, want) || sent.CompositeRequest[1].HTTPHeaders != nil {
		t.Errorf("composite subrequest headers: %+v", sent.CompositeRequest)
	}
}

// A blocking duplicate rule's answer (Salesforce's DuplicateError) names
// the matched records, in the REST array and in a per-record result.
func TestDuplicatesDetected(t *testing.T) {
	const body = `[{"duplicateResult":{"allowSave":false,"duplicateRule":"Standard_Lead_Duplicate_Rule","duplicateRuleEntityType":"Lead",
"errorMessage":"Use one of these records?","matchResults":[{"entityType":"Lead","errors":[],"matchEngine":"ExactMatchEngine",
"matchRecords":[{"additionalInformation":[],"fieldDiffs":[],"matchConfidence":100.0,"record":{"attributes":{"type":"Lead","url":"/services/data/v62.0/sobjects/Lead/00QRO0000000001AAA"},"Id":"00QRO0000000001AAA"}},
{"additionalInformation":[],"fieldDiffs":[],"matchConfidence":100.0,"record":{"attributes":{"type":"Lead"},"Id":"00QRO0000000002AAA"}}],
"rule":"Standard_Lead_Match_Rule_v1_0","size":2,"success":true}]},"errorCode":"DUPLICATES_DETECTED","fields":[],"message":"Use one of these records?"}]`
	e := newAPIError("create", 400, []byte(body))
	want := []string{"00QRO0000000001AAA", "00QRO0000000002AAA"}
	if !errors.Is(e, ErrDuplicates) || !reflect.DeepEqual(e.Matches, want) || e.Code != CodeDuplicatesDetected ||
		Classify(e) != NotRetryable || errors.Is(e, ErrMultipleMatches) {
		t.Fatalf("REST error: %+v", e)
	}
	if !reflect.DeepEqual(e.Details[0].Matches, want) {
		t.Errorf("detail matches %v", e.Details[0].Matches)
	}
	var res []saveResult
	perRecord := `[{"success":false,"errors":[{"statusCode":"DUPLICATES_DETECTED","message":"Use one of these records?","fields":[],
"duplicateResult":{"matchResults":[{"matchRecords":[{"record":{"Id":"00QRO0000000001AAA"}}]}]}}]}]`
	if err := json.Unmarshal([]byte(perRecord), &res); err != nil {
		t.Fatal(err)
	}
	re := recordError("collections", res[0].Errors)
	if !errors.Is(re, ErrDuplicates) || !reflect.DeepEqual(re.Matches, want[:1]) {
		t.Errorf("per-record error: %+v", re)
	}
	if other := newAPIError("create", 400, []byte(`[{"errorCode":"DUPLICATE_VALUE","message":"duplicate value found"}]`)); errors.Is(other, ErrDuplicates) || other.Matches != nil {
		t.Errorf("DUPLICATE_VALUE taken for a duplicate rule: %+v", other)
	}
}
