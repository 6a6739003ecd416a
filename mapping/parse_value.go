package mapping

// The values of a fields mapping: a source path, a constant, a map from
// Care values, a template, and where in the YAML each part of them is.

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// fields parses a fields mapping.
func (p *parser) fields(o *ObjectMapping, n *yaml.Node, sec string, sc scope) []FieldMapping {
	list, ok := p.entries(n, sec+".fields")
	if !ok {
		return nil
	}
	var out []FieldMapping
	for _, e := range list {
		name := e.key.Value
		o.named = append(o.named, name)
		if name == "" {
			p.add(pos(e.key), "%s.fields: a field name is empty", sec)
			continue
		}
		if prev, dup := (&ObjectMapping{Fields: out}).Field(name); dup {
			p.add(pos(e.key), "%s: duplicate field %q (also at line %d; Salesforce field names ignore case)", sec, name, prev.Pos.Line)
			continue
		}
		v, ok := p.value(e.val, sec+"."+name, sc)
		if !ok {
			continue
		}
		out = append(out, FieldMapping{Name: name, Value: v, Pos: pos(e.key)})
	}
	return out
}

// value parses one field's value in any of the four forms.
func (p *parser) value(n *yaml.Node, what string, sc scope) (Value, bool) {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			p.add(pos(n), "%s: no value (write a source path, {value: ...}, {from: ...} or {template: ...})", what)
			return Value{}, false
		}
		if n.ShortTag() != "!!str" {
			p.add(pos(n), "%s: %s is not a source path (write {value: %s} for a constant)", what, n.Value, n.Value)
			return Value{}, false
		}
		sp := p.path(n.Value, pos(n), what, sc, true)
		if sp == nil {
			return Value{}, false
		}
		return Value{Form: FormFrom, From: sp, Pos: pos(n)}, true
	case yaml.MappingNode:
	default:
		p.add(pos(n), "%s: expected a source path or a mapping, found %s", what, describeNode(n))
		return Value{}, false
	}
	es := p.keys(n, what, "value", "from", "map", "default", "template")
	v := Value{Pos: pos(n)}
	var forms []string
	for _, k := range []string{"value", "from", "template"} {
		if _, ok := es[k]; ok {
			forms = append(forms, k)
		}
	}
	switch len(forms) {
	case 0:
		if len(es)*2 == len(n.Content) { // else an unknown key was reported
			p.add(pos(n), "%s: needs one of value, from or template", what)
		}
		return Value{}, false
	case 1:
	default:
		p.add(pos(es[forms[1]].key), "%s: give only one of value, from or template (found %s)", what, strings.Join(forms, ", "))
		return Value{}, false
	}
	ok := true
	switch forms[0] {
	case "value":
		v.Form = FormConst
		c := resolve(es["value"].val)
		if c.Kind != yaml.ScalarNode || isNull(c) {
			p.add(pos(c), "%s: value must be a constant, found %s", what, describeNode(c))
			ok = false
		} else {
			v.Const = scalar(c)
		}
		for _, k := range []string{"map", "default"} {
			if e, has := es[k]; has {
				p.add(pos(e.key), "%s: %s does not go with value", what, k)
				ok = false
			}
		}
	case "from":
		v.Form = FormFrom
		s, at, good := p.str(es["from"].val, what+".from", false)
		if good {
			v.From = p.path(s, at, what, sc, false)
		}
		ok = good && v.From != nil
		if e, has := es["map"]; has {
			v.Map = p.valueMap(e, what, v.From)
		}
	case "template":
		v.Form = FormTemplate
		v.Template = p.template(es["template"].val, what+".template", sc)
		ok = v.Template != nil
		if e, has := es["map"]; has {
			p.add(pos(e.key), "%s: map goes with from, not template", what)
			ok = false
		}
	}
	if e, has := es["default"]; has && v.Form != FormConst {
		v.Default = p.template(e.val, what+".default", sc)
		ok = ok && v.Default != nil
	}
	return v, ok
}

func scalar(n *yaml.Node) *Scalar {
	return &Scalar{Text: n.Value, Tag: n.ShortTag(), Pos: pos(n)}
}

// valueMap parses map: {source value: target value}.
func (p *parser) valueMap(e entry, what string, from *SourcePath) []MapEntry {
	list, ok := p.entries(e.val, what+".map")
	if !ok {
		return nil
	}
	if len(list) == 0 {
		p.add(pos(e.key), "%s: map is empty", what)
		return nil
	}
	var out []MapEntry
	for _, kv := range list {
		if from != nil && from.def.enum != nil && !slices.Contains(from.def.enum, kv.key.Value) {
			p.add(pos(kv.key), "%s.map: %q is not a value of %s%s", what, kv.key.Value, from.Name, suggest(kv.key.Value, from.def.enum))
		}
		v := resolve(kv.val)
		if v.Kind != yaml.ScalarNode || isNull(v) {
			p.add(pos(v), "%s.map: %q must map to a constant, found %s", what, kv.key.Value, describeNode(v))
			continue
		}
		out = append(out, MapEntry{Key: kv.key.Value, KeyPos: pos(kv.key), Value: *scalar(v)})
	}
	return out
}

// path resolves a source path name, reporting unknown paths with a
// suggestion and paths used outside their section.
func (p *parser) path(name string, at Pos, what string, sc scope, shorthand bool) *SourcePath {
	def, ok := lookupPath(name)
	if !ok {
		hint := suggest(name, pathNames(sc))
		switch {
		case hint != "":
		case name == strings.TrimSuffix(fieldPrefix, "."), name == fieldPrefix:
			hint = " (write case.field.<name>)"
		case shorthand && !strings.Contains(name, "."):
			hint = fmt.Sprintf(" (write {value: %s} for a constant)", yamlsafe.Clip(name, yamlsafe.MaxQuote))
		}
		p.add(at, "%s: unknown source path %q%s", what, name, hint)
		return nil
	}
	if def.scope != sc {
		if sc == scopeMessage {
			p.add(at, "%s: source path %q is not available for messages (use message.* paths)", what, name)
		} else {
			p.add(at, "%s: source path %q is only available in the messages section", what, name)
		}
		return nil
	}
	return &SourcePath{Name: name, Pos: at, def: def}
}

// template parses a template scalar, reporting syntax errors and unknown
// paths at their column where the scalar's style allows.
func (p *parser) template(n *yaml.Node, what string, sc scope) *Template {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.add(pos(n), "%s: expected text, found %s", what, describeNode(n))
		return nil
	}
	t := &Template{Text: n.Value, Pos: pos(n)}
	toks, errs := lexTemplate(n.Value)
	for _, e := range errs {
		p.add(offsetPos(n, e.offset), "%s: %s", what, e.msg)
	}
	ok := len(errs) == 0
	for _, tok := range toks {
		if tok.path == "" {
			t.parts = append(t.parts, tplPart{lit: tok.lit})
			continue
		}
		sp := p.path(tok.path, offsetPos(n, tok.offset), what, sc, false)
		if sp == nil {
			ok = false
			continue
		}
		t.parts = append(t.parts, tplPart{path: sp})
	}
	if !ok {
		return nil
	}
	if len(t.parts) == 0 {
		t.parts = []tplPart{{lit: ""}}
	}
	return t
}

// offsetPos is the position of byte off of a scalar's value: exact for
// plain and quoted one-line scalars without escapes, the scalar's own
// position otherwise.
func offsetPos(n *yaml.Node, off int) Pos {
	at := pos(n)
	if off < 0 || off > len(n.Value) || strings.Contains(n.Value[:off], "\n") {
		return at
	}
	switch n.Style {
	case 0, yaml.TaggedStyle:
		at.Col += utf8.RuneCountInString(n.Value[:off])
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		at.Col += 1 + utf8.RuneCountInString(n.Value[:off])
	}
	return at
}
