package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
)

// Errors of rendering, branched with errors.Is.
var (
	// ErrNotConfigured: the mapping has no such section, or messages are
	// not in continuous mode.
	ErrNotConfigured = errors.New("not configured in the mapping")
	// ErrNote: notes never go to Salesforce.
	ErrNote = errors.New("notes are never sent to Salesforce")
	// ErrUnknownField: describe has no such field.
	ErrUnknownField = errors.New("no such field in the Salesforce object")
	// ErrNotCreateable: an override names a field Salesforce will not set
	// on create.
	ErrNotCreateable = errors.New("field is not createable")
	// ErrBadValue: a value does not fit the field's type.
	ErrBadValue = errors.New("value does not fit the field type")
	// ErrRecordType: the record type is not in describe (or no describe
	// was given).
	ErrRecordType = errors.New("record type not found")
	// ErrNoExternalID: the external id field rendered empty.
	ErrNoExternalID = errors.New("external id field has no value")
)

// FieldError is a rendering error about one field.
type FieldError struct {
	Object string // Salesforce object name
	Field  string
	Err    error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s.%s: %v", e.Object, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// NotOverridableError is Render's answer to overrides of fields the
// section does not let API callers set (ObjectMapping.CanOverrideWith):
// nothing is rendered.
type NotOverridableError struct {
	Section Object
	Fields  []string // as the caller spelled them, sorted
}

func (e *NotOverridableError) Error() string {
	return fmt.Sprintf("render %s: not overridable: %s", e.Section, strings.Join(e.Fields, ", "))
}

// Input is the Care data a contact, case or lead record is made of.
type Input struct {
	Case     care.Case
	Customer care.Customer
	Agent    care.User      // the user who escalates
	Messages []care.Message // the case's messages in any order; notes are left out
	CaseURL  string         // the case's link in Care (case.url)
	// Overrides are fields from the API, applied after rendering and then
	// shortened like the rest, under describe's spelling of the field name
	// when a describe is given. A nil value leaves the field out. Only
	// fields the section lets callers set are accepted
	// (*NotOverridableError otherwise).
	Overrides map[string]any
}

// Rendered is a Salesforce record ready to send.
type Rendered struct {
	Object string `json:"object"`
	// Fields in the types describe asks for: text as strings, numbers as
	// numbers, booleans as bools, dates "2006-01-02", date-times
	// "2006-01-02T15:04:05.000Z". Empty values are left out.
	Fields map[string]any `json:"fields"`
	// Shortened lists the fields whose values were cut to fit, sorted.
	Shortened []string `json:"shortened"`
	// ExternalIDField and ExternalID are set when the record is upserted.
	ExternalIDField string `json:"external_id_field,omitempty"`
	ExternalID      string `json:"external_id,omitempty"`
}

// Render makes the Salesforce record for a contact, case or lead from in,
// typed and shortened by info (nil: no describe, values keep their natural
// types and are not shortened). Shortened fields are counted in the
// truncation metric of an instrumented mapping.
func (m *Mapping) Render(obj Object, in Input, info *ObjectInfo) (*Rendered, error) {
	return m.render(obj, in, info, true)
}

// Preview is Render without counting truncations, for showing the record
// the mapping would send.
func (m *Mapping) Preview(obj Object, in Input, info *ObjectInfo) (*Rendered, error) {
	return m.render(obj, in, info, false)
}

func (m *Mapping) render(obj Object, in Input, info *ObjectInfo, count bool) (*Rendered, error) {
	if obj == ObjectMessages {
		return nil, fmt.Errorf("render %s: use RenderMessage: %w", obj, ErrNotConfigured)
	}
	sec := m.Section(obj)
	if sec == nil {
		return nil, fmt.Errorf("render %s: %w", obj, ErrNotConfigured)
	}
	var refused []string
	for _, name := range sortedKeys(in.Overrides) {
		if !sec.CanOverrideWith(name, info) {
			refused = append(refused, name)
		}
	}
	if refused != nil {
		return nil, &NotOverridableError{Section: obj, Fields: refused}
	}
	e := &env{in: &in, visible: visibleMessages(in.Messages)}
	b := newBuilder(sec, info)
	for _, f := range sec.Fields {
		b.set(f.Name, f.Value.eval(e))
	}
	for _, name := range sortedKeys(in.Overrides) {
		b.override(name, in.Overrides[name])
	}
	b.recordType()
	if sec.ExternalIDField != "" {
		b.r.ExternalIDField = sec.ExternalIDField
		if v, ok := b.lookup(sec.ExternalIDField); ok {
			b.r.ExternalID = fmt.Sprint(v)
		} else {
			b.fail(sec.ExternalIDField, ErrNoExternalID)
		}
	}
	return b.finish(m.metricsIf(count))
}

// RenderMessage makes the Salesforce record of one message in continuous
// mode: the mapped fields, the parent field set to the Salesforce case id
// and the external id field set to the message's external key (SPEC §11).
func (m *Mapping) RenderMessage(msg care.Message, sfCaseID string, info *ObjectInfo) (*Rendered, error) {
	if m.MessagesMode() != MessagesContinuous {
		return nil, fmt.Errorf("render message %s: messages mode %s: %w", msg.ID, m.MessagesMode(), ErrNotConfigured)
	}
	if msg.Kind == care.KindNote {
		return nil, fmt.Errorf("render message %s: %w", msg.ID, ErrNote)
	}
	sec := &m.Messages.ObjectMapping
	e := &env{msg: &msg}
	b := newBuilder(sec, info)
	for _, f := range sec.Fields {
		b.set(f.Name, f.Value.eval(e))
	}
	b.recordType()
	b.r.Fields[m.Messages.ParentField] = sfCaseID
	b.r.Fields[sec.ExternalIDField] = msg.ExternalKey
	b.r.ExternalIDField, b.r.ExternalID = sec.ExternalIDField, msg.ExternalKey
	if msg.ExternalKey == "" {
		b.fail(sec.ExternalIDField, ErrNoExternalID)
	}
	return b.finish(m.metrics)
}

func (m *Mapping) metricsIf(count bool) *Metrics {
	if count {
		return m.metrics
	}
	return nil
}

// eval computes a value's source value.
func (v *Value) eval(e *env) value {
	switch v.Form {
	case FormConst:
		return v.Const.value()
	case FormTemplate:
		s := v.Template.render(e)
		if s == "" && v.Default != nil {
			s = v.Default.render(e)
		}
		return text(s)
	}
	src := v.From.def.get(e)
	if len(v.Map) > 0 {
		key := src.String()
		for _, me := range v.Map {
			if me.Key == key {
				return me.Value.value()
			}
		}
		if v.Default != nil {
			return text(v.Default.render(e))
		}
		return value{null: true}
	}
	if src.empty() && v.Default != nil {
		return text(v.Default.render(e))
	}
	return src
}

// builder assembles a record.
type builder struct {
	sec       *ObjectMapping
	info      *ObjectInfo
	r         *Rendered
	shortened map[string]bool
	errs      []error
}

func newBuilder(sec *ObjectMapping, info *ObjectInfo) *builder {
	return &builder{sec: sec, info: info, r: &Rendered{Object: sec.Object, Fields: map[string]any{}}, shortened: map[string]bool{}}
}

func (b *builder) fail(field string, err error) {
	b.errs = append(b.errs, &FieldError{Object: b.sec.Object, Field: field, Err: err})
}

// field returns the describe of a field; ok is false (and an error noted)
// when a describe is given and lacks the field.
func (b *builder) field(name string) (*FieldInfo, bool) {
	if b.info == nil {
		return nil, true
	}
	f, ok := b.info.Field(name)
	if !ok {
		b.fail(name, ErrUnknownField)
		return nil, false
	}
	return &f, true
}

// set converts v for the field, shortens it to fit and stores it; an empty
// value removes the field.
func (b *builder) set(name string, v value) {
	delete(b.r.Fields, name)
	delete(b.shortened, name)
	f, ok := b.field(name)
	if !ok || v.empty() {
		return
	}
	out, err := convert(v, f)
	if err != nil {
		b.fail(name, err)
		return
	}
	if s, isText := out.(string); isText && f != nil && f.Length > 0 && f.Type != "reference" && f.Type != "id" {
		var cut bool
		if v.lines != nil && s == v.s {
			out, cut = shortenLines(v.lines, f.Length)
		} else {
			out, cut = Shorten(s, f.Length)
		}
		b.shortened[name] = cut
	}
	b.r.Fields[name] = out
}

// override applies one API override. With a describe the field is stored
// under describe's spelling of its name, so that a caller's spelling
// ("sUbJeCt") never becomes a record key of its own nor a truncation
// metric label.
func (b *builder) override(name string, raw any) {
	f, ok := b.field(name)
	switch {
	case !ok:
		return
	case f != nil && !f.Createable:
		b.fail(name, ErrNotCreateable)
		return
	case f != nil:
		name = f.Name
	}
	// Drop the mapped field under any spelling of the name.
	for k := range b.r.Fields {
		if strings.EqualFold(k, name) {
			delete(b.r.Fields, k)
			delete(b.shortened, k)
		}
	}
	var v value
	switch x := raw.(type) {
	case nil:
		return
	case string:
		v = text(x)
	case bool:
		v = value{kind: kindBool, b: x}
	case float64:
		v = value{kind: kindFloat, f: x}
	case int:
		v = value{kind: kindInt, i: int64(x)}
	case int64:
		v = value{kind: kindInt, i: x}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			v = value{kind: kindInt, i: i}
		} else if f, err := x.Float64(); err == nil {
			v = value{kind: kindFloat, f: f}
		} else {
			b.fail(name, fmt.Errorf("%w: %q", ErrBadValue, x))
			return
		}
	default:
		b.fail(name, fmt.Errorf("%w: a %T is not a field value", ErrBadValue, raw))
		return
	}
	b.set(name, v)
}

// lookup finds a field's value under any spelling of its name.
func (b *builder) lookup(name string) (any, bool) {
	if v, ok := b.r.Fields[name]; ok {
		return v, true
	}
	for k, v := range b.r.Fields {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// recordType sets RecordTypeId from record_type.
func (b *builder) recordType() {
	if b.sec.RecordType == "" {
		return
	}
	rt, ok := b.info.RecordType(b.sec.RecordType)
	if !ok {
		b.fail("RecordTypeId", fmt.Errorf("%w: %q", ErrRecordType, b.sec.RecordType))
		return
	}
	b.r.Fields["RecordTypeId"] = rt.ID
}

// finish counts the shortened fields and returns the record or the errors.
func (b *builder) finish(mt *Metrics) (*Rendered, error) {
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("render %s: %w", b.sec.Section, errors.Join(b.errs...))
	}
	b.r.Shortened = []string{}
	for name, cut := range b.shortened {
		if cut {
			b.r.Shortened = append(b.r.Shortened, name)
			mt.truncated(b.sec.Object, name)
		}
	}
	slices.Sort(b.r.Shortened)
	return b.r, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Salesforce's JSON formats for dates and date-times.
const (
	sfDate     = "2006-01-02"
	sfDateTime = "2006-01-02T15:04:05.000Z"
)

// convert turns a source value into the JSON value a field of f's type
// takes. Without a describe a value keeps its natural type.
func convert(v value, f *FieldInfo) (any, error) {
	if v.kind == kindFloat && (math.IsNaN(v.f) || math.IsInf(v.f, 0)) {
		return nil, fmt.Errorf("%w: %v", ErrBadValue, v.f)
	}
	typ := ""
	if f != nil {
		typ = f.Type
	}
	bad := func() (any, error) {
		return nil, fmt.Errorf("%w: %s %q into a %s field", ErrBadValue, kindName(v.kind), v.String(), typ)
	}
	switch typ {
	case "":
		switch v.kind {
		case kindInt:
			return v.i, nil
		case kindFloat:
			return v.f, nil
		case kindBool:
			return v.b, nil
		case kindTime:
			return v.t.UTC().Format(sfDateTime), nil
		}
		return v.s, nil
	case "boolean":
		switch v.kind {
		case kindBool:
			return v.b, nil
		case kindText:
			if b, err := strconv.ParseBool(strings.TrimSpace(v.s)); err == nil {
				return b, nil
			}
		}
		return bad()
	case "int":
		switch v.kind {
		case kindInt:
			return v.i, nil
		case kindFloat:
			if v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<53 {
				return int64(v.f), nil
			}
		case kindText:
			if i, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64); err == nil {
				return i, nil
			}
		}
		return bad()
	case "double", "currency", "percent":
		switch v.kind {
		case kindInt:
			return v.i, nil
		case kindFloat:
			return v.f, nil
		case kindText:
			if x, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64); err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
				return x, nil
			}
		}
		return bad()
	case "date", "datetime":
		t, ok := v.t, v.kind == kindTime
		if v.kind == kindText {
			t, ok = parseTime(strings.TrimSpace(v.s))
		}
		if !ok {
			return bad()
		}
		if typ == "date" {
			return t.UTC().Format(sfDate), nil
		}
		return t.UTC().Format(sfDateTime), nil
	}
	return v.String(), nil
}

// parseTime reads the date and date-time forms a mapping constant or an
// override may carry.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700", sfDate} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func kindName(k kind) string {
	switch k {
	case kindInt:
		return "number"
	case kindFloat:
		return "number"
	case kindBool:
		return "boolean"
	case kindTime:
		return "time"
	}
	return "text"
}
