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
			for f := range linkedFilters(tc.m, tc.linked, nil) {
				switch {
				case f.cond == "Care_Case_Id__c != null":
					byField++
				case strings.HasPrefix(f.cond, "Id IN ("):
					chunks++
					ids += strings.Count(f.cond, "'500")
				default:
					t.Fatalf("condition %q", f.cond)
				}
			}
			if byField != tc.byField || chunks != tc.chunk || ids != tc.idsNamed {
				t.Fatalf("%d by the field, %d Id chunks naming %d; want %d, %d, %d", byField, chunks, ids, tc.byField, tc.chunk, tc.idsNamed)
			}
		})
	}
}

// manyLinked is a connected world with n cases carebridge created linked
// (linkMany), polled once.
func manyLinked(t *testing.T, n int) (w *world, cases []int64, sfIDs []string) {
	w = newWorld(t, worldOptions{})
	w.connect()
	cases, sfIDs = w.linkMany(n)
	w.poll()
	return w, cases, sfIDs
}

// clearKey blanks the case external id field of a Salesforce case, as a
// user may in the case page.
func (w *world) clearKey(sfID string) {
	w.t.Helper()
	if err := w.sim.UpdateRecord("Case", sfID, map[string]any{"Care_Case_Id__c": nil}); err != nil {
		w.t.Fatal(err)
	}
}

// sfKey is the case external id field of a Salesforce case.
func (w *world) sfKey(sfID string) string {
	r, _ := w.sim.Record("Case", sfID)
	s, _ := r["Care_Case_Id__c"].(string)
	return s
}

// pollUntilStatus polls (each poll one query: the field's) until the
// Care case has st, at most n times, and returns the polls' results.
func (w *world) pollUntilStatus(id int64, st care.Status, n int) []PollResult {
	w.t.Helper()
	var out []PollResult
	for range n {
		res := w.pollCounted()
		if res.Pages != 1 {
			w.t.Fatalf("poll: %+v, want 1 query", res)
		}
		if out = append(out, res); w.careCase(id).Status == st {
			return out
		}
	}
	w.t.Fatalf("case %d is %s after %d polls, want %s", id, w.careCase(id).Status, n, st)
	return nil
}

// TestPollFollowsACaseWhoseKeyWasCleared: above linkedChunk linked cases
// the poll names the cases carebridge created by Care_Case_Id__c != null.
// A Salesforce user who blanks the field on one of them takes it out of
// that condition for good; the poll still finds it (the field of
// linkedChunk cases is checked in turn, in the same query), applies its
// status and writes the key back, so its next change is read as before.
func TestPollFollowsACaseWhoseKeyWasCleared(t *testing.T) {
	w, cases, sfIDs := manyLinked(t, 650) // 3 turns of the check
	for _, k := range []int{0, 649} {
		w.clearKey(sfIDs[k])
		polls := []PollResult{w.pollCounted()} // the watermark passes the blanking
		w.sfSet(sfIDs[k], "Escalated")
		polls = append(polls, w.pollUntilStatus(cases[k], care.StatusOnHold, 3)...)
		restored := 0
		for _, res := range polls {
			restored += res.Restored
		}
		if restored != 1 {
			t.Fatalf("case %d: %+v, want its key written back once", k, polls)
		}
		if key := w.sfKey(sfIDs[k]); key != w.careCase(cases[k]).ExternalKey {
			t.Fatalf("case %d: Care_Case_Id__c %q after the poll, want the case's key", k, key)
		}
		if c := w.careCase(cases[k]); c.Salesforce.ExternalIDField != "Care_Case_Id__c" {
			t.Fatalf("case %d link: %+v", k, c.Salesforce)
		}
		w.pollUntilStatus(cases[k], care.StatusOnHold, 1) // settles the overlap
		w.sfSet(sfIDs[k], "Closed")
		if polls := w.pollUntilStatus(cases[k], care.StatusDone, 1); polls[0].Records == 0 {
			t.Fatalf("case %d: %+v", k, polls)
		}
	}
	if !bytes.Contains(w.logs.Bytes(), []byte("the case external id was cleared or changed in Salesforce; carebridge wrote it back")) {
		t.Fatal("the write-back is not logged")
	}
}

// TestPollNamesByIDACaseWhoseKeyCannotBeWrittenBack: a case whose key
// Salesforce refuses to take back (here another record holds it now) is
// named by Id from then on, and said in the log.
func TestPollNamesByIDACaseWhoseKeyCannotBeWrittenBack(t *testing.T) {
	w, cases, sfIDs := manyLinked(t, 301)
	key := w.careCase(cases[7]).ExternalKey
	w.clearKey(sfIDs[7])
	if _, err := w.sim.CreateRecord("Case", map[string]any{"Subject": "a copy", "Care_Case_Id__c": key}); err != nil {
		t.Fatal(err)
	}
	w.sfSet(sfIDs[7], "Escalated")
	w.pollUntilStatus(cases[7], care.StatusOnHold, 2)
	if c := w.careCase(cases[7]); c.Salesforce.ExternalIDField != "" {
		t.Fatalf("link after a refused write-back: %+v", c.Salesforce)
	}
	if !bytes.Contains(w.logs.Bytes(), []byte("could not be written back; the poll names the case by Id")) {
		t.Fatal("the refusal is not logged")
	}
	if v, _ := metricValue(t, w.reg, "carebridge_case_keys_restored_total", map[string]string{"result": KeyRefused}); v != 1 {
		t.Fatalf("refused write-backs counted %v, want 1", v)
	}
	w.sfSet(sfIDs[7], "Closed")
	if res := w.pollCounted(); res.Pages != 2 || res.Applied != 1 {
		t.Fatalf("poll: %+v, want 2 queries (the field, the case by Id), 1 applied", res)
	}
	w.mustHaveStatus(cases[7:8], care.StatusDone)
}

// TestPollWritesBackAClearedKeyOfAFewCases: up to linkedChunk linked
// cases every case is named by Id, so a case whose key was cleared is
// still followed; its change is read with the field empty and the key
// written back, at no query more. A case linked by hand carries no key
// and gets none.
func TestPollWritesBackAClearedKeyOfAFewCases(t *testing.T) {
	w, cases, sfIDs := manyLinked(t, 5)
	byHand, byHandSF := w.linkedCase(99)
	w.clearKey(sfIDs[2])
	w.sfSet(sfIDs[2], "Escalated")
	w.sfSet(byHandSF, "Escalated")
	res := w.pollCounted()
	if res.Pages != 1 || res.Applied != 2 || res.Restored != 1 {
		t.Fatalf("poll: %+v, want 1 query, 2 applied, 1 key written back", res)
	}
	w.mustHaveStatus([]int64{cases[2], byHand.ID}, care.StatusOnHold)
	if key := w.sfKey(sfIDs[2]); key != w.careCase(cases[2]).ExternalKey {
		t.Fatalf("Care_Case_Id__c %q after the poll, want the case's key", key)
	}
	if key := w.sfKey(byHandSF); key != "" {
		t.Fatalf("a case linked by hand got Care_Case_Id__c %q", key)
	}
}

// TestPollRestoresAChangedKey: a Salesforce user who edits
// Care_Case_Id__c (or pastes a key the org's unique field lets in, one no
// other record holds) leaves the field non-empty, so the field's query
// still reads the case. Its status goes to its own Care case (by
// Salesforce Id, never by the value found), the key is written back and
// logged with both ids, and counted.
func TestPollRestoresAChangedKey(t *testing.T) {
	w, cases, sfIDs := manyLinked(t, 301)
	for _, result := range []string{KeyRestored, KeyRefused} {
		if v, ok := metricValue(t, w.reg, "carebridge_case_keys_restored_total", map[string]string{"result": result}); !ok || v != 0 {
			t.Fatalf("carebridge_case_keys_restored_total{result=%q} %v (exported: %v), want 0 from the start", result, v, ok)
		}
	}
	other := w.careCase(cases[4]).ExternalKey + "-2"
	for k, v := range map[int]string{3: other, 10: "edited by hand"} {
		if err := w.sim.UpdateRecord("Case", sfIDs[k], map[string]any{"Care_Case_Id__c": v, "Status": "Escalated"}); err != nil {
			t.Fatal(err)
		}
	}
	res := w.pollCounted()
	if res.Pages != 1 || res.Applied != 2 || res.Restored != 2 {
		t.Fatalf("poll: %+v, want 1 query, 2 applied, 2 keys written back", res)
	}
	w.mustHaveStatus([]int64{cases[3], cases[10]}, care.StatusOnHold)
	if st := w.careCase(cases[4]).Status; st == care.StatusOnHold {
		t.Fatalf("the case whose key was pasted elsewhere took its status: %s", st)
	}
	for _, k := range []int{3, 4, 10} {
		if key := w.sfKey(sfIDs[k]); key != w.careCase(cases[k]).ExternalKey {
			t.Fatalf("case %d: Care_Case_Id__c %q after the poll, want the case's key", k, key)
		}
	}
	line := fmt.Sprintf(`"salesforce_case":%q,"field":"Care_Case_Id__c","found":%q`, sfIDs[3], other)
	if !bytes.Contains(w.logs.Bytes(), []byte(line)) {
		t.Fatalf("the write-back is not logged with both cases (%q):\n%s", line, w.logs.Bytes())
	}
	if v, _ := metricValue(t, w.reg, "carebridge_case_keys_restored_total", map[string]string{"result": KeyRestored}); v != 2 {
		t.Fatalf("restored keys counted %v, want 2", v)
	}
	if res := w.pollCounted(); res.Restored != 0 {
		t.Fatalf("poll after the write-back: %+v, want nothing to write back", res)
	}
}
