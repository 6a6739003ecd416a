package mapping

import (
	"testing"

	"github.com/carebridge/carebridge/care"
)

func TestStatusForChange(t *testing.T) {
	ex := exampleMapping(t)
	inbound := care.Message{ID: "1", Kind: care.KindMessage, Direction: care.Inbound}
	outbound := care.Message{ID: "2", Kind: care.KindMessage, Direction: care.Outbound}
	note := care.Message{ID: "3", Kind: care.KindNote, Direction: care.Inbound}
	conditions := mustParse(t, "c.yaml", `version: 1
status:
  mode: conditions
  salesforce_field: Status
  to_salesforce: { new: New, open: Working, pending: Working, on_hold: Escalated, done: Closed }
  conditions:
    - when: { message_added: true, direction: outbound }
      set: Working
    - when: { status: done }
      set: Closed
`)
	defaultRule := mustParse(t, "d.yaml", `version: 1
status:
  mode: conditions
  salesforce_field: Status
  to_salesforce: { new: Nouveau, open: Working, pending: Working, on_hold: Escalated, done: Closed }
`)
	off := mustParse(t, "o.yaml", "version: 1\nstatus:\n  mode: off\n")
	none := mustParse(t, "n.yaml", "version: 1\n")

	for _, tc := range []struct {
		name string
		m    *Mapping
		ch   Change
		want string
		ok   bool
	}{
		{"bidirectional status change", ex, Change{StatusChanged: true, Status: care.StatusOnHold}, "Escalated", true},
		{"bidirectional unmapped status", ex, Change{StatusChanged: true, Status: care.StatusSpam}, "", false},
		{"message added rule", ex, Change{MessagesAdded: []care.Message{inbound}}, "New", true},
		{"rule wins over status change", ex, Change{StatusChanged: true, Status: care.StatusOpen, MessagesAdded: []care.Message{inbound}}, "New", true},
		{"outbound message does not match the default direction", ex, Change{MessagesAdded: []care.Message{outbound}}, "", false},
		{"note never matches", ex, Change{MessagesAdded: []care.Message{note}}, "", false},
		{"field rule", ex, Change{FieldsChanged: map[string]string{"Team ownership": "Salesforce"}}, "Working", true},
		{"field rule other value", ex, Change{FieldsChanged: map[string]string{"Team ownership": "Care"}}, "", false},
		{"later rule wins", ex, Change{MessagesAdded: []care.Message{inbound}, FieldsChanged: map[string]string{"Team ownership": "Salesforce"}}, "Working", true},
		{"from salesforce sets nothing", ex, Change{StatusChanged: true, Status: care.StatusDone, FromSalesforce: true}, "", false},
		{"conditions mode ignores status changes", conditions, Change{StatusChanged: true, Status: care.StatusOnHold}, "", false},
		{"conditions status rule", conditions, Change{StatusChanged: true, Status: care.StatusDone}, "Closed", true},
		{"conditions outbound rule", conditions, Change{MessagesAdded: []care.Message{outbound}}, "Working", true},
		{"conditions inbound does not match outbound rule", conditions, Change{MessagesAdded: []care.Message{inbound}}, "", false},
		{"default rule", defaultRule, Change{MessagesAdded: []care.Message{inbound}}, "Nouveau", true},
		{"mode off", off, Change{StatusChanged: true, Status: care.StatusDone, MessagesAdded: []care.Message{inbound}}, "", false},
		{"no status section", none, Change{MessagesAdded: []care.Message{inbound}}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.m.Status.ForChange(tc.ch)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ForChange = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestStatusFromSalesforce(t *testing.T) {
	ex := exampleMapping(t)
	custom := mustParse(t, "c.yaml", `version: 1
status:
  mode: bidirectional
  salesforce_field: Status
  care_field: "field:Salesforce external status"
  to_salesforce: { new: New, open: Working, pending: Working, on_hold: Escalated, done: Closed }
  from_salesforce: { Escalated: Escalated to tier 2 }
`)
	cond := mustParse(t, "d.yaml", `version: 1
status:
  mode: conditions
  salesforce_field: Status
  to_salesforce: { new: New, open: Working, pending: Working, on_hold: Escalated, done: Closed }
  from_salesforce: { Closed: done }
`)
	for _, tc := range []struct {
		name string
		m    *Mapping
		in   string
		want CareUpdate
		ok   bool
	}{
		{"mapped", ex, "Escalated", CareUpdate{Status: care.StatusOnHold}, true},
		{"many to one", ex, "Working", CareUpdate{Status: care.StatusOpen}, true},
		{"unmapped value", ex, "Waiting on customer", CareUpdate{}, false},
		{"custom field mapped", custom, "Escalated", CareUpdate{Field: "Salesforce external status", Value: "Escalated to tier 2"}, true},
		{"custom field passes other values through", custom, "Closed", CareUpdate{Field: "Salesforce external status", Value: "Closed"}, true},
		{"conditions mode reads nothing back", cond, "Closed", CareUpdate{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.m.Status.CareUpdateFor(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CareUpdateFor(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
	if v, ok := ex.Status.ToSalesforce[care.StatusPending]; v != "Working" || !ok {
		t.Errorf("to_salesforce[pending] = %q, %v", v, ok)
	}
	if _, ok := ex.Status.ToSalesforce[care.StatusDeleted]; ok {
		t.Error("to_salesforce[deleted] is mapped")
	}
}
