package mapping

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/carebridge/carebridge/care"
)

// Object names a section of the mapping that renders Salesforce records.
type Object string

// The record sections of a mapping.
const (
	ObjectContact  Object = "contact"
	ObjectCase     Object = "case"
	ObjectLead     Object = "lead"
	ObjectMessages Object = "messages"
)

// MessagesMode is how messages reach Salesforce.
type MessagesMode string

// Messages modes.
const (
	MessagesOff        MessagesMode = "off"
	MessagesContinuous MessagesMode = "continuous"
	MessagesOneTime    MessagesMode = "one_time"
)

// StatusMode is how statuses are synchronised.
type StatusMode string

// Status modes.
const (
	StatusOff           StatusMode = "off"
	StatusConditions    StatusMode = "conditions"
	StatusBidirectional StatusMode = "bidirectional"
)

// Mapping is a parsed mapping file. It is immutable once parsed and safe
// for concurrent use.
type Mapping struct {
	File        string           `json:"file"`
	Version     int              `json:"version"`
	Contact     *ObjectMapping   `json:"contact,omitempty"`
	Case        *ObjectMapping   `json:"case,omitempty"`
	Lead        *ObjectMapping   `json:"lead,omitempty"`
	Messages    *MessagesMapping `json:"messages,omitempty"`
	Status      *StatusMapping   `json:"status,omitempty"`
	ContactSync bool             `json:"contact_sync"`

	source  []byte
	metrics *Metrics
}

// Source is the file's text as it was parsed.
func (m *Mapping) Source() []byte { return m.source }

// Instrument returns a copy of m that counts its truncations in mt.
func (m *Mapping) Instrument(mt *Metrics) *Mapping {
	c := *m
	c.metrics = mt
	mt.prepare(&c)
	return &c
}

// Section returns the mapping of a record section, nil when the file has
// none.
func (m *Mapping) Section(obj Object) *ObjectMapping {
	switch obj {
	case ObjectContact:
		return m.Contact
	case ObjectCase:
		return m.Case
	case ObjectLead:
		return m.Lead
	case ObjectMessages:
		if m.Messages != nil {
			return &m.Messages.ObjectMapping
		}
	}
	return nil
}

// MessagesMode is the messages mode, off when the file has no messages
// section.
func (m *Mapping) MessagesMode() MessagesMode {
	if m.Messages == nil {
		return MessagesOff
	}
	return m.Messages.Mode
}

// ObjectMapping maps Care data to one Salesforce object.
type ObjectMapping struct {
	Section         Object         `json:"-"`
	Object          string         `json:"object"`
	RecordType      string         `json:"record_type,omitempty"`
	ExternalIDField string         `json:"external_id_field,omitempty"`
	Fields          []FieldMapping `json:"fields"`
	// Overridable lists the fields an API caller may set on create
	// (Input.Overrides), in the file's order: the section's overridable
	// list, else its mapped fields but the external id field and the
	// fields offline taken for lookups (Id, RecordTypeId, OwnerId and every
	// name ending in "Id"). The external id field is never in it. Empty
	// for messages.
	Overridable []string `json:"overridable"`
	// OverridableListed is true when the file lists the fields; then a
	// lookup field in the list stays overridable even where describe knows
	// it as a reference.
	OverridableListed bool `json:"overridable_listed,omitempty"`
	// AssignmentRules lets the org's active assignment rule run when the
	// record is created (SPEC §11); by default writes send
	// Sforce-Auto-Assign: FALSE.
	AssignmentRules bool `json:"assignment_rules"`

	Pos            Pos `json:"-"` // the section's key
	ObjectPos      Pos `json:"-"`
	RecordTypePos  Pos `json:"-"`
	ExternalIDPos  Pos `json:"-"`
	FieldsPos      Pos `json:"-"`
	OverridablePos Pos `json:"-"` // the overridable key, when given
	// overridableAt holds the position of each listed field of Overridable
	// that the section does not map, for the online check.
	overridableAt map[string]Pos

	// named lists every field the file names, valid or not, so that a
	// field with a bad value is not also reported as missing.
	named []string
}

// Field finds a mapped field by name, ignoring case.
func (o *ObjectMapping) Field(name string) (FieldMapping, bool) {
	for _, f := range o.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return FieldMapping{}, false
}

// CanOverride reports whether an API caller may set field (any spelling)
// on create. With a describe at hand, use CanOverrideWith.
func (o *ObjectMapping) CanOverride(field string) bool {
	return o.CanOverrideWith(field, nil)
}

// CanOverrideWith is CanOverride refined by the object's describe: a field
// that is overridable by default (not listed in the file) is not when
// describe knows it as a reference (a lookup such as Account__c).
func (o *ObjectMapping) CanOverrideWith(field string, info *ObjectInfo) bool {
	if !slices.ContainsFunc(o.Overridable, func(s string) bool { return strings.EqualFold(s, field) }) {
		return false
	}
	if o.OverridableListed || info == nil {
		return true
	}
	f, ok := info.Field(field)
	return !ok || (f.Type != "reference" && f.Type != "id")
}

// OverridableWith is the list of fields CanOverrideWith accepts: what a
// form should offer when it has the object's describe.
func (o *ObjectMapping) OverridableWith(info *ObjectInfo) []string {
	out := []string{}
	for _, f := range o.Overridable {
		if o.CanOverrideWith(f, info) {
			out = append(out, f)
		}
	}
	return out
}

// lookupByName reports whether a field name is taken for the record's id,
// record type, owner or a lookup when no describe says otherwise.
func lookupByName(name string) bool { return strings.HasSuffix(name, "Id") }

// Upsert reports whether records are upserted by an external id.
func (o *ObjectMapping) Upsert() bool { return o.ExternalIDField != "" }

// MessagesMapping maps each Care message to a Salesforce record.
type MessagesMapping struct {
	ObjectMapping
	Mode        MessagesMode `json:"mode"`
	ParentField string       `json:"parent_field,omitempty"`

	ModePos   Pos `json:"-"`
	ParentPos Pos `json:"-"`
}

// FieldMapping is one target field and its value.
type FieldMapping struct {
	Name  string `json:"name"`
	Value Value  `json:"value"`
	Pos   Pos    `json:"-"` // the field's key
}

// Form is which of the four value forms a value takes.
type Form int

// Value forms.
const (
	FormFrom     Form = iota // a source path, shorthand or {from: ..., map: ..., default: ...}
	FormConst                // {value: const}
	FormTemplate             // {template: "...{path}..."}
)

// Value is how one field's value is made.
type Value struct {
	Form     Form
	From     *SourcePath // FormFrom
	Const    *Scalar     // FormConst
	Template *Template   // FormTemplate
	Map      []MapEntry  // FormFrom, optional
	Default  *Template   // FormFrom and FormTemplate, optional
	Pos      Pos
}

// MarshalJSON writes the value in the file's long form.
func (v Value) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	switch v.Form {
	case FormConst:
		if v.Const != nil {
			out["value"] = v.Const.any()
		}
	case FormTemplate:
		if v.Template != nil {
			out["template"] = v.Template.Text
		}
	case FormFrom:
		if v.From != nil {
			out["from"] = v.From.Name
		}
	}
	if len(v.Map) > 0 {
		mp := map[string]any{}
		for _, e := range v.Map {
			mp[e.Key] = e.Value.any()
		}
		out["map"] = mp
	}
	if v.Default != nil {
		out["default"] = v.Default.Text
	}
	return json.Marshal(out)
}

// source names where the value comes from, for messages: its source path
// when it is one path as it is, else its form ("the constant \"x\"").
func (v Value) source() string {
	switch {
	case v.Form == FormConst && v.Const != nil:
		return "the constant " + strconv.Quote(v.Const.Text)
	case v.Form == FormTemplate && v.Template != nil:
		return "the template " + strconv.Quote(v.Template.Text)
	case v.From == nil:
		return "nothing"
	case len(v.Map) > 0:
		return "a value map of " + v.From.Name
	case v.Default != nil:
		return v.From.Name + " with a default"
	}
	return v.From.Name
}

// SourcePath is a reference to Care data, e.g. customer.last_name.
type SourcePath struct {
	Name string
	Pos  Pos
	def  pathDef
}

// Scalar is a constant from the file with its YAML type.
type Scalar struct {
	Text string
	Tag  string // the resolved YAML tag: !!str, !!int, !!float, !!bool
	Pos  Pos
}

// value is the scalar as a source value of its YAML type.
func (s *Scalar) value() value {
	switch s.Tag {
	case "!!int":
		if i, err := strconv.ParseInt(s.Text, 0, 64); err == nil {
			return value{kind: kindInt, i: i}
		}
	case "!!float":
		if f, err := strconv.ParseFloat(s.Text, 64); err == nil {
			return value{kind: kindFloat, f: f}
		}
	case "!!bool":
		switch strings.ToLower(s.Text) {
		case "true", "yes", "on", "y":
			return value{kind: kindBool, b: true}
		case "false", "no", "off", "n":
			return value{kind: kindBool, b: false}
		}
	}
	return text(s.Text)
}

func (s *Scalar) any() any {
	v := s.value()
	switch v.kind {
	case kindInt:
		return v.i
	case kindFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return s.Text
		}
		return v.f
	case kindBool:
		return v.b
	}
	return v.s
}

// MapEntry is one entry of a value map: a source value and what it becomes.
type MapEntry struct {
	Key    string
	KeyPos Pos
	Value  Scalar
}

// Template is text with {path} placeholders; {{ and }} stand for braces.
type Template struct {
	Text  string
	Pos   Pos
	parts []tplPart
}

type tplPart struct {
	lit  string
	path *SourcePath // nil for a literal
}

// StatusMapping maps Care statuses to a Salesforce field and back.
type StatusMapping struct {
	Mode            StatusMode `json:"mode"`
	SalesforceField string     `json:"salesforce_field,omitempty"`
	// CareField is "status", or "field:<name>" to read Salesforce values
	// into the Care custom field <name>.
	CareField      string                 `json:"care_field"`
	ToSalesforce   map[care.Status]string `json:"to_salesforce,omitempty"`
	FromSalesforce map[string]string      `json:"from_salesforce,omitempty"`
	Conditions     []Rule                 `json:"conditions,omitempty"`
	// DefaultRule is true when the file gives no conditions and the default
	// rule (a message added sets to_salesforce[new]) stands in.
	DefaultRule bool `json:"default_rule,omitempty"`

	Pos                Pos           `json:"-"`
	ModePos            Pos           `json:"-"`
	SalesforceFieldPos Pos           `json:"-"`
	ToEntries          []StatusEntry `json:"-"`
	FromEntries        []StatusEntry `json:"-"`
}

// StatusEntry is one to_salesforce or from_salesforce entry with positions.
type StatusEntry struct {
	Key, Value       string
	KeyPos, ValuePos Pos
}

// Rule is one status condition: when a Care change matches When, the
// Salesforce status becomes Set.
type Rule struct {
	When   Condition `json:"when"`
	Set    string    `json:"set"`
	Pos    Pos       `json:"-"`
	SetPos Pos       `json:"-"`
}

// Condition is the when-part of a rule; every given part must hold.
type Condition struct {
	// MessageAdded matches a change that adds a message (never a note) in
	// Direction: inbound (the default, the customer wrote), outbound, or
	// any.
	MessageAdded bool   `json:"message_added,omitempty"`
	Direction    string `json:"direction,omitempty"`
	// Field and Equals match a change that sets the custom field Field to
	// Equals.
	Field  string `json:"field,omitempty"`
	Equals string `json:"equals,omitempty"`
	// Status matches a change that sets the Care status.
	Status care.Status `json:"status,omitempty"`
}
