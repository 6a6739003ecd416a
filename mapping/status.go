package mapping

import (
	"strings"

	"github.com/carebridge/carebridge/care"
)

// Change is one change to a Care case, as the status rules see it.
type Change struct {
	// StatusChanged is true when the change set the case status to Status.
	StatusChanged bool
	Status        care.Status
	// MessagesAdded are the messages the change added (notes are ignored).
	MessagesAdded []care.Message
	// FieldsChanged are the custom fields the change set, with their new
	// values ("" for a removed field).
	FieldsChanged map[string]string
	// FromSalesforce marks a change that applied a Salesforce value: it
	// never sets a Salesforce status back (no ping-pong).
	FromSalesforce bool
}

// CareUpdate is what a Salesforce status value does to the Care case:
// either a Care status, or a value for a custom field.
type CareUpdate struct {
	Status care.Status // set when care_field is status
	Field  string      // the custom field when care_field is field:<name>
	Value  string      // its new value
}

// Enabled reports whether statuses are synchronised at all. A nil
// StatusMapping is off.
func (s *StatusMapping) Enabled() bool { return s != nil && s.Mode != StatusOff }

// Bidirectional reports whether Salesforce status changes come back to Care.
func (s *StatusMapping) Bidirectional() bool { return s != nil && s.Mode == StatusBidirectional }

// CustomField returns the Care custom field that takes Salesforce values,
// when care_field is field:<name>.
func (s *StatusMapping) CustomField() (string, bool) {
	if s == nil {
		return "", false
	}
	return strings.CutPrefix(s.CareField, careFieldPrefix)
}

// CareUpdateFor maps a Salesforce status value read by the poller to its
// Care update through from_salesforce. In bidirectional mode only. A value
// from_salesforce does not list changes no Care status; with a custom
// care_field it is copied into the field as it is.
func (s *StatusMapping) CareUpdateFor(sfValue string) (CareUpdate, bool) {
	if !s.Bidirectional() {
		return CareUpdate{}, false
	}
	v, mapped := s.FromSalesforce[sfValue]
	if field, ok := s.CustomField(); ok {
		if !mapped {
			v = sfValue
		}
		return CareUpdate{Field: field, Value: v}, true
	}
	if !mapped {
		return CareUpdate{}, false
	}
	return CareUpdate{Status: care.Status(v)}, true
}

// ForChange answers which Salesforce status a Care change sets, if any. In
// bidirectional mode a status change sets to_salesforce[status]; then, in
// both conditions and bidirectional modes, each rule the change satisfies
// sets its value in file order, so the last matching rule wins. Without
// conditions in the file the default rule applies: an inbound message added
// sets to_salesforce[new]. A change from Salesforce sets nothing.
func (s *StatusMapping) ForChange(ch Change) (string, bool) {
	if !s.Enabled() || ch.FromSalesforce {
		return "", false
	}
	out, ok := "", false
	if s.Mode == StatusBidirectional && ch.StatusChanged {
		out, ok = s.ToSalesforce[ch.Status]
	}
	for _, r := range s.rules() {
		if r.When.matches(ch) {
			out, ok = r.Set, true
		}
	}
	return out, ok
}

// rules are the conditions, or the default rule.
func (s *StatusMapping) rules() []Rule {
	if !s.DefaultRule {
		return s.Conditions
	}
	v, ok := s.ToSalesforce[care.StatusNew]
	if !ok {
		return nil
	}
	return []Rule{{When: Condition{MessageAdded: true}, Set: v}}
}

func (c Condition) matches(ch Change) bool {
	if c.MessageAdded && !c.messageMatches(ch.MessagesAdded) {
		return false
	}
	if c.Field != "" {
		v, ok := ch.FieldsChanged[c.Field]
		if !ok || v != c.Equals {
			return false
		}
	}
	if c.Status != "" && (!ch.StatusChanged || ch.Status != c.Status) {
		return false
	}
	return c.MessageAdded || c.Field != "" || c.Status != ""
}

func (c Condition) messageMatches(msgs []care.Message) bool {
	for _, m := range msgs {
		if m.Kind == care.KindNote {
			continue
		}
		switch c.Direction {
		case "any":
			return true
		case "outbound":
			if m.Direction == care.Outbound {
				return true
			}
		default:
			if m.Direction == care.Inbound {
				return true
			}
		}
	}
	return false
}
