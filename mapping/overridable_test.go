package mapping

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// lookupMapping maps lookups, the owner and a custom reference into a case.
const lookupMapping = `version: 1
case:
  object: Case
  external_id_field: Care_Case_Id__c
  fields:
    Subject: customer.name
    ContactId: { value: 003000000000000AAA }
    OwnerId: { value: 005000000000000AAA }
    Account__c: { value: 001000000000000AAA }
    Care_Case_Id__c: case.external_key
`

func TestOverridableDefaults(t *testing.T) {
	ex := exampleMapping(t)
	for _, tc := range []struct {
		sec  *ObjectMapping
		want []string
	}{
		{ex.Case, []string{"Subject", "Origin", "Priority", "Description", "Care_Agent_Email__c"}},
		{ex.Contact, []string{"FirstName", "LastName", "Email"}}, // listed: Email is not mapped
		{ex.Lead, []string{"LastName", "Company"}},
		{&ex.Messages.ObjectMapping, []string{}},
		{mustParse(t, "l.yaml", lookupMapping).Case, []string{"Subject", "Account__c"}},
	} {
		if !slices.Equal(tc.sec.Overridable, tc.want) {
			t.Errorf("%s: overridable %q, want %q", tc.sec.Section, tc.sec.Overridable, tc.want)
		}
	}
	for field, want := range map[string]bool{"subject": true, "Care_Case_Id__c": false, "OwnerId": false, "Id": false, "RecordTypeId": false, "Status": false} {
		if got := ex.Case.CanOverride(field); got != want {
			t.Errorf("CanOverride(%s) = %v, want %v", field, got, want)
		}
	}
}

func TestOverridableWithDescribe(t *testing.T) {
	info := sfsim(t)["Case"]
	info.Fields["Account__c"] = FieldInfo{Name: "Account__c", Type: "reference", Createable: true, ReferenceTo: []string{"Account"}}
	byDefault := mustParse(t, "l.yaml", lookupMapping).Case
	if byDefault.CanOverrideWith("Account__c", info) || !byDefault.CanOverride("Account__c") {
		t.Error("a lookup by describe is overridable by default (or not even offline)")
	}
	if got := byDefault.OverridableWith(info); !slices.Equal(got, []string{"Subject"}) {
		t.Errorf("OverridableWith = %q", got)
	}
	listed := mustParse(t, "l.yaml", strings.Replace(lookupMapping, "  fields:", "  overridable: [Account__c, OwnerId, Status]\n  fields:", 1)).Case
	if !slices.Equal(listed.Overridable, []string{"Account__c", "OwnerId", "Status"}) || !listed.OverridableListed {
		t.Fatalf("listed: %q", listed.Overridable)
	}
	for field, want := range map[string]bool{"Account__c": true, "ownerid": true, "Status": true, "Subject": false, "ContactId": false} {
		if got := listed.CanOverrideWith(field, info); got != want {
			t.Errorf("listed CanOverrideWith(%s) = %v, want %v", field, got, want)
		}
	}
}

func TestRenderRefusesOverrides(t *testing.T) {
	ex := exampleMapping(t)
	in := sampleInput()
	in.Overrides = map[string]any{"Subject": "mine", "OwnerId": "005000000000001AAA", "Care_Case_Id__c": "someone else's"}
	for _, info := range []*ObjectInfo{nil, sfsim(t)["Case"]} {
		r, err := ex.Render(ObjectCase, in, info)
		var no *NotOverridableError
		if !errors.As(err, &no) || r != nil {
			t.Fatalf("Render = %v, %v; want *NotOverridableError", r, err)
		}
		if no.Section != ObjectCase || !slices.Equal(no.Fields, []string{"Care_Case_Id__c", "OwnerId"}) {
			t.Errorf("error %+v", no)
		}
		if want := "render case: not overridable: Care_Case_Id__c, OwnerId"; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	}
	in.Overrides = map[string]any{"subject": "mine"}
	r, err := ex.Render(ObjectCase, in, sfsim(t)["Case"])
	if err != nil || r.Fields["Subject"] != "mine" || r.ExternalID != sampleInput().Case.ExternalKey {
		t.Fatalf("an overridable field: %v %v", r, err)
	}
}

func TestSectionJSON(t *testing.T) {
	m := mustParse(t, "a.yaml", strings.Replace(lookupMapping, "  fields:", "  assignment_rules: true\n  fields:", 1))
	if !m.Case.AssignmentRules || exampleMapping(t).Case.AssignmentRules {
		t.Fatal("assignment_rules not read, or not false by default")
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Case struct {
			Overridable     []string `json:"overridable"`
			AssignmentRules bool     `json:"assignment_rules"`
		} `json:"case"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Case.Overridable, []string{"Subject", "Account__c"}) || !got.Case.AssignmentRules {
		t.Errorf("JSON case section: %+v in %s", got.Case, b)
	}
}
