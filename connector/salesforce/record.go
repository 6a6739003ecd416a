package salesforce

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one Salesforce record as JSON decodes it: field name to value.
// Numbers are json.Number (never float64, so ids and large integers keep
// their digits); a parent relationship is a nested map; a child subquery is
// a nested query result. Null fields are present with a nil value.
type Record map[string]any

// Get returns the value at a field or dotted relationship path such as
// "Contact.Email". ok is false when a step is missing or not an object.
func (r Record) Get(path string) (v any, ok bool) {
	var cur map[string]any = r
	for {
		name, rest, more := strings.Cut(path, ".")
		v, ok = cur[name]
		if !ok || !more {
			return v, ok
		}
		switch next := v.(type) {
		case map[string]any:
			cur = next
		case Record:
			cur = next
		default:
			return nil, false
		}
		path = rest
	}
}

// String returns the value at path as a string: strings as they are,
// numbers in their JSON spelling, booleans as "true"/"false", and "" for
// null, missing or nested values.
func (r Record) String(path string) string {
	v, _ := r.Get(path)
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// Bool returns the boolean at path, false when it is not a boolean.
func (r Record) Bool(path string) bool {
	v, _ := r.Get(path)
	b, _ := v.(bool)
	return b
}

// Time parses the date-time at path (Salesforce's
// "2011-07-07T00:37:00.000+0000"). It fails on null or missing values.
func (r Record) Time(path string) (time.Time, error) {
	s := r.String(path)
	if s == "" {
		return time.Time{}, fmt.Errorf("salesforce: field %s has no date-time", path)
	}
	return ParseTime(s)
}

// ID returns the record's Id field.
func (r Record) ID() string { return r.String("Id") }

// Type returns the sObject type from the record's attributes.
func (r Record) Type() string { return r.String("attributes.type") }

// Children returns the records of a child relationship subquery (e.g.
// "Cases"), or nil when it is null or absent.
func (r Record) Children(relationship string) []Record {
	v, _ := r.Get(relationship)
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	list, _ := m["records"].([]any)
	out := make([]Record, 0, len(list))
	for _, x := range list {
		if rec, ok := x.(map[string]any); ok {
			out = append(out, Record(rec))
		}
	}
	return out
}

// Salesforce date-time layouts: REST output uses "+0000" with milliseconds;
// input and SOQL accept ISO 8601 with "Z" or an offset.
var timeLayouts = []string{
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
	"2006-01-02",
}

// ParseTime parses a Salesforce date-time (or date) value.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("salesforce: bad date-time %q", s)
}

// SOQLTime formats t as an unquoted SOQL date-time literal in UTC, e.g.
// 2024-06-01T09:00:00.000Z (milliseconds kept, as SystemModstamp has them).
func SOQLTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// QuoteSOQL returns s as a quoted SOQL string literal, escaping backslash,
// quotes and control characters, so untrusted text can go into a WHERE
// clause.
func QuoteSOQL(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// EscapeSOSL escapes the SOSL reserved characters of a search term so
// untrusted text can go between the braces of FIND {...}.
func EscapeSOSL(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`?&|!{}[]()^~*:\"'+-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
