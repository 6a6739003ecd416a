package sfsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/carebridge/carebridge/connector/sfsim/soql"
)

// member is one key of a JSON object in a request body, with its raw value
// and the absolute offset of that value in the body (for error positions).
type member struct {
	key string
	raw json.RawMessage
	off int64
}

// body is a request body kept whole so errors can name line and column.
type body []byte

func (b body) at(off int64) string {
	line, col := lineCol(b, off)
	return fmt.Sprintf("[line:%d, column:%d]", line, col)
}

// rawSyntaxError re-reads raw (which starts at offset base of the body)
// with json.Unmarshal, whose error offsets are exact, and words the error.
func (b body) rawSyntaxError(raw []byte, base int64, err error) *Error {
	if uerr := json.Unmarshal(raw, new(any)); uerr != nil {
		return b.syntaxError(uerr, base)
	}
	return b.syntaxError(err, base)
}

// syntaxError words a JSON syntax error as Salesforce's (Jackson) parser does.
func (b body) syntaxError(err error, base int64) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// se.Offset counts from base, just past the offending byte.
		off := max(base+se.Offset-1, 0)
		if strings.Contains(se.Error(), "unexpected end") {
			return errJSON("Unexpected end-of-input: expected close marker at " + b.at(int64(len(b))))
		}
		if off < int64(len(b)) {
			c := b[off]
			return errJSON(fmt.Sprintf("Unexpected character ('%c' (code %d)): was expecting a valid value (number, String, array, object, 'true', 'false' or 'null') at %s", c, c, b.at(off)))
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errJSON("Unexpected end-of-input: expected close marker at " + b.at(int64(len(b))))
	}
	return errJSON(fmt.Sprintf("Unexpected input at %s: %v", b.at(base), err))
}

// errDeserialize words a JSON value of the wrong kind, raw at offset off of
// the body, where typ was expected, as Jackson does.
func (b body) errDeserialize(typ string, raw []byte, off int64) *Error {
	return errJSON(fmt.Sprintf("Cannot deserialize instance of %s from %s value %s or request may be missing a required field at %s",
		typ, tokenName(raw), firstToken(raw), b.at(off)))
}

func skipSpace(b []byte, i int64) int64 {
	for i < int64(len(b)) {
		switch b[i] {
		case ' ', '\t', '\r', '\n', ':', ',':
			i++
			continue
		}
		break
	}
	return i
}

// tokenName is Jackson's name for the JSON token that starts raw.
func tokenName(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "END"
	}
	switch raw[0] {
	case '{':
		return "START_OBJECT"
	case '[':
		return "START_ARRAY"
	case '"':
		return "VALUE_STRING"
	case 't':
		return "VALUE_TRUE"
	case 'f':
		return "VALUE_FALSE"
	case 'n':
		return "VALUE_NULL"
	}
	return "VALUE_NUMBER"
}

// decodeObject reads the JSON object raw (which starts at offset base of
// the whole body b) into its members, in order.
func (b body) decodeObject(raw []byte, base int64, what string) ([]member, *Error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, errJSON("The HTTP entity body is required, but this request has no entity body.")
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return nil, b.syntaxError(json.Unmarshal(trimmed, new(any)), base+int64(bytes.Index(raw, trimmed)))
		}
		return nil, b.errDeserialize(what, trimmed, base+int64(bytes.Index(raw, trimmed)))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, b.rawSyntaxError(raw, base, err)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, b.rawSyntaxError(raw, base, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errJSON("Unexpected token at " + b.at(base+dec.InputOffset()))
		}
		start := skipSpace(raw, dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, b.rawSyntaxError(raw, base, err)
		}
		out = append(out, member{key: key, raw: v, off: base + start})
	}
	if _, err := dec.Token(); err != nil {
		return nil, b.rawSyntaxError(raw, base, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errJSON("Unexpected character after the end of the object at " + b.at(base+dec.InputOffset()))
	}
	return out, nil
}

// decodeArray reads a JSON array into raw elements with their offsets.
func (b body) decodeArray(raw []byte, base int64, what string) ([]member, *Error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, b.errDeserialize(what, trimmed, base)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, b.rawSyntaxError(raw, base, err)
	}
	var out []member
	for dec.More() {
		start := skipSpace(raw, dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, b.rawSyntaxError(raw, base, err)
		}
		out = append(out, member{raw: v, off: base + start})
	}
	if _, err := dec.Token(); err != nil {
		return nil, b.rawSyntaxError(raw, base, err)
	}
	return out, nil
}

func firstToken(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{', '[':
		return string(raw[:1])
	}
	var v any
	if json.Unmarshal(raw, &v) == nil {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return string(raw)
}

// writeInput is a write body checked against the schema: canonical field
// names and converted values (nil clears a field).
type writeInput struct {
	names []string
	vals  map[string]any
	// refs are relationship references by external id, resolved against
	// the store later: field name → (target object, ext field, value).
	refs map[string]extRef
	// id is the Id carried in the body (collections update), if any.
	id string
}

type extRef struct {
	fieldName string
	value     string
}

func (in *writeInput) set(name string, v any) {
	if _, dup := in.vals[name]; !dup {
		in.names = append(in.names, name)
	}
	in.vals[name] = v
}

// parseInput checks the members of a write body: unknown fields
// (INVALID_FIELD), values of the wrong JSON type (JSON_PARSER_ERROR) and
// fields that cannot be written (INVALID_FIELD_FOR_INSERT_UPDATE).
// allowID lets an Id through (collections update, upsert by Id).
func (b body) parseInput(o *object, members []member, create, allowID bool) (*writeInput, *Error) {
	switch {
	case create && !o.Createable:
		return nil, badRequest("INVALID_TYPE_FOR_OPERATION", "entity type cannot be inserted: "+o.Label)
	case !create && !o.Updateable:
		return nil, badRequest("INVALID_TYPE_FOR_OPERATION", "entity type cannot be updated: "+o.Label)
	}
	in := &writeInput{vals: map[string]any{}}
	var readOnlyFields []string
	for _, m := range members {
		if m.key == "attributes" {
			continue
		}
		f := o.field(m.key)
		if f == nil {
			rel := o.relationship(m.key)
			if rel != nil && bytes.HasPrefix(bytes.TrimSpace(m.raw), []byte("{")) {
				ref, err := b.parseExtRef(rel, m)
				if err != nil {
					return nil, err
				}
				if !writable(rel, create) {
					readOnlyFields = append(readOnlyFields, rel.Name)
					continue
				}
				if in.refs == nil {
					in.refs = map[string]extRef{}
				}
				in.refs[rel.Name] = ref
				in.set(rel.Name, nil)
				continue
			}
			return nil, errUnknownField(m.key, o.Name)
		}
		v, err := b.convert(f, m)
		if err != nil {
			return nil, err
		}
		if f.Name == "Id" {
			if allowID {
				s, _ := v.(string)
				in.id = s
				continue
			}
			if create {
				return nil, badRequest("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", "Id")
			}
			// An Id in a PATCH body is ignored when it names the same record
			// (the caller checks).
			s, _ := v.(string)
			in.id = s
			continue
		}
		if !writable(f, create) {
			readOnlyFields = append(readOnlyFields, f.Name)
			continue
		}
		in.set(f.Name, v)
	}
	if len(readOnlyFields) > 0 {
		return nil, errNotWritable(readOnlyFields)
	}
	return in, nil
}

func writable(f *field, create bool) bool {
	if create {
		return f.Createable
	}
	return f.Updateable
}

// parseExtRef reads {"attributes":{...},"Ext__c":"value"} given for a
// relationship (e.g. "Contact") in a write body.
func (b body) parseExtRef(rel *field, m member) (extRef, *Error) {
	members, err := b.decodeObject(m.raw, m.off, rel.RelationshipName)
	if err != nil {
		return extRef{}, err
	}
	var ref extRef
	for _, mm := range members {
		if mm.key == "attributes" {
			continue
		}
		if ref.fieldName != "" {
			return extRef{}, badRequest("INVALID_FIELD", "More than one field provided in an external foreign key reference in entity: "+rel.RelationshipName)
		}
		ref.fieldName = mm.key
		var s any
		if err := json.Unmarshal(mm.raw, &s); err != nil {
			return extRef{}, b.syntaxError(err, mm.off)
		}
		str, ok := s.(string)
		if !ok {
			if n, isNum := s.(float64); isNum {
				str = strconv.FormatFloat(n, 'f', -1, 64)
			} else {
				return extRef{}, b.errDeserialize("string", mm.raw, mm.off)
			}
		}
		ref.value = str
	}
	if ref.fieldName == "" {
		return extRef{}, badRequest("INVALID_FIELD", "No external ID field provided in an external foreign key reference in entity: "+rel.RelationshipName)
	}
	return ref, nil
}

// convert turns one JSON value into the stored value for field f.
func (b body) convert(f *field, m member) (any, *Error) {
	dec := json.NewDecoder(bytes.NewReader(m.raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, b.rawSyntaxError(m.raw, m.off, err)
	}
	bad := func(typ string) *Error { return b.errDeserialize(typ, m.raw, m.off) }
	if v == nil {
		if f.Type == typeBoolean {
			return false, nil
		}
		return nil, nil
	}
	switch v.(type) {
	case map[string]any, []any:
		return nil, bad(jsonTypeName(f))
	}
	return convertValue(f, v, bad)
}

// convertValue converts a decoded JSON value (string, json.Number, float64,
// bool) for field f; bad builds the error for a value of the wrong type.
func convertValue(f *field, v any, bad func(string) *Error) (any, *Error) {
	switch f.Type {
	case typeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(x) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, bad("boolean")
	case typeDouble, typeCurrency, typePercent, typeInt:
		var fv float64
		switch x := v.(type) {
		case json.Number:
			n, err := x.Float64()
			if err != nil {
				return nil, bad(jsonTypeName(f))
			}
			fv = n
		case float64:
			fv = x
		case int:
			fv = float64(x)
		case int64:
			fv = float64(x)
		case string:
			n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, bad(jsonTypeName(f))
			}
			fv = n
		default:
			return nil, bad(jsonTypeName(f))
		}
		if math.IsNaN(fv) || math.IsInf(fv, 0) {
			return nil, bad(jsonTypeName(f))
		}
		if f.Type == typeInt {
			if fv != math.Trunc(fv) || math.Abs(fv) > math.MaxInt32 {
				return nil, bad("int")
			}
			return int64(fv), nil
		}
		return fv, nil
	case typeDate:
		s, ok := v.(string)
		if !ok {
			return nil, bad("date")
		}
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t.Format("2006-01-02"), nil
		}
		if t, err := parseInputTime(s); err == nil {
			return t.Format("2006-01-02"), nil
		}
		return nil, bad("date")
	case typeDateTime:
		switch x := v.(type) {
		case string:
			t, err := parseInputTime(x)
			if err != nil {
				return nil, bad("datetime")
			}
			return t, nil
		case json.Number:
			ms, err := x.Int64()
			if err != nil {
				return nil, bad("datetime")
			}
			return time.UnixMilli(ms).UTC(), nil
		case time.Time:
			return x.UTC().Truncate(time.Millisecond), nil
		}
		return nil, bad("datetime")
	default: // text, picklists, ids, references
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		case bool:
			return strconv.FormatBool(x), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return nil, bad("string")
	}
}

func jsonTypeName(f *field) string {
	switch f.Type {
	case typeBoolean:
		return "boolean"
	case typeDouble, typeCurrency, typePercent:
		return "double"
	case typeInt:
		return "int"
	case typeDate:
		return "date"
	case typeDateTime:
		return "datetime"
	}
	return "string"
}

// parseInputTime accepts the date-time forms the REST API takes: ISO 8601
// with Z or an offset, with or without milliseconds; a bare date-time or date
// is read as UTC.
func parseInputTime(s string) (time.Time, error) {
	if t, err := soql.ParseDateTime(s); err == nil {
		return t.Truncate(time.Millisecond), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date-time %q", s)
}

var emailPattern = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

// textLength counts as Salesforce does: in UTF-16 code units (Java string
// length), so a character outside the BMP, such as most emoji, counts two.
func textLength(s string) int {
	n := 0
	for _, r := range s {
		// Ranging over a string never yields a surrogate (invalid bytes
		// come back as U+FFFD), so RuneLen is 1 or 2.
		n += utf16.RuneLen(r)
	}
	return n
}

// clip shortens s to at most n bytes, on a character boundary, marking
// the cut with "...".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// checkValue validates one converted value against its field: length,
// picklists, e-mail syntax and id syntax. Reference targets are checked
// against the store separately.
func checkValue(f *field, v any) *Error {
	s, isString := v.(string)
	if !isString {
		return nil
	}
	switch f.Type {
	case typeString, typeTextarea, typeEmail, typePhone, typeURL, typePicklist, typeMultipicklist:
		if f.Length > 0 && textLength(s) > f.Length {
			return badRequest("STRING_TOO_LONG",
				fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Label, clip(s, 1000), f.Length), f.Name)
		}
	}
	switch f.Type {
	case typeEmail:
		if s != "" && !emailPattern.MatchString(s) {
			return badRequest("INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", f.Label, s), f.Name)
		}
	case typePicklist:
		if f.Restricted && s != "" {
			if p, ok := f.picklistValue(s); !ok || !p.Active {
				return badRequest("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
					fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, s), f.Name)
			}
		}
	case typeMultipicklist:
		if f.Restricted {
			for _, part := range strings.Split(s, ";") {
				if p, ok := f.picklistValue(part); part != "" && (!ok || !p.Active) {
					return badRequest("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
						fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, part), f.Name)
				}
			}
		}
	case typeReference, typeID:
		if s == "" {
			return nil
		}
		if _, ok := NormalizeID(s); !ok {
			return badRequest("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, s), f.Name)
		}
	}
	return nil
}
