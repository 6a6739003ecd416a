package sfsim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/connector/testworld/expect"
)

const extraSchema = `objects:
  Survey__c:
    key_prefix: "a01"
    fields:
      Score__c: {type: double}
      Channel__c: {type: picklist, values: [Twitter, Facebook], restricted: true}
      Case__c: {type: reference, reference_to: Case}
      Code__c: {type: string, length: 10, required: true, unique: true}
      Tags__c: {type: multipicklist, values: [a, b, c], restricted: true}
      Answered__c: {type: datetime}
      Happy__c: {type: boolean}
  Case:
    fields:
      Sentiment__c: {type: picklist, values: [Positive, Negative]}
      Origin: {type: picklist, values: [Twitter, Facebook]}
`

func TestSchemaExtension(t *testing.T) {
	ext, err := ParseSchema("schema.yaml", []byte(extraSchema))
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Options{Schema: ext})
	a := newAPI(t, srv, "")
	caseID := a.mustCreate("Case", map[string]any{"Subject": "s", "Sentiment__c": "Positive", "Origin": "Twitter"})
	id := a.mustCreate("Survey__c", map[string]any{"Score__c": 4.5, "Channel__c": "Twitter", "Case__c": caseID, "Code__c": "S1", "Tags__c": "a;c", "Answered__c": "2025-07-31T10:00:00Z"})
	if !strings.HasPrefix(id, "a01") {
		t.Fatalf("key prefix: %s", id)
	}
	rec, _ := srv.Record("Survey__c", id)
	if rec["Happy__c"] != false || rec["Answered__c"] != "2025-07-31T10:00:00.000+0000" || !strings.HasPrefix(rec["Name"].(string), "S-") {
		t.Fatalf("record %v", rec)
	}
	tests := []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"Channel__c": "Twitter", "Code__c": "S2", "Score__c": "high"}, "JSON_PARSER_ERROR"},
		{map[string]any{"Channel__c": "Myspace", "Code__c": "S2"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		{map[string]any{"Channel__c": "Twitter", "Code__c": "S2", "Tags__c": "a;z"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		{map[string]any{"Channel__c": "Twitter"}, "REQUIRED_FIELD_MISSING"},
		{map[string]any{"Channel__c": "Twitter", "Code__c": "s1"}, "DUPLICATE_VALUE"},
		{map[string]any{"Channel__c": "Twitter", "Code__c": "ABCDEFGHIJK"}, "STRING_TOO_LONG"},
		{map[string]any{"Channel__c": "Twitter", "Code__c": "S3", "Case__c": id}, "FIELD_INTEGRITY_EXCEPTION"},
	}
	for _, tc := range tests {
		wantError(t, fmt.Sprint(tc.body), a.call(http.MethodPost, "sobjects/Survey__c", tc.body), 400, tc.code, "")
	}
	// Relationships and child relationships work for the new object.
	r := a.query("SELECT Code__c, Case__r.Subject FROM Survey__c WHERE Case__r.Sentiment__c = 'Positive'")
	if got := column(t, r, "Code__c"); len(got) != 1 || got[0] != "S1" {
		t.Fatalf("query: %s", r.body)
	}
	r = a.query("SELECT Id, (SELECT Code__c FROM Surveys__r) FROM Case")
	if !strings.Contains(string(r.body), `"Surveys__r":{"totalSize":1`) {
		t.Fatalf("child relationship: %s", r.body)
	}
	// A redefined standard picklist replaces the default values.
	d := a.call(http.MethodGet, "sobjects/Case/describe", nil)
	if !strings.Contains(string(d.body), `"value":"Facebook"`) || strings.Contains(string(d.body), `"value":"Phone"`) {
		t.Fatal("Origin was not redefined")
	}
}

func TestSchemaFileErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown keys everywhere", "objects:\n  Foo__c:\n    prefix: a02\n    fields:\n      Bar__c: {type: string, size: 3}\nextra: 1\n",
			[]string{"s.yaml:3:5: unknown key \"prefix\"", "s.yaml:5:30: unknown key \"size\"", "s.yaml:6:1: unknown key \"extra\""}},
		{"bad type", "objects:\n  Foo__c:\n    fields:\n      Bar__c: {type: blob}\n", []string{"s.yaml:4:22: unknown field type \"blob\""}},
		{"picklist without values", "objects:\n  Foo__c:\n    fields:\n      P__c: {type: picklist}\n", []string{"s.yaml:4:7: picklist field P__c needs values"}},
		{"reference without target", "objects:\n  Foo__c:\n    fields:\n      R__c: {type: reference}\n", []string{"needs reference_to"}},
		{"bad prefix and length", "objects:\n  Foo__c:\n    key_prefix: toolong\n    fields:\n      S__c: {type: string, length: -1}\n", []string{"s.yaml:3:17: key_prefix must be 3", "s.yaml:5:36: length must be a positive integer"}},
		{"long string", "objects:\n  Foo__c:\n    fields:\n      S__c: {type: string, length: 300}\n", []string{"at most 255 characters"}},
		{"not yaml", "objects: [", []string{"s.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSchema("s.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// Errors found when the extension meets the schema.
	applyErrs := []struct{ yaml, want string }{
		{"objects:\n  Foo__c:\n    fields:\n      R__c: {type: reference, reference_to: Nope__c}\n", "s.yaml:4:7: reference_to Nope__c is not an object of the org"},
		{"objects:\n  Foo__c:\n    key_prefix: \"500\"\n", "key_prefix 500 is already used by Case"},
		{"objects:\n  Case:\n    fields:\n      CreatedDate: {type: string}\n", "Case.CreatedDate is a system field"},
	}
	// 25 prefixes a0A..a0Z are free (a0S is the message object's): a 26th
	// object without key_prefix is refused, not given an empty prefix.
	var many strings.Builder
	many.WriteString("objects:\n")
	for i := 0; i < 26; i++ {
		fmt.Fprintf(&many, "  Obj%02d__c: {}\n", i)
	}
	applyErrs = append(applyErrs, struct{ yaml, want string }{many.String(), "s.yaml:27:3: no free key prefix left in a0A..a0Z; give Obj25__c a key_prefix"})
	for _, tc := range applyErrs {
		ext, err := ParseSchema("s.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		if _, err := NewServer(Options{Schema: ext}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewServer: %v, want %q", err, tc.want)
		}
	}
	// LoadSchemaFile reads from disk.
	path := expect.WriteFile(t, t.TempDir(), "schema.yaml", extraSchema)
	if _, err := LoadSchemaFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSchemaFile(path + ".missing"); err == nil {
		t.Fatal("missing file accepted")
	}
}
