package connector

import (
	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/mapping"
)

// Effects decides the Salesforce side effects of Care changes from the
// mapping in use. The store runs it inside each change's transaction.
type Effects struct {
	// Mapping returns the mapping in use; nil means nothing goes to
	// Salesforce.
	Mapping func() *mapping.Mapping
}

var _ care.Effects = Effects{}

// Effects implements care.Effects.
func (e Effects) Effects(ch care.Change) []care.OutboxOp {
	m := e.Mapping()
	if m == nil {
		return nil
	}
	after := ch.After
	var ops []care.OutboxOp
	linked := after.Salesforce.CaseID != ""
	if ch.EscalateToSalesforce && !linked && m.Case != nil {
		ops = append(ops, care.OutboxOp{Kind: care.OpEscalate, CaseID: after.ID, Actor: ch.Actor.ID})
	}
	if !linked {
		return ops
	}
	continuous := m.MessagesMode() == mapping.MessagesContinuous
	if continuous && ch.Before != nil && ch.Before.Salesforce.CaseID != after.Salesforce.CaseID {
		// The Salesforce case was just created (or made again after a
		// delete there): the last messages go over.
		ops = append(ops, care.OutboxOp{Kind: care.OpBackfill, CaseID: after.ID})
	}
	if continuous && ch.Message != nil && ch.Message.Kind == care.KindMessage {
		ops = append(ops, care.OutboxOp{Kind: care.OpPushMessage, CaseID: after.ID, MessageID: ch.Message.ID, Actor: ch.Actor.ID})
	}
	if m.Status.Enabled() && ch.Before != nil {
		mc := mapping.Change{FromSalesforce: ch.FromSalesforce}
		if ch.Before.Status != after.Status {
			mc.StatusChanged, mc.Status = true, after.Status
		}
		if ch.Message != nil && ch.Message.Kind == care.KindMessage {
			mc.MessagesAdded = []care.Message{*ch.Message}
		}
		for k, v := range after.Fields {
			if ch.Before.Fields[k] != v {
				if mc.FieldsChanged == nil {
					mc.FieldsChanged = map[string]string{}
				}
				mc.FieldsChanged[k] = v
			}
		}
		for k := range ch.Before.Fields {
			if _, ok := after.Fields[k]; !ok {
				if mc.FieldsChanged == nil {
					mc.FieldsChanged = map[string]string{}
				}
				mc.FieldsChanged[k] = ""
			}
		}
		// Only real changes: a value Salesforce has, or is about to get,
		// is not sent again.
		if v, ok := m.Status.ForChange(mc); ok && v != after.Salesforce.TargetStatus() {
			ops = append(ops, care.OutboxOp{Kind: care.OpSetStatus, CaseID: after.ID, Value: v, Actor: ch.Actor.ID})
		}
	}
	return ops
}
