package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidationGolden checks every file of testdata/invalid against its
// golden report: offline, and for online_* files also against the sfsim
// describe plus the extra object.
func TestValidationGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d invalid mappings found", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			var d Describer
			if strings.HasPrefix(name, "online_") {
				d = sfsimExtra(t)
			}
			rep, err := CheckFile(context.Background(), path, d)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("an invalid mapping passed")
			}
			got := strings.Join(rep.Lines(), "\n") + "\n"
			golden(t, filepath.Join("invalid", name+".golden"), []byte(got))
			// Every line names this file and a real position in it.
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Count(string(src), "\n") + 1
			for _, p := range rep.Problems {
				if p.File != path || p.Line < 1 || p.Line > lines || p.Col < 1 {
					t.Errorf("bad position in %v", p)
				}
			}
		})
	}
}

// failing is a Describer whose org cannot be reached.
type failing struct{ err error }

func (f failing) Describe(context.Context, string) (*ObjectInfo, error) { return nil, f.err }

func TestCheckErrors(t *testing.T) {
	example := filepath.Join("testdata", "example.yaml")
	network := errors.New("dial tcp: connection refused")
	for _, tc := range []struct {
		name string
		path string
		d    Describer
		want error
	}{
		{"unreadable file", filepath.Join(t.TempDir(), "missing.yaml"), nil, os.ErrNotExist},
		{"describe fails", example, failing{network}, network},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := CheckFile(context.Background(), tc.path, tc.d)
			if !errors.Is(err, tc.want) || rep != nil {
				t.Errorf("CheckFile = %v, %v; want error %v", rep, err, tc.want)
			}
		})
	}
	// A missing object is a problem, not an error.
	rep, err := CheckFile(context.Background(), example, failing{fmt.Errorf("404: %w", ErrObjectNotFound)})
	if err != nil || rep.OK() || len(rep.Problems) != 5 {
		t.Fatalf("CheckFile = %v, %v", rep, err)
	}
	b, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(b), `"line":3,"column":11,"message":"contact.object: Salesforce has no object \"Contact\""`) {
		t.Errorf("report JSON %s, %v", b, err)
	}
}

// TestOnlineRecordTypePicklists checks values against the picklist of the
// record type when describe models one, and the field's own otherwise.
func TestOnlineRecordTypePicklists(t *testing.T) {
	src := "version: 1\ncase:\n  object: Case\n  record_type: %s\n  fields:\n    Subject: customer.name\n    Origin: { value: Web }\n" +
		"status:\n  mode: conditions\n  salesforce_field: Status\n  conditions:\n    - when: { message_added: true }\n      set: New\n"
	for _, tc := range []struct {
		name, rt string
		want     []string
	}{
		{"master uses the field's values", "Master", nil},
		{"record type narrows", "Social", []string{
			`t.yaml:7:22: case.Origin: "Web" is not a value of picklist Origin for record type Social`,
			`t.yaml:13:12: status.conditions[0].set: "New" is inactive in picklist Status for record type Social`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sfsim(t)
			info := f["Case"]
			origin := info.Fields["Origin"]
			origin.Restricted = true
			info.Fields["Origin"] = origin
			for i := range info.RecordTypes {
				if info.RecordTypes[i].DeveloperName == "Social" {
					info.RecordTypes[i].Picklists = map[string][]PicklistValue{
						"Origin": {{Value: "Social", Active: true}},
						"Status": {{Value: "New", Active: false}, {Value: "Working", Active: true}},
					}
				}
			}
			rep, _, err := Check(context.Background(), "t.yaml", []byte(fmt.Sprintf(src, tc.rt)), f)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rep.Lines(), "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestOnlinePointsIntoTheKit checks that what an org without the setup kit
// lacks is named with the kit file that adds it, and that a kit field the
// user may not write names the kit's permission set.
func TestOnlinePointsIntoTheKit(t *testing.T) {
	f := sfsim(t)
	delete(f, "Care_Social_Post__c")
	delete(f["Case"].Fields, "Care_Case_Id__c")
	email := f["Case"].Fields["Care_Agent_Email__c"]
	email.Createable = false
	f["Case"].Fields["Care_Agent_Email__c"] = email
	rep, _, err := Check(context.Background(), "mapping.yaml", Sample(), f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mapping.yaml:11:22: case.external_id_field: Case.Care_Case_Id__c does not exist in the org: deploy deploy/salesforce (force-app/main/default/objects/Case/fields/Care_Case_Id__c.field-meta.xml)",
		"mapping.yaml:17:5: case.Care_Case_Id__c: Case.Care_Case_Id__c does not exist in the org: deploy deploy/salesforce (force-app/main/default/objects/Case/fields/Care_Case_Id__c.field-meta.xml)",
		"mapping.yaml:18:5: case.Care_Agent_Email__c: Case.Care_Agent_Email__c is not createable; assign the permission set Carebridge_Integration (deploy/salesforce/force-app/main/default/permissionsets/Carebridge_Integration.permissionset-meta.xml)",
		`mapping.yaml:26:11: messages.object: Salesforce has no object "Care_Social_Post__c": deploy deploy/salesforce (force-app/main/default/objects/Care_Social_Post__c/Care_Social_Post__c.object-meta.xml)`,
	}
	if got := strings.Join(rep.Lines(), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}
