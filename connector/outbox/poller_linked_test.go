package outbox

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/mapping"
)

// withoutCaseExternalID is a mapping without the case external id field:
// cases are created, not upserted, and carry no key.
func withoutCaseExternalID(yaml []byte) []byte {
	return bytes.Replace(yaml, []byte("  external_id_field: Care_Case_Id__c"), nil, 1)
}

// pollChanges sets each Salesforce case's status and polls; the poll's
// Pages must be its query calls.
func (w *world) pollChanges(sfIDs []string, status string) PollResult {
	w.t.Helper()
	for _, sf := range sfIDs {
		w.sfSet(sf, status)
	}
	return w.pollCounted()
}

// pollCounted polls; the poll's Pages and Checks must be its query calls.
func (w *world) pollCounted() PollResult {
	w.t.Helper()
	before := w.calls("query")
	res := w.poll()
	if calls := w.calls("query") - before; calls != int64(res.Pages+res.Checks) {
		w.t.Fatalf("%d query calls, the poll says %d and %d checks", calls, res.Pages, res.Checks)
	}
	return res
}

// mustHaveStatus fails unless each Care case has st.
func (w *world) mustHaveStatus(ids []int64, st care.Status) {
	w.t.Helper()
	for _, id := range ids {
		if c := w.careCase(id); c.Status != st {
			w.t.Fatalf("case %d is %s, want %s (Salesforce %q)", id, c.Status, st, c.Salesforce.Status)
		}
	}
}

// TestPollNamesCasesLinkedWithoutTheField: above linkedChunk linked
// cases, the cases carebridge created are named by the case external id
// field, and cases linked to existing Salesforce cases (which do not carry
// it) by Id: a status change on each of them reaches Care, for one query
// more.
func TestPollNamesCasesLinkedWithoutTheField(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	created, createdSF := w.linkMany(400)
	var byHand []int64
	var byHandSF []string
	for i := range 5 {
		c, sf := w.linkedCase(i) // an existing Case of the org, no Care_Case_Id__c
		byHand, byHandSF = append(byHand, c.ID), append(byHandSF, sf)
	}
	if res := w.poll(); res.Checks != 1 { // do the five carry the field? (they do not)
		t.Fatalf("first poll: %+v, want 1 check", res)
	}
	res := w.pollChanges(append(slices.Clone(byHandSF), createdSF[0], createdSF[399]), "Escalated")
	if res.Pages != 2 || res.Checks != 0 || res.Applied != 7 {
		t.Fatalf("poll: %+v, want 2 queries (the field, one Id chunk) and 7 applied", res)
	}
	w.mustHaveStatus(append(byHand, created[0], created[399]), care.StatusOnHold)

	// Five hundred linked without the field: two Id chunks beside the field.
	for i := 5; i < 305; i++ {
		c, sf := w.linkedCase(i)
		byHand, byHandSF = append(byHand, c.ID), append(byHandSF, sf)
	}
	w.poll()
	res = w.pollChanges([]string{byHandSF[0], byHandSF[len(byHandSF)-1], createdSF[1]}, "Closed")
	if res.Pages != 3 || res.Applied != 3 {
		t.Fatalf("poll: %+v, want 3 queries (the field, two Id chunks) and 3 applied", res)
	}
	w.mustHaveStatus([]int64{byHand[0], byHand[len(byHand)-1], created[1]}, care.StatusDone)
}

// TestPollAfterExternalIDFieldRenamed: a case carries the value only of
// the field it was created with. When the admin moves the mapping to
// another external id field, the cases created under the old one are
// named by Id, not by the new field they lack.
func TestPollAfterExternalIDFieldRenamed(t *testing.T) {
	ext, err := sfsim.ParseSchema("case.yaml", []byte("objects:\n  Case:\n    fields:\n      Care_Key__c: {type: string, length: 64, external_id: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, worldOptions{sim: sfsim.Options{Schema: ext}})
	w.connect()
	cases, sfIDs := w.linkMany(400)
	w.poll()
	if res := w.pollChanges(sfIDs[:1], "Escalated"); res.Pages != 1 || res.Applied != 1 {
		t.Fatalf("under the field they were created with: %+v, want 1 query", res)
	}
	w.setMapping(bytes.ReplaceAll(exampleMapping(t), []byte("Care_Case_Id__c"), []byte("Care_Key__c")))
	res := w.pollChanges([]string{sfIDs[1], sfIDs[399]}, "Escalated")
	if res.Pages != 2 || res.Checks != 2 || res.Applied != 2 {
		t.Fatalf("after the rename: %+v, want 2 checks (none carries Care_Key__c) and 2 queries (Id chunks), 2 applied", res)
	}
	res = w.pollChanges([]string{sfIDs[2]}, "Escalated")
	if res.Pages != 2 || res.Checks != 0 || res.Applied != 1 {
		t.Fatalf("the next poll: %+v, want 2 queries and no check", res)
	}
	w.mustHaveStatus([]int64{cases[0], cases[1], cases[2], cases[399]}, care.StatusOnHold)
}

// TestPollChecksCasesOfAnOlderRelease: an older release's links do not
// say which field carebridge wrote, so their cases are named by Id until
// the poller has asked Salesforce, once, which of them carry their
// external key in the mapping's field; those are named by the field from
// then on, the others (linked by hand, or holding another value) still by
// Id.
func TestPollChecksCasesOfAnOlderRelease(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.connect()
	old, oldSF := w.linkManyFrom(0, 650, "") // carry their keys; the links do not say
	byHand, byHandSF := w.linkedCase(1)
	other := w.newCase(2, false)
	otherSF, err := w.sim.CreateRecord("Case", map[string]any{"Subject": "someone else's", "Care_Case_Id__c": "01JNOTTHISCASESKEY00000000"})
	if err != nil {
		t.Fatal(err)
	}
	w.link(other.ID, otherSF)
	updated := w.careCase(old[0]).UpdatedAt
	if res := w.poll(); res.Checks != 3 {
		t.Fatalf("first poll: %+v, want 3 checks (652 cases asked)", res)
	}
	if c := w.careCase(old[0]); c.Salesforce.ExternalIDField != "Care_Case_Id__c" || !c.UpdatedAt.Equal(updated) {
		t.Fatalf("an older release's case carrying its key: %+v, updated %v (was %v)", c.Salesforce, c.UpdatedAt, updated)
	}
	for _, id := range []int64{byHand.ID, other.ID} {
		if c := w.careCase(id); c.Salesforce.ExternalIDField != "" {
			t.Fatalf("case %d recorded as carrying the field: %+v", id, c.Salesforce)
		}
	}
	res := w.pollChanges([]string{oldSF[0], oldSF[649], byHandSF, otherSF}, "Escalated")
	if res.Pages != 2 || res.Checks != 0 || res.Applied != 4 {
		t.Fatalf("poll: %+v, want 2 queries (the field, one Id chunk), no check, 4 applied", res)
	}
	w.mustHaveStatus([]int64{old[0], old[649], byHand.ID, other.ID}, care.StatusOnHold)
}

// TestLinkedFilters: which linked cases a poll names by the mapping's
// case external id field, which by Id, and in how many queries.
func TestLinkedFilters(t *testing.T) {
	parse := func(yaml []byte) *mapping.Mapping {
		m, err := mapping.Parse("mapping.yaml", yaml)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m, noField := parse(mapping.Sample()), parse(withoutCaseExternalID(mapping.Sample()))
	links := func(n int, field string) []care.LinkedSalesforceCase {
		out := make([]care.LinkedSalesforceCase, n)
		for i := range out {
			out[i] = care.LinkedSalesforceCase{ID: fmt.Sprintf("500%s%06d", field, i), ExternalIDField: field}
		}
		return out
	}
	for _, tc := range []struct {
		name           string
		m              *mapping.Mapping
		linked         []care.LinkedSalesforceCase
		byField, chunk int // the field's condition (0 or 1), Id IN chunks
		idsNamed       int
	}{
		{"none", m, nil, 0, 0, 0},
		{"few created by carebridge: by Id", m, links(10, "Care_Case_Id__c"), 0, 1, 10},
		{"many created by carebridge: the field", m, links(10000, "Care_Case_Id__c"), 1, 0, 0},
		{"the field spelt otherwise", m, links(400, "care_case_id__C"), 1, 0, 0},
		{"many created, a few linked by hand", m, slices.Concat(links(400, "Care_Case_Id__c"), links(5, "")), 1, 1, 5},
		{"many created, 301 by hand", m, slices.Concat(links(400, "Care_Case_Id__c"), links(301, "")), 1, 2, 301},
		{"created under another field", m, links(400, "Old_Key__c"), 0, 2, 400},
		{"no field in the mapping", noField, links(400, "Care_Case_Id__c"), 0, 2, 400},
		{"the field would not save a query", m, slices.Concat(links(2, "Care_Case_Id__c"), links(598, "")), 0, 2, 600},
		{"by hand only", m, links(301, ""), 0, 2, 301},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var byField, chunks, ids int
			for f := range linkedFilters(tc.m, tc.linked) {
				switch {
				case f == "Care_Case_Id__c != null":
					byField++
				case strings.HasPrefix(f, "Id IN ("):
					chunks++
					ids += strings.Count(f, "'500")
				default:
					t.Fatalf("condition %q", f)
				}
			}
			if byField != tc.byField || chunks != tc.chunk || ids != tc.idsNamed {
				t.Fatalf("%d by the field, %d Id chunks naming %d; want %d, %d, %d", byField, chunks, ids, tc.byField, tc.chunk, tc.idsNamed)
			}
		})
	}
}
