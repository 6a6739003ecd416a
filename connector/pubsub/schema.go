package pubsub

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/hamba/avro/v2"
)

// CaseChangeTopic is the Pub/Sub API topic of Case change events.
const CaseChangeTopic = "/data/CaseChangeEvent"

// Change types of a ChangeEventHeader. GAP_* events say that changes
// happened without carrying their values (read the records instead);
// GAP_OVERFLOW says too many changes happened in one transaction.
const (
	ChangeCreate      = "CREATE"
	ChangeUpdate      = "UPDATE"
	ChangeDelete      = "DELETE"
	ChangeUndelete    = "UNDELETE"
	ChangeGapCreate   = "GAP_CREATE"
	ChangeGapUpdate   = "GAP_UPDATE"
	ChangeGapDelete   = "GAP_DELETE"
	ChangeGapUndelete = "GAP_UNDELETE"
	ChangeGapOverflow = "GAP_OVERFLOW"
)

// changeTypes are the symbols of the ChangeType enum, in Salesforce's order.
var changeTypes = []string{
	ChangeCreate, ChangeUpdate, ChangeDelete, ChangeUndelete,
	ChangeGapCreate, ChangeGapUpdate, ChangeGapDelete, ChangeGapUndelete, ChangeGapOverflow,
}

// Kind is the Avro type of a record field in a change event. Every record
// field is nullable (a union with null): an UPDATE carries only the fields
// it changed.
type Kind int

// Field kinds and the Go values they take in Event.Fields.
const (
	// KindString is text, picklists, ids and references: string.
	KindString Kind = iota
	// KindBoolean is a checkbox: bool.
	KindBoolean
	// KindDouble is a number, currency or percent: float64.
	KindDouble
	// KindInt is an integer: int32.
	KindInt
	// KindDateTime is a date-time in milliseconds since the epoch: int64.
	KindDateTime
	// KindDate is a date in days since the epoch: int32 (an Avro int of
	// logical type date).
	KindDate
	// KindCompound is a compound field such as an address or a person's
	// name: map[string]any of its components (by component name, values of
	// the kinds above). Only schemas read with ParseSchema have them.
	KindCompound
)

// String names the kind as Salesforce's describe does.
func (k Kind) String() string {
	return [...]string{"string", "boolean", "double", "int", "datetime", "date", "compound"}[k]
}

func (k Kind) avroType() any {
	switch k {
	case KindBoolean:
		return "boolean"
	case KindDouble:
		return "double"
	case KindInt:
		return "int"
	case KindDate:
		return map[string]any{"type": "int", "logicalType": "date"}
	case KindDateTime:
		return "long"
	}
	return "string"
}

// Field is one record field of a change event, named as the object's field.
type Field struct {
	Name string
	Kind Kind
}

// CaseFields are the standard Case fields of a CaseChangeEvent, in schema
// order. A change event carries no Id field: the id is in the header's
// recordIds.
func CaseFields() []Field {
	return []Field{
		{"CaseNumber", KindString},
		{"ContactId", KindString},
		{"AccountId", KindString},
		{"ParentId", KindString},
		{"SuppliedName", KindString},
		{"SuppliedEmail", KindString},
		{"Type", KindString},
		{"RecordTypeId", KindString},
		{"Status", KindString},
		{"Reason", KindString},
		{"Origin", KindString},
		{"Subject", KindString},
		{"Priority", KindString},
		{"Description", KindString},
		{"IsClosed", KindBoolean},
		{"ClosedDate", KindDateTime},
		{"IsEscalated", KindBoolean},
		{"OwnerId", KindString},
		{"CreatedDate", KindDateTime},
		{"CreatedById", KindString},
		{"LastModifiedDate", KindDateTime},
		{"LastModifiedById", KindString},
		{"SystemModstamp", KindDateTime},
	}
}

// Schema is the Avro schema of one change event type: its JSON as GetSchema
// serves it, its id, and the codec of its payloads.
type Schema struct {
	json   string
	id     string
	avro   *avro.RecordSchema
	fields map[string]Kind
}

// CaseChangeEventSchema is the schema of CaseChangeEvent: the header, the
// standard Case fields, then the custom fields given (an org's own fields,
// such as Care_Case_Id__c), in that order.
func CaseChangeEventSchema(custom ...Field) (*Schema, error) {
	return ChangeEventSchema("Case", append(CaseFields(), custom...))
}

// ChangeEventSchema is the schema of the change events of one object
// ("Case" gives CaseChangeEvent), in the namespace com.sforce.eventbus,
// with ChangeEventHeader first and then the fields given.
func ChangeEventSchema(object string, fields []Field) (*Schema, error) {
	header := map[string]any{
		"type": "record", "name": "ChangeEventHeader", "namespace": "com.sforce.eventbus",
		"fields": []any{
			map[string]any{"name": "entityName", "type": "string"},
			map[string]any{"name": "recordIds", "type": map[string]any{"type": "array", "items": "string"}},
			map[string]any{"name": "changeType", "type": map[string]any{
				"type": "enum", "name": "ChangeType", "namespace": "com.sforce.eventbus", "symbols": changeTypes,
			}},
			map[string]any{"name": "changeOrigin", "type": "string"},
			map[string]any{"name": "transactionKey", "type": "string"},
			map[string]any{"name": "sequenceNumber", "type": "int"},
			map[string]any{"name": "commitTimestamp", "type": "long"},
			map[string]any{"name": "commitNumber", "type": "long"},
			map[string]any{"name": "commitUser", "type": "string"},
			map[string]any{"name": "nulledFields", "type": map[string]any{"type": "array", "items": "string"}},
			map[string]any{"name": "diffFields", "type": map[string]any{"type": "array", "items": "string"}},
			map[string]any{"name": "changedFields", "type": map[string]any{"type": "array", "items": "string"}},
		},
	}
	all := []any{map[string]any{"name": "ChangeEventHeader", "type": header, "doc": "Data:ChangeEventHeader"}}
	seen := map[string]bool{"ChangeEventHeader": true}
	for _, f := range fields {
		if seen[f.Name] {
			return nil, fmt.Errorf("pubsub: %sChangeEvent: field %s twice", object, f.Name)
		}
		if f.Kind == KindCompound {
			return nil, fmt.Errorf("pubsub: %sChangeEvent: compound field %s: only a parsed schema has them", object, f.Name)
		}
		seen[f.Name] = true
		all = append(all, map[string]any{"name": f.Name, "type": []any{"null", f.Kind.avroType()}, "default": nil})
	}
	b, err := json.Marshal(map[string]any{
		"type": "record", "name": object + "ChangeEvent", "namespace": "com.sforce.eventbus", "fields": all,
	})
	if err != nil {
		return nil, fmt.Errorf("pubsub: %sChangeEvent schema: %w", object, err)
	}
	return ParseSchema(string(b))
}

// ParseSchema reads a change event schema from its JSON, as GetSchema
// answers it. Its id is a fingerprint of its canonical form, as Salesforce's
// are (22 characters of URL-safe base64).
func ParseSchema(schemaJSON string) (*Schema, error) {
	// A cache of its own: two schemas of the same name (another org's
	// custom fields, a newer version) never resolve against each other.
	parsed, err := avro.ParseWithCache(schemaJSON, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("pubsub: parse schema: %w", err)
	}
	rec, ok := parsed.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("pubsub: schema is a %s, not a record", parsed.Type())
	}
	hdr := rec.Fields()
	if len(hdr) == 0 || hdr[0].Name() != "ChangeEventHeader" || hdr[0].Type().Type() != avro.Record {
		return nil, fmt.Errorf("pubsub: schema %s has no ChangeEventHeader first", rec.FullName())
	}
	sum := sha256.Sum256([]byte(rec.String()))
	s := &Schema{json: schemaJSON, id: base64.RawURLEncoding.EncodeToString(sum[:16]), avro: rec, fields: map[string]Kind{}}
	for _, f := range hdr[1:] {
		s.fields[f.Name()] = kindOf(f.Type())
	}
	return s, nil
}

// kindOf is the kind of a field's (nullable) type.
func kindOf(t avro.Schema) Kind {
	t = nonNull(t)
	switch t.Type() {
	case avro.Record:
		return KindCompound
	case avro.Boolean:
		return KindBoolean
	case avro.Double, avro.Float:
		return KindDouble
	case avro.Int:
		if p, ok := t.(*avro.PrimitiveSchema); ok && p.Logical() != nil && p.Logical().Type() == avro.Date {
			return KindDate
		}
		return KindInt
	case avro.Long:
		return KindDateTime
	}
	return KindString
}

// JSON is the schema as GetSchema answers it.
func (s *Schema) JSON() string { return s.json }

// ID is the schema's id (its fingerprint).
func (s *Schema) ID() string { return s.id }

// Name is the event type's name, such as "CaseChangeEvent".
func (s *Schema) Name() string { return s.avro.Name() }

// HasField reports whether the events carry a field of that name.
func (s *Schema) HasField(name string) bool {
	_, ok := s.fields[name]
	return ok
}

// field is the Avro field of a record field of the events.
func (s *Schema) field(name string) *avro.Field {
	return s.avro.Fields()[fieldPos(s.avro.Fields(), name)]
}

// FieldKind is the kind of a record field of the events.
func (s *Schema) FieldKind(name string) (Kind, bool) {
	k, ok := s.fields[name]
	return k, ok
}

// nonNull is the type of a nullable union other than null, or t itself.
func nonNull(t avro.Schema) avro.Schema {
	if u, ok := t.(*avro.UnionSchema); ok {
		for _, m := range u.Types() {
			if m.Type() != avro.Null {
				return m
			}
		}
	}
	return t
}
