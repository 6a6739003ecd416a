package mapping

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/config/yamlsafe"
)

// requiredStatuses are the Care statuses a to_salesforce map must cover;
// spam and deleted are optional.
var requiredStatuses = []care.Status{care.StatusNew, care.StatusOpen, care.StatusPending, care.StatusOnHold, care.StatusDone}

// Parse parses and validates a mapping file offline. file names the file in
// problems. An invalid mapping gives a *ProblemsError with every problem.
func Parse(file string, data []byte) (*Mapping, error) {
	m, probs := parse(file, data)
	if len(probs) > 0 {
		return nil, &ProblemsError{Problems: probs}
	}
	return m, nil
}

// parse returns what could be parsed (never nil) and the sorted problems.
func parse(file string, data []byte) (*Mapping, []Problem) {
	p := &parser{problems: problems{file: file}}
	m := &Mapping{File: file, source: bytes.Clone(data)}
	p.root(m, data)
	return m, sortProblems(p.list)
}

type parser struct {
	problems
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax turns a go-yaml error into a problem; it names a line but no
// column.
func (p *parser) syntax(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.add(Pos{Line: line, Col: 1}, "YAML: %s", msg)
}

func (p *parser) root(m *Mapping, data []byte) {
	if msg := yamlsafe.TooLarge(data); msg != "" {
		p.addMessage(Pos{1, 1}, msg)
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(Pos{1, 1}, "the mapping file is empty")
		} else {
			p.syntax(err)
		}
		return
	}
	if bomb := yamlsafe.AliasBomb(&doc); bomb != nil {
		p.addMessage(pos(bomb), yamlsafe.AliasBombMessage())
		return
	}
	p.extraDocuments(dec)
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.add(Pos{1, 1}, "the mapping file is empty")
		return
	}
	root := doc.Content[0]
	es := p.keys(root, "the mapping file", "version", "contact", "case", "lead", "messages", "status", "contact_sync")
	if es == nil {
		return
	}
	if e, ok := es["version"]; ok {
		v := resolve(e.val)
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" && v.Value == "1" {
			m.Version = 1
		} else {
			p.add(pos(v), "version must be 1, not %s", describeNode(v))
		}
	} else {
		p.add(pos(root), "version is required (version: 1)")
	}
	for _, sec := range []struct {
		obj Object
		dst **ObjectMapping
	}{{ObjectContact, &m.Contact}, {ObjectCase, &m.Case}, {ObjectLead, &m.Lead}} {
		if e, ok := es[string(sec.obj)]; ok {
			*sec.dst = p.object(e, sec.obj)
		}
	}
	if e, ok := es["messages"]; ok {
		m.Messages = p.messages(e)
	}
	if e, ok := es["status"]; ok {
		m.Status = p.status(e)
	}
	if e, ok := es["contact_sync"]; ok {
		v := resolve(e.val)
		if b, ok := boolNode(v); ok {
			m.ContactSync = b
			if b && m.Contact == nil && es["contact"].key == nil {
				p.add(pos(v), "contact_sync: true needs a contact section to create contacts")
			}
		} else {
			p.add(pos(v), "contact_sync must be true or false, not %s", describeNode(v))
		}
	}
}

// extraDocuments reports the first document after the first that holds
// anything, or a syntax error after it. An empty one (a trailing "---", as
// generators and editors leave) is harmless.
func (p *parser) extraDocuments(dec *yaml.Decoder) {
	switch extra, err := yamlsafe.ExtraDocument(dec); {
	case err != nil:
		p.syntax(err)
	case extra != nil:
		p.add(pos(extra), "only one YAML document is allowed")
	}
}

// entry is a key and its value in a YAML mapping.
type entry struct {
	key, val *yaml.Node
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describeNode names what a node is, for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(yamlsafe.Clip(n.Value, yamlsafe.MaxQuote-2)) // quotes included
	}
	return "an unexpected node"
}

func boolNode(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, false
	}
	return b, true
}

// entries returns the entries of a mapping node in order, reporting a node
// that is not a mapping, keys that are not text and duplicate keys.
func (p *parser) entries(n *yaml.Node, what string) ([]entry, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.add(pos(n), "%s: expected a mapping, found %s", what, describeNode(n))
		return nil, false
	}
	var out []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(pos(k), "%s: keys must be text, found %s", what, describeNode(k))
			continue
		}
		if k.Tag == "!!merge" {
			p.add(pos(k), "%s: merge keys (<<) are not supported", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.add(pos(k), "%s: duplicate key %q (first at line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{key: k, val: v})
	}
	return out, true
}

// keys returns a mapping's entries by key, reporting unknown keys with a
// suggestion. It returns nil when n is not a mapping.
func (p *parser) keys(n *yaml.Node, what string, allowed ...string) map[string]entry {
	list, ok := p.entries(n, what)
	if !ok {
		return nil
	}
	out := make(map[string]entry, len(list))
	for _, e := range list {
		if !slices.Contains(allowed, e.key.Value) {
			p.add(pos(e.key), "%s: unknown key %q%s", what, e.key.Value, suggest(e.key.Value, allowed))
			continue
		}
		out[e.key.Value] = e
	}
	return out
}

// str reads a text scalar; empty reports "is empty" unless allowEmpty.
func (p *parser) str(n *yaml.Node, what string, allowEmpty bool) (string, Pos, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		if isNull(n) && allowEmpty {
			return "", pos(n), true
		}
		p.add(pos(n), "%s: expected text, found %s", what, describeNode(n))
		return "", pos(n), false
	}
	if n.Value == "" && !allowEmpty {
		p.add(pos(n), "%s is empty", what)
		return "", pos(n), false
	}
	return n.Value, pos(n), true
}

// oneOf reads a text scalar that must be one of allowed.
func (p *parser) oneOf(n *yaml.Node, what string, allowed ...string) (string, Pos, bool) {
	s, at, ok := p.str(n, what, false)
	if ok && !slices.Contains(allowed, s) {
		p.add(at, "%s: %q is not one of %s%s", what, s, strings.Join(allowed, ", "), suggest(s, allowed))
		return "", at, false
	}
	return s, at, ok
}

// object parses a contact, case or lead section.
func (p *parser) object(e entry, sec Object) *ObjectMapping {
	es := p.keys(e.val, string(sec), "object", "record_type", "external_id_field", "fields", "overridable", "assignment_rules")
	if es == nil {
		return nil
	}
	o := &ObjectMapping{Section: sec, Pos: pos(e.key)}
	p.objectCommon(o, es, scopeRecord, true)
	if ae, ok := es["assignment_rules"]; ok {
		v := resolve(ae.val)
		if b, ok := boolNode(v); ok {
			o.AssignmentRules = b
		} else {
			p.add(pos(v), "%s.assignment_rules must be true or false, not %s", sec, describeNode(v))
		}
	}
	if len(o.named) == 0 {
		f, ok := es["fields"]
		switch {
		case !ok:
			p.add(o.Pos, "%s: no fields mapped", sec)
		case isNull(resolve(f.val)) || resolve(f.val).Kind == yaml.MappingNode:
			p.add(pos(f.key), "%s: no fields mapped", sec)
		}
	}
	if o.ExternalIDField != "" {
		if f, ok := o.Field(o.ExternalIDField); !ok {
			p.add(o.ExternalIDPos, "%s: external_id_field %q is not mapped in fields: the upsert needs its value", sec, o.ExternalIDField)
		} else if src := f.Value.source(); src != caseExternalKey {
			p.add(f.Value.Pos, "%s is mapped from %s, which repeats across installs and restores; use %s", f.Name, src, caseExternalKey)
		}
	}
	p.overridable(o, es)
	return o
}

// overridable reads a record section's overridable list, or sets the
// default: the mapped fields but the external id field and lookups by name.
func (p *parser) overridable(o *ObjectMapping, es map[string]entry) {
	e, given := es["overridable"]
	if !given {
		o.Overridable = []string{}
		for _, f := range o.Fields {
			if !strings.EqualFold(f.Name, o.ExternalIDField) && !lookupByName(f.Name) {
				o.Overridable = append(o.Overridable, f.Name)
			}
		}
		return
	}
	what := string(o.Section) + ".overridable"
	o.OverridablePos, o.OverridableListed, o.Overridable = pos(e.key), true, []string{}
	n := resolve(e.val)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(pos(n), "%s: expected a list of field names, found %s", what, describeNode(n))
		return
	}
	// A list may also name fields the section does not map (the owner, a
	// field agents fill in); describe checks those online. Offline, a name
	// close to a mapped field's is taken for a typo.
	mapped := make([]string, len(o.Fields))
	for i, f := range o.Fields {
		mapped[i] = f.Name
	}
	for _, it := range n.Content {
		name, at, ok := p.str(it, what, false)
		i := slices.IndexFunc(mapped, func(k string) bool { return strings.EqualFold(k, name) })
		switch {
		case !ok:
		case o.ExternalIDField != "" && strings.EqualFold(name, o.ExternalIDField):
			p.add(at, "%s: %s is the external id field, which is never overridable", what, name)
		case !apiName.MatchString(name):
			p.add(at, "%s: %q is not a Salesforce field name", what, name)
		case i < 0 && typo(name, mapped) != "":
			p.add(at, "%s: %q is not a mapped field of %s (did you mean %q?)", what, name, o.Section, typo(name, mapped))
		case slices.ContainsFunc(o.Overridable, func(s string) bool { return strings.EqualFold(s, name) }):
			p.add(at, "%s: %s is listed twice", what, name)
		case i >= 0:
			o.Overridable = append(o.Overridable, mapped[i])
		default:
			o.Overridable = append(o.Overridable, name)
			if o.overridableAt == nil {
				o.overridableAt = map[string]Pos{}
			}
			o.overridableAt[name] = at
		}
	}
}

// typo returns the name of candidates that name is at most two edits
// from (ignoring case), "" when none is: closer than suggest, as a name
// that is not a typo is valid here.
func typo(name string, candidates []string) string {
	for _, c := range candidates {
		if yamlsafe.EditDistance(strings.ToLower(name), strings.ToLower(c), 2) <= 2 {
			return c
		}
	}
	return ""
}

// apiName matches a Salesforce field API name: Subject, Care_Case_Id__c,
// ns__Field__c.
var apiName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// objectCommon reads object, record_type, external_id_field and fields;
// object must be there when requireObject.
func (p *parser) objectCommon(o *ObjectMapping, es map[string]entry, sc scope, requireObject bool) {
	sec := string(o.Section)
	if e, ok := es["object"]; ok {
		o.Object, o.ObjectPos, _ = p.str(e.val, sec+".object", false)
	} else if requireObject {
		p.add(o.Pos, "%s: object is required", sec)
	}
	if e, ok := es["record_type"]; ok {
		o.RecordType, o.RecordTypePos, _ = p.str(e.val, sec+".record_type", true)
	}
	if e, ok := es["external_id_field"]; ok {
		o.ExternalIDField, o.ExternalIDPos, _ = p.str(e.val, sec+".external_id_field", false)
	}
	if e, ok := es["fields"]; ok {
		o.FieldsPos = pos(e.key)
		if !isNull(resolve(e.val)) {
			o.Fields = p.fields(o, e.val, sec, sc)
		}
	}
	if o.RecordType != "" {
		if f, ok := o.Field("RecordTypeId"); ok {
			p.add(f.Pos, "%s: RecordTypeId is set from record_type; do not map it", sec)
		}
	}
}

// messages parses the messages section.
func (p *parser) messages(e entry) *MessagesMapping {
	es := p.keys(e.val, "messages", "mode", "object", "record_type", "external_id_field", "parent_field", "fields")
	if es == nil {
		return nil
	}
	m := &MessagesMapping{ObjectMapping: ObjectMapping{Section: ObjectMessages, Pos: pos(e.key)}}
	if me, ok := es["mode"]; ok {
		var s string
		s, m.ModePos, _ = p.oneOf(me.val, "messages.mode", string(MessagesOff), string(MessagesContinuous), string(MessagesOneTime))
		m.Mode = MessagesMode(s)
	} else {
		p.add(m.Pos, "messages: mode is required (off, continuous or one_time)")
	}
	if pe, ok := es["parent_field"]; ok {
		m.ParentField, m.ParentPos, _ = p.str(pe.val, "messages.parent_field", false)
	}
	p.objectCommon(&m.ObjectMapping, es, scopeMessage, m.Mode == MessagesContinuous)
	if m.Mode == MessagesContinuous {
		if _, given := es["external_id_field"]; !given {
			p.add(m.Pos, "messages: external_id_field is required in continuous mode (message records are upserted by message.external_key)")
		}
		if _, given := es["parent_field"]; !given {
			p.add(m.Pos, "messages: parent_field is required in continuous mode (the field that links a message record to its case)")
		}
	}
	for _, f := range m.Fields {
		switch {
		case m.ParentField != "" && strings.EqualFold(f.Name, m.ParentField):
			p.add(f.Pos, "messages: field %q is set to the Salesforce case id from parent_field; do not map it", f.Name)
		case m.ExternalIDField != "" && strings.EqualFold(f.Name, m.ExternalIDField):
			if src := f.Value.source(); src != messageExternalKey {
				p.add(f.Value.Pos, "%s is mapped from %s, which repeats across installs and restores; external_id_field is set from %s (do not map it)", f.Name, src, messageExternalKey)
			}
		}
	}
	m.Overridable = []string{} // message records take no overrides
	return m
}
