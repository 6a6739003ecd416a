package connector_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/mapping"
)

func TestEffects(t *testing.T) {
	example, err := mapping.Parse("example.yaml", mapping.Sample())
	if err != nil {
		t.Fatal(err)
	}
	oneTime, err := mapping.Parse("one_time.yaml", []byte(strings.Replace(string(mapping.Sample()), "mode: continuous", "mode: one_time", 1)))
	if err != nil {
		t.Fatal(err)
	}
	linked := care.Case{ID: 7, Status: care.StatusOpen, Salesforce: care.SalesforceLink{CaseID: "500x", Status: "Working"}, Fields: map[string]string{}}
	unlinked := care.Case{ID: 7, Status: care.StatusNew, Fields: map[string]string{}}
	with := func(c care.Case, f func(*care.Case)) care.Case { f(&c); return c }
	escalated := with(linked, func(c *care.Case) { c.Salesforce.Status = "Escalated" })
	inbound := &care.Message{ID: "m1", Kind: care.KindMessage, Direction: care.Inbound}
	note := &care.Message{ID: "n1", Kind: care.KindNote, Direction: care.Outbound}
	for _, tc := range []struct {
		name string
		m    *mapping.Mapping
		ch   care.Change
		want []string
	}{
		{"no mapping sends nothing", nil, care.Change{Before: &linked, After: linked, Message: inbound}, nil},
		{"automatic escalation", example, care.Change{After: unlinked, EscalateToSalesforce: true, Actor: care.User{ID: "community"}}, []string{"escalate"}},
		{"escalation of a linked case is done", example, care.Change{Before: &linked, After: linked, EscalateToSalesforce: true}, nil},
		{"unlinked case: nothing to push", example, care.Change{Before: &unlinked, After: unlinked, Message: inbound}, nil},
		{"link brings the backfill", example, care.Change{Before: &unlinked, After: with(unlinked, func(c *care.Case) { c.Salesforce.CaseID = "500x"; c.Salesforce.Status = "New" })}, []string{"backfill"}},
		{"one_time mode: no backfill", oneTime, care.Change{Before: &unlinked, After: with(unlinked, func(c *care.Case) { c.Salesforce.CaseID = "500x"; c.Salesforce.Status = "New" })}, nil},
		{"inbound message: push, and the needs-attention status", example, care.Change{Before: &linked, After: linked, Message: inbound}, []string{"push_message", "set_status:New"}},
		{"one_time mode: status only", oneTime, care.Change{Before: &linked, After: linked, Message: inbound}, []string{"set_status:New"}},
		{"notes never leave Care", example, care.Change{Before: &linked, After: linked, Message: note}, nil},
		{"status change maps", example, care.Change{Before: &linked, After: with(linked, func(c *care.Case) { c.Status = care.StatusOnHold })}, []string{"set_status:Escalated"}},
		{"a value Salesforce has is not sent again", example, care.Change{Before: &linked, After: with(linked, func(c *care.Case) { c.Status = care.StatusPending })}, nil},
		{"a change from Salesforce is not sent back", example, care.Change{Before: &linked, After: with(linked, func(c *care.Case) { c.Status = care.StatusDone }), FromSalesforce: true}, nil},
		{"field rule", example, care.Change{Before: &escalated, After: with(linked, func(c *care.Case) {
			c.Salesforce.Status = "Escalated"
			c.Fields = map[string]string{"Team ownership": "Salesforce"}
		})}, []string{"set_status:Working"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := connector.Effects{Mapping: func() *mapping.Mapping { return tc.m }}
			var got []string
			for _, op := range e.Effects(tc.ch) {
				s := string(op.Kind)
				if op.Kind == care.OpSetStatus {
					s += ":" + op.Value
				}
				if op.CaseID != 7 {
					t.Errorf("op for case %d", op.CaseID)
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
