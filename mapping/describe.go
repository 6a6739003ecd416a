package mapping

import (
	"context"
	"errors"
	"strings"
)

// ErrObjectNotFound is what a Describer wraps when Salesforce has no object
// of the asked name (describe answered 404 NOT_FOUND).
var ErrObjectNotFound = errors.New("no such Salesforce object")

// Describer describes Salesforce objects. The connector implements it over
// the REST describe call (cached); tests use fixtures.
type Describer interface {
	// Describe returns the object's metadata, or an error wrapping
	// ErrObjectNotFound when the org has no such object.
	Describe(ctx context.Context, object string) (*ObjectInfo, error)
}

// ObjectInfo is what the mapping needs of a Salesforce object describe.
type ObjectInfo struct {
	Name string `json:"name"`
	// Fields by API name as describe spells it.
	Fields      map[string]FieldInfo `json:"fields"`
	RecordTypes []RecordType         `json:"record_types,omitempty"`
}

// FieldInfo is what the mapping needs of one field of a describe.
type FieldInfo struct {
	Name string `json:"name"`
	// Type is the describe type: string, textarea, email, phone, url,
	// picklist, multipicklist, boolean, double, int, currency, percent,
	// date, datetime, reference, id, ...
	Type              string          `json:"type"`
	Length            int             `json:"length,omitempty"`
	Createable        bool            `json:"createable,omitempty"`
	Updateable        bool            `json:"updateable,omitempty"`
	Nillable          bool            `json:"nillable,omitempty"`
	DefaultedOnCreate bool            `json:"defaulted_on_create,omitempty"`
	ExternalID        bool            `json:"external_id,omitempty"`
	Restricted        bool            `json:"restricted,omitempty"` // restrictedPicklist
	Picklist          []PicklistValue `json:"picklist,omitempty"`
	ReferenceTo       []string        `json:"reference_to,omitempty"`
}

// PicklistValue is one entry of a picklist.
type PicklistValue struct {
	Value  string `json:"value"`
	Active bool   `json:"active"`
}

// RecordType is one entry of describe's recordTypeInfos.
type RecordType struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	DeveloperName string `json:"developer_name"`
	Active        bool   `json:"active"`
	Master        bool   `json:"master,omitempty"`
	// Picklists holds the values available for this record type by field
	// name, where the describer knows them; a field not listed here uses the
	// field's own picklist.
	Picklists map[string][]PicklistValue `json:"picklists,omitempty"`
}

// Field looks a field up by name, exactly first, then ignoring case as
// Salesforce does.
func (o *ObjectInfo) Field(name string) (FieldInfo, bool) {
	if o == nil {
		return FieldInfo{}, false
	}
	if f, ok := o.Fields[name]; ok {
		if f.Name == "" {
			f.Name = name
		}
		return f, true
	}
	for k, f := range o.Fields {
		if strings.EqualFold(k, name) {
			if f.Name == "" {
				f.Name = k
			}
			return f, true
		}
	}
	return FieldInfo{}, false
}

// RecordType finds a record type by developer name (or, failing that, by
// label), ignoring case.
func (o *ObjectInfo) RecordType(name string) (RecordType, bool) {
	if o == nil {
		return RecordType{}, false
	}
	for _, rt := range o.RecordTypes {
		if strings.EqualFold(rt.DeveloperName, name) {
			return rt, true
		}
	}
	for _, rt := range o.RecordTypes {
		if strings.EqualFold(rt.Name, name) {
			return rt, true
		}
	}
	return RecordType{}, false
}

// fieldNames lists the object's field names (for suggestions).
func (o *ObjectInfo) fieldNames() []string {
	names := make([]string, 0, len(o.Fields))
	for k := range o.Fields {
		names = append(names, k)
	}
	return names
}

// picklistFor returns the picklist values of f, narrowed to the record type
// when it models values for f.
func picklistFor(f FieldInfo, rt *RecordType) []PicklistValue {
	if rt != nil {
		if vals, ok := rt.Picklists[f.Name]; ok {
			return vals
		}
	}
	return f.Picklist
}

// picklistType reports whether the type carries picklist values.
func picklistType(typ string) bool { return typ == "picklist" || typ == "multipicklist" }
