package mapping

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/carebridge/carebridge/care"
)

// careFieldPrefix marks a care_field that names a Care custom field.
const careFieldPrefix = "field:"

// status parses the status section.
func (p *parser) status(e entry) *StatusMapping {
	es := p.keys(e.val, "status", "mode", "salesforce_field", "care_field", "to_salesforce", "from_salesforce", "conditions")
	if es == nil {
		return nil
	}
	s := &StatusMapping{Pos: pos(e.key), CareField: "status", Mode: StatusOff}
	if me, ok := es["mode"]; ok {
		v, at, good := p.oneOf(me.val, "status.mode", string(StatusOff), string(StatusConditions), string(StatusBidirectional))
		s.ModePos = at
		if good {
			s.Mode = StatusMode(v)
		}
	} else {
		p.add(s.Pos, "status: mode is required (off, conditions or bidirectional)")
	}
	if fe, ok := es["salesforce_field"]; ok {
		s.SalesforceField, s.SalesforceFieldPos, _ = p.str(fe.val, "status.salesforce_field", false)
	} else if s.Mode != StatusOff {
		p.add(s.Pos, "status: salesforce_field is required in %s mode", s.Mode)
	}
	if ce, ok := es["care_field"]; ok {
		v, at, good := p.str(ce.val, "status.care_field", false)
		name, custom := strings.CutPrefix(v, careFieldPrefix)
		switch {
		case !good:
		case v == "status":
		case custom && strings.TrimSpace(name) != "":
			s.CareField = careFieldPrefix + strings.TrimSpace(name)
		default:
			p.add(at, `status.care_field: must be "status" or "field:<name>", not %q`, v)
		}
	}
	if te, ok := es["to_salesforce"]; ok {
		p.toSalesforce(s, te)
	} else if s.Mode == StatusBidirectional {
		p.add(s.Pos, "status: to_salesforce is required in bidirectional mode")
	}
	if fe, ok := es["from_salesforce"]; ok {
		p.fromSalesforce(s, fe)
	} else if s.Mode == StatusBidirectional && s.CareField == "status" {
		p.add(s.Pos, "status: from_salesforce is required in bidirectional mode")
	}
	if ce, ok := es["conditions"]; ok {
		p.conditions(s, ce)
	} else if s.Mode != StatusOff {
		s.DefaultRule = true
		if _, has := es["to_salesforce"]; !has && s.Mode == StatusConditions {
			p.add(s.Pos, "status: conditions mode needs conditions, or to_salesforce for the default rule (a message added sets to_salesforce.new)")
		}
	}
	return s
}

func (p *parser) toSalesforce(s *StatusMapping, e entry) {
	list, ok := p.entries(e.val, "status.to_salesforce")
	if !ok {
		return
	}
	s.ToSalesforce = map[care.Status]string{}
	statuses := enumOf(care.Statuses)
	for _, kv := range list {
		st := care.Status(kv.key.Value)
		if !st.Valid() {
			p.add(pos(kv.key), "status.to_salesforce: %q is not a Care status%s", kv.key.Value, suggest(kv.key.Value, statuses))
			continue
		}
		v, at, good := p.str(kv.val, "status.to_salesforce."+kv.key.Value, false)
		if !good {
			continue
		}
		s.ToSalesforce[st] = v
		s.ToEntries = append(s.ToEntries, StatusEntry{Key: kv.key.Value, Value: v, KeyPos: pos(kv.key), ValuePos: at})
	}
	var missing []string
	for _, st := range requiredStatuses {
		if !slices.ContainsFunc(list, func(kv entry) bool { return kv.key.Value == string(st) }) {
			missing = append(missing, string(st))
		}
	}
	if len(missing) > 0 {
		p.add(pos(e.key), "status.to_salesforce: misses Care status %s (spam and deleted are optional)", strings.Join(missing, ", "))
	}
}

func (p *parser) fromSalesforce(s *StatusMapping, e entry) {
	list, ok := p.entries(e.val, "status.from_salesforce")
	if !ok {
		return
	}
	s.FromSalesforce = map[string]string{}
	statuses := enumOf(care.Statuses)
	for _, kv := range list {
		v, at, good := p.str(kv.val, "status.from_salesforce."+kv.key.Value, false)
		if !good {
			continue
		}
		if s.CareField == "status" && !care.Status(v).Valid() {
			p.add(at, "status.from_salesforce: %q is not a Care status%s", v, suggest(v, statuses))
			continue
		}
		s.FromSalesforce[kv.key.Value] = v
		s.FromEntries = append(s.FromEntries, StatusEntry{Key: kv.key.Value, Value: v, KeyPos: pos(kv.key), ValuePos: at})
	}
}

func (p *parser) conditions(s *StatusMapping, e entry) {
	n := resolve(e.val)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(pos(n), "status.conditions: expected a list, found %s", describeNode(n))
		return
	}
	for i, item := range n.Content {
		what := fmt.Sprintf("status.conditions[%d]", i)
		es := p.keys(item, what, "when", "set")
		if es == nil {
			continue
		}
		r := Rule{Pos: pos(resolve(item))}
		ok := true
		if we, has := es["when"]; has {
			r.When, ok = p.condition(we, what+".when")
		} else {
			p.add(r.Pos, "%s: when is required", what)
			ok = false
		}
		if se, has := es["set"]; has {
			var good bool
			r.Set, r.SetPos, good = p.str(se.val, what+".set", false)
			ok = ok && good
		} else {
			p.add(r.Pos, "%s: set is required", what)
			ok = false
		}
		if ok {
			s.Conditions = append(s.Conditions, r)
		}
	}
}

func (p *parser) condition(e entry, what string) (Condition, bool) {
	es := p.keys(e.val, what, "message_added", "direction", "field", "equals", "status")
	if es == nil {
		return Condition{}, false
	}
	var c Condition
	ok := true
	if len(resolve(e.val).Content) == 0 {
		p.add(pos(resolve(e.val)), "%s: needs message_added, field and equals, or status", what)
		return c, false
	}
	if me, has := es["message_added"]; has {
		v := resolve(me.val)
		if b, isBool := boolNode(v); !isBool || !b {
			p.add(pos(v), "%s.message_added: must be true, not %s", what, describeNode(v))
			ok = false
		}
		c.MessageAdded = true
	}
	if de, has := es["direction"]; has {
		v, _, good := p.oneOf(de.val, what+".direction", "inbound", "outbound", "any")
		switch {
		case !good:
			ok = false
		case !c.MessageAdded:
			p.add(pos(de.key), "%s: direction goes with message_added", what)
			ok = false
		default:
			c.Direction = v
		}
	}
	fe, hasField := es["field"]
	ee, hasEquals := es["equals"]
	switch {
	case hasField && hasEquals:
		var good bool
		c.Field, _, good = p.str(fe.val, what+".field", false)
		ok = ok && good
		v := resolve(ee.val)
		if v.Kind != yaml.ScalarNode {
			p.add(pos(v), "%s.equals: expected text, found %s", what, describeNode(v))
			ok = false
		} else if !isNull(v) {
			c.Equals = v.Value
		}
	case hasField:
		p.add(pos(fe.key), "%s: field needs equals", what)
		ok = false
	case hasEquals:
		p.add(pos(ee.key), "%s: equals needs field", what)
		ok = false
	}
	if se, has := es["status"]; has {
		v, at, good := p.str(se.val, what+".status", false)
		switch {
		case !good:
			ok = false
		case !care.Status(v).Valid():
			p.add(at, "%s.status: %q is not a Care status%s", what, v, suggest(v, enumOf(care.Statuses)))
			ok = false
		default:
			c.Status = care.Status(v)
		}
	}
	if !c.MessageAdded && c.Field == "" && c.Status == "" && ok && len(es) > 0 {
		p.add(pos(resolve(e.val)), "%s: needs message_added, field and equals, or status", what)
		ok = false
	}
	return c, ok
}
