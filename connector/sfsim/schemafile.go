package sfsim

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SchemaExtension is a parsed --schema file (SPEC §8): objects and fields
// added over the default schema.
//
//	objects:
//	  Name__c:
//	    key_prefix: "a01"
//	    fields:
//	      Field__c: {type: string, length: 80, required: true, external_id: true,
//	                 unique: true, values: [A, B], restricted: true, reference_to: Case}
//
// Types: string textarea email picklist multipicklist boolean double date
// datetime reference id, and also phone url int currency percent.
type SchemaExtension struct {
	source  string
	objects []objectSpec
}

type objectSpec struct {
	name      string
	keyPrefix string
	label     string
	fields    []fieldSpec
	at        string
}

type fieldSpec struct {
	name        string
	typ         string
	length      int
	required    bool
	externalID  bool
	unique      bool
	values      []string
	restricted  bool
	referenceTo string
	label       string
	at          string
}

var (
	apiName      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	prefixFormat = regexp.MustCompile(`^[A-Za-z0-9]{3}$`)
)

var fieldTypes = map[string]bool{
	typeString: true, typeTextarea: true, typeEmail: true, typePicklist: true, typeMultipicklist: true,
	typeBoolean: true, typeDouble: true, typeDate: true, typeDateTime: true, typeReference: true, typeID: true,
	typePhone: true, typeURL: true, typeInt: true, typeCurrency: true, typePercent: true,
}

// LoadSchemaFile reads and parses a --schema file.
func LoadSchemaFile(path string) (*SchemaExtension, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sfsim: read schema: %w", err)
	}
	return ParseSchema(path, data)
}

// ParseSchema parses a --schema file. Every problem is reported, each as
// "FILE:LINE:COL: message".
func ParseSchema(filename string, data []byte) (*SchemaExtension, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	ext := &SchemaExtension{source: filename}
	var errs []error
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", filename, n.Line, n.Column) }
	fail := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", at(n), fmt.Sprintf(format, args...)))
	}
	if len(doc.Content) == 0 {
		return ext, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		fail(root, "the schema file must be a mapping with the key objects")
		return nil, errors.Join(errs...)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "objects" {
			fail(k, "unknown key %q (want objects)", k.Value)
			continue
		}
		if v.Kind != yaml.MappingNode {
			fail(v, "objects must be a mapping of object names")
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			on, ov := v.Content[j], v.Content[j+1]
			spec := objectSpec{name: on.Value, at: at(on)}
			if !apiName.MatchString(on.Value) {
				fail(on, "invalid object name %q", on.Value)
			}
			if ov.Kind != yaml.MappingNode {
				fail(ov, "object %s must be a mapping", on.Value)
				continue
			}
			for m := 0; m+1 < len(ov.Content); m += 2 {
				key, val := ov.Content[m], ov.Content[m+1]
				switch key.Value {
				case "key_prefix":
					spec.keyPrefix = val.Value
					if val.Kind != yaml.ScalarNode || !prefixFormat.MatchString(val.Value) {
						fail(val, "key_prefix must be 3 letters or digits, e.g. \"a01\"")
					}
				case "label":
					spec.label = val.Value
				case "fields":
					if val.Kind != yaml.MappingNode {
						fail(val, "fields must be a mapping of field names")
						continue
					}
					for f := 0; f+1 < len(val.Content); f += 2 {
						fs, ferrs := parseFieldSpec(val.Content[f], val.Content[f+1], at)
						errs = append(errs, ferrs...)
						spec.fields = append(spec.fields, fs)
					}
				default:
					fail(key, "unknown key %q in object %s (want key_prefix, label, fields)", key.Value, on.Value)
				}
			}
			ext.objects = append(ext.objects, spec)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ext, nil
}

func parseFieldSpec(kn, vn *yaml.Node, at func(*yaml.Node) string) (fieldSpec, []error) {
	var errs []error
	fail := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", at(n), fmt.Sprintf(format, args...)))
	}
	fs := fieldSpec{name: kn.Value, at: at(kn)}
	if !apiName.MatchString(kn.Value) {
		fail(kn, "invalid field name %q", kn.Value)
	}
	if vn.Kind != yaml.MappingNode {
		fail(vn, "field %s must be a mapping", kn.Value)
		return fs, errs
	}
	boolVal := func(n *yaml.Node) bool {
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			fail(n, "want true or false, got %q", n.Value)
		}
		return b
	}
	for i := 0; i+1 < len(vn.Content); i += 2 {
		key, val := vn.Content[i], vn.Content[i+1]
		switch key.Value {
		case "type":
			fs.typ = val.Value
			if !fieldTypes[val.Value] {
				fail(val, "unknown field type %q (want string, textarea, email, picklist, multipicklist, boolean, double, date, datetime, reference, id, phone, url, int, currency or percent)", val.Value)
			}
		case "length":
			n, err := strconv.Atoi(val.Value)
			if err != nil || n <= 0 || n > 131072 {
				fail(val, "length must be a positive integer up to 131072")
			}
			fs.length = n
		case "required":
			fs.required = boolVal(val)
		case "external_id":
			fs.externalID = boolVal(val)
		case "unique":
			fs.unique = boolVal(val)
		case "restricted":
			fs.restricted = boolVal(val)
		case "reference_to":
			fs.referenceTo = val.Value
		case "label":
			fs.label = val.Value
		case "values":
			if val.Kind != yaml.SequenceNode {
				fail(val, "values must be a list")
				continue
			}
			for _, item := range val.Content {
				if item.Kind != yaml.ScalarNode || item.Value == "" {
					fail(item, "picklist values must be non-empty strings")
					continue
				}
				fs.values = append(fs.values, item.Value)
			}
		default:
			fail(key, "unknown key %q in field %s (want type, length, required, external_id, unique, values, restricted, reference_to, label)", key.Value, kn.Value)
		}
	}
	switch {
	case fs.typ == "":
		fail(kn, "field %s needs a type", kn.Value)
	case (fs.typ == typePicklist || fs.typ == typeMultipicklist) && len(fs.values) == 0:
		fail(kn, "picklist field %s needs values", kn.Value)
	case fs.typ == typeReference && fs.referenceTo == "":
		fail(kn, "reference field %s needs reference_to", kn.Value)
	case fs.typ != typeReference && fs.referenceTo != "":
		fail(kn, "reference_to is only for reference fields")
	case fs.typ == typeString && fs.length > 255:
		fail(kn, "a string field holds at most 255 characters; use textarea")
	}
	return fs, errs
}

// labelOf turns an API name into a label: Care_Case_Id__c → Care Case Id.
func labelOf(name string) string {
	name = strings.TrimSuffix(name, "__c")
	return strings.ReplaceAll(name, "_", " ")
}

func (fs fieldSpec) build() *field {
	label := fs.label
	if label == "" {
		label = labelOf(fs.name)
	}
	var f *field
	switch fs.typ {
	case typePicklist, typeMultipicklist:
		f = picklistField(fs.name, label, fs.restricted, fs.values...)
		f.Type = fs.typ
		f.DefaultedOnCreate = false
		if fs.typ == typeMultipicklist {
			f.Length = 4099
		}
	case typeReference:
		rel := fs.name + "__r"
		switch {
		case strings.HasSuffix(fs.name, "__c"):
			rel = strings.TrimSuffix(fs.name, "__c") + "__r"
		case strings.HasSuffix(fs.name, "Id"):
			rel = strings.TrimSuffix(fs.name, "Id")
		}
		f = refField(fs.name, label, rel, fs.referenceTo)
	case typeID:
		f = textField(fs.name, label, 18)
		f.Type = typeID
	default:
		length := fs.length
		if length == 0 {
			switch fs.typ {
			case typeString, typeURL, typePhone:
				length = 255
				if fs.typ == typePhone {
					length = 40
				}
			case typeTextarea:
				length = 32768
			case typeEmail:
				length = 80
			}
		}
		f = typedField(fs.name, label, fs.typ, length)
	}
	if fs.length > 0 && f.isText() {
		f.Length = fs.length
	}
	f.Custom = strings.HasSuffix(fs.name, "__c")
	f.ExternalID = fs.externalID
	f.Unique = fs.unique
	f.IDLookup = fs.externalID || fs.unique
	if fs.required && f.Type != typeBoolean {
		f.Nillable = false
		f.DefaultedOnCreate = false
	}
	return f
}

// apply adds the extension to a schema.
func (ext *SchemaExtension) apply(s *schema) error {
	var errs []error
	nextPrefix := 'A'
	freePrefix := func() string {
		for ; nextPrefix <= 'Z'; nextPrefix++ {
			p := "a0" + string(nextPrefix)
			if s.byPrefix[p] == nil {
				nextPrefix++
				return p
			}
		}
		return ""
	}
	for _, spec := range ext.objects {
		o := s.object(spec.name)
		if o == nil {
			prefix := spec.keyPrefix
			if prefix == "" {
				if prefix = freePrefix(); prefix == "" {
					errs = append(errs, fmt.Errorf("%s: no free key prefix left in a0A..a0Z; give %s a key_prefix", spec.at, spec.name))
					continue
				}
			} else if other := s.byPrefix[prefix]; other != nil {
				errs = append(errs, fmt.Errorf("%s: key_prefix %s is already used by %s", spec.at, prefix, other.Name))
				continue
			}
			label := spec.label
			if label == "" {
				label = labelOf(spec.name)
			}
			format := strings.ToUpper(label[:1]) + "-{000000}"
			o = newObject(spec.name, label, label+"s", prefix, true, autoNumberField("Name", label+" Name", format, 80))
			o.Custom = strings.HasSuffix(spec.name, "__c")
			o.nameFields = []string{"Name"}
			s.add(o)
		} else if spec.keyPrefix != "" && spec.keyPrefix != o.KeyPrefix {
			errs = append(errs, fmt.Errorf("%s: %s already has key prefix %s", spec.at, o.Name, o.KeyPrefix))
			continue
		}
		for _, fs := range spec.fields {
			f := fs.build()
			if old := o.field(fs.name); old != nil {
				if old.system || old.Name == "Name" && old.AutoNumber {
					errs = append(errs, fmt.Errorf("%s: %s.%s is a system field and cannot be redefined", fs.at, o.Name, old.Name))
					continue
				}
				for i, existing := range o.Fields {
					if existing == old {
						o.Fields[i] = f
					}
				}
			} else {
				o.Fields = append(o.Fields, f)
			}
		}
		o.index()
	}
	for _, spec := range ext.objects {
		o := s.object(spec.name)
		if o == nil {
			continue
		}
		for _, fs := range spec.fields {
			if fs.typ == typeReference && s.object(fs.referenceTo) == nil {
				errs = append(errs, fmt.Errorf("%s: reference_to %s is not an object of the org", fs.at, fs.referenceTo))
			}
			if fs.typ == typeReference {
				if f := o.field(fs.name); f != nil && s.object(fs.referenceTo) != nil {
					f.ReferenceTo = []string{s.object(fs.referenceTo).Name}
				}
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s.link()
	return nil
}
