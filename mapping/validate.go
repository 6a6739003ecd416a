package mapping

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/config/yamlsafe"
	orgkit "github.com/carebridge/carebridge/deploy/salesforce"
)

// ValidateOnline checks m against the org's describe: objects and fields
// exist, fields are createable (and updateable where records are upserted
// or updated), restricted picklist values exist and are active (for the
// record type when one is set), the record type exists, external id fields
// are external ids, required fields are mapped, status values are in the
// status picklist and the message parent field references the case object.
// It returns the problems sorted; the error is for a describe that failed
// for another reason than a missing object.
func ValidateOnline(ctx context.Context, m *Mapping, d Describer) ([]Problem, error) {
	o := &online{ctx: ctx, d: d, problems: problems{file: m.File}, cache: map[string]*ObjectInfo{}, caseObject: "Case"}
	if m.Case != nil && m.Case.Object != "" {
		o.caseObject = m.Case.Object
	}
	if err := o.run(m); err != nil {
		return nil, err
	}
	return sortProblems(o.list), nil
}

type online struct {
	problems
	ctx   context.Context
	d     Describer
	cache map[string]*ObjectInfo // nil value: no such object
	// caseObject is the Salesforce object Care cases become.
	caseObject string
}

// describe returns the object's describe, or nil (with a problem at at)
// when the org has no such object.
func (o *online) describe(name string, at Pos, what string) (*ObjectInfo, error) {
	if info, ok := o.cache[name]; ok {
		if info == nil {
			o.add(at, "%s: Salesforce has no object %q", what, name)
			o.advise(kitObject(name))
		}
		return info, nil
	}
	info, err := o.d.Describe(o.ctx, name)
	switch {
	case errors.Is(err, ErrObjectNotFound):
		o.cache[name] = nil
		o.add(at, "%s: Salesforce has no object %q", what, name)
		o.advise(kitObject(name))
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("describe %s: %w", name, err)
	}
	o.cache[name] = info
	return info, nil
}

func (o *online) run(m *Mapping) error {
	for _, sec := range []*ObjectMapping{m.Contact, m.Case, m.Lead} {
		if sec == nil || sec.Object == "" {
			continue
		}
		if err := o.object(sec, nil); err != nil {
			return err
		}
	}
	if mm := m.Messages; mm != nil && mm.Mode == MessagesContinuous && mm.Object != "" {
		if err := o.object(&mm.ObjectMapping, mm); err != nil {
			return err
		}
	}
	if s := m.Status; s.Enabled() && s.SalesforceField != "" {
		info, err := o.describe(o.caseObject, s.SalesforceFieldPos, "status.salesforce_field")
		if err != nil || info == nil {
			return err
		}
		var rt *RecordType
		if m.Case != nil && m.Case.RecordType != "" {
			if r, ok := info.RecordType(m.Case.RecordType); ok {
				rt = &r
			}
		}
		o.status(s, info, rt)
	}
	return nil
}

// object checks one record section; mm is set for the messages section.
func (o *online) object(sec *ObjectMapping, mm *MessagesMapping) error {
	name := string(sec.Section)
	info, err := o.describe(sec.Object, sec.ObjectPos, name+".object")
	if err != nil || info == nil {
		return err
	}
	var rt *RecordType
	if sec.RecordType != "" {
		r, ok := info.RecordType(sec.RecordType)
		switch {
		case !ok:
			var names []string
			for _, r := range info.RecordTypes {
				names = append(names, r.DeveloperName)
			}
			o.add(sec.RecordTypePos, "%s.record_type: %s has no record type %q%s", name, sec.Object, sec.RecordType, suggest(sec.RecordType, names))
		case !r.Active:
			o.add(sec.RecordTypePos, "%s.record_type: record type %q of %s is inactive", name, sec.RecordType, sec.Object)
			rt = &r
		default:
			rt = &r
		}
	}
	upsert := sec.Upsert()
	if sec.ExternalIDField != "" {
		if f, ok := o.field(info, sec.ExternalIDField, sec.ExternalIDPos, name+".external_id_field"); ok && !f.ExternalID {
			o.add(sec.ExternalIDPos, "%s.external_id_field: %s.%s is not an external id field", name, sec.Object, f.Name)
		} else if ok && mm != nil {
			o.writable(f, sec, sec.ExternalIDPos, name+".external_id_field", upsert)
		}
	}
	covered := slices.Clone(sec.named)
	if mm != nil && mm.ParentField != "" {
		covered = append(covered, mm.ParentField, mm.ExternalIDField)
		if f, ok := o.field(info, mm.ParentField, mm.ParentPos, name+".parent_field"); ok {
			if f.Type != "reference" || !slices.ContainsFunc(f.ReferenceTo, func(s string) bool { return strings.EqualFold(s, o.caseObject) }) {
				o.add(mm.ParentPos, "%s.parent_field: %s.%s does not reference %s", name, sec.Object, f.Name, o.caseObject)
			}
			o.writable(f, sec, mm.ParentPos, name+".parent_field", upsert)
		}
	}
	if sec.RecordType != "" {
		covered = append(covered, "RecordTypeId")
	}
	for _, fm := range sec.Fields {
		what := name + "." + fm.Name
		f, ok := o.field(info, fm.Name, fm.Pos, what)
		if !ok {
			continue
		}
		o.writable(f, sec, fm.Pos, what, upsert)
		o.fieldValue(fm, f, rt, what)
	}
	for _, name := range sec.Overridable {
		at, listed := sec.overridableAt[name]
		if !listed {
			continue // mapped: checked above
		}
		if f, ok := o.field(info, name, at, string(sec.Section)+".overridable"); ok && !f.Createable {
			o.add(at, "%s.overridable: %s.%s is not createable", string(sec.Section), sec.Object, f.Name)
		}
	}
	var missing []string
	for _, f := range info.Fields {
		if f.Createable && !f.Nillable && !f.DefaultedOnCreate && !slices.ContainsFunc(covered, func(s string) bool { return strings.EqualFold(s, f.Name) }) {
			missing = append(missing, f.Name)
		}
	}
	slices.Sort(missing)
	for _, f := range missing {
		at := sec.FieldsPos
		if at.Line == 0 {
			at = sec.Pos
		}
		o.add(at, "%s: required field %s.%s is not mapped", name, sec.Object, f)
	}
	return nil
}

// field looks a field up, reporting a missing one with a suggestion.
func (o *online) field(info *ObjectInfo, name string, at Pos, what string) (FieldInfo, bool) {
	f, ok := info.Field(name)
	if !ok {
		if file, inKit := orgkit.Field(info.Name, name); inKit {
			o.add(at, "%s: %s.%s does not exist in the org", what, info.Name, name)
			o.advise(": " + orgkit.Where(file))
		} else {
			o.add(at, "%s: %s has no field %q%s", what, info.Name, name, suggest(name, info.fieldNames()))
		}
	}
	return f, ok
}

// advise appends advice of our own (never text from the file, so it is not
// clipped like the file's names) to the problem just added.
func (o *online) advise(advice string) {
	if advice == "" || len(o.list) == 0 {
		return
	}
	last := &o.list[len(o.list)-1]
	last.Message = yamlsafe.ClipLine(last.Message + advice)
}

// kitObject is the advice for an object the org lacks that the org setup
// kit adds.
func kitObject(name string) string {
	if file, ok := orgkit.Object(name); ok {
		return ": " + orgkit.Where(file)
	}
	return ""
}

// kitRights is the advice for a kit field the token's user may not write:
// the kit's permission set grants it.
func kitRights(object, field string) string {
	if _, ok := orgkit.Field(object, field); ok {
		return "; assign the permission set " + orgkit.PermissionSet + " (" + orgkit.Dir + "/" + orgkit.PermissionSetFile + ")"
	}
	return ""
}

// writable reports a field records cannot set: every record is created;
// upserted records may also be updated.
func (o *online) writable(f FieldInfo, sec *ObjectMapping, at Pos, what string, upsert bool) {
	if !f.Createable {
		o.add(at, "%s: %s.%s is not createable", what, sec.Object, f.Name)
		o.advise(kitRights(sec.Object, f.Name))
	}
	if upsert && !f.Updateable {
		o.add(at, "%s: %s.%s is not updateable, and records are upserted by %s", what, sec.Object, f.Name, sec.ExternalIDField)
		o.advise(kitRights(sec.Object, f.Name))
	}
}

// fieldValue checks that a field's value fits its type and picklist.
func (o *online) fieldValue(fm FieldMapping, f FieldInfo, rt *RecordType, what string) {
	v := fm.Value
	switch v.Form {
	case FormConst:
		o.constant(v.Const.value(), v.Const.Pos, f, rt, what)
	case FormTemplate:
		if s, ok := v.Template.constant(); ok {
			o.constant(text(s), v.Template.Pos, f, rt, what)
		}
	case FormFrom:
		if len(v.Map) > 0 {
			for _, e := range v.Map {
				o.constant(e.Value.value(), e.Value.Pos, f, rt, what+".map."+e.Key)
			}
		} else {
			o.source(v.From, f, rt, what)
		}
	}
	if v.Default != nil {
		if s, ok := v.Default.constant(); ok && s != "" {
			o.constant(text(s), v.Default.Pos, f, rt, what+".default")
		}
	}
}

// constant checks a constant against the field's type and picklist.
func (o *online) constant(c value, at Pos, f FieldInfo, rt *RecordType, what string) {
	if c.empty() {
		return
	}
	if _, err := convert(c, &f); err != nil {
		o.add(at, "%s: %q does not fit %s field %s", what, c.String(), f.Type, f.Name)
		return
	}
	o.picklistValue(c.String(), at, f, rt, what, false)
}

// picklistValue checks that a value exists and is active in a restricted
// picklist (any picklist when strict).
func (o *online) picklistValue(val string, at Pos, f FieldInfo, rt *RecordType, what string, strict bool) {
	if !picklistType(f.Type) || !(f.Restricted || strict) {
		return
	}
	vals := picklistFor(f, rt)
	parts := []string{val}
	if f.Type == "multipicklist" {
		parts = strings.Split(val, ";")
	}
	var names []string
	for _, pv := range vals {
		names = append(names, pv.Value)
	}
	forRT := ""
	if rt != nil {
		if _, ok := rt.Picklists[f.Name]; ok {
			forRT = fmt.Sprintf(" for record type %s", rt.DeveloperName)
		}
	}
	for _, part := range parts {
		i := slices.IndexFunc(vals, func(pv PicklistValue) bool { return pv.Value == part })
		switch {
		case i < 0:
			o.add(at, "%s: %q is not a value of picklist %s%s%s", what, part, f.Name, forRT, suggest(part, names))
		case !vals[i].Active:
			o.add(at, "%s: %q is inactive in picklist %s%s", what, part, f.Name, forRT)
		}
	}
}

// source checks a source path (without a map) against the field's type,
// and an enumerable source against a restricted picklist.
func (o *online) source(sp *SourcePath, f FieldInfo, rt *RecordType, what string) {
	if sp == nil {
		return
	}
	k := sp.def.kind
	custom := strings.HasPrefix(sp.Name, fieldPrefix)
	ok := true
	switch f.Type {
	case "boolean":
		ok = custom
	case "int", "double", "currency", "percent":
		ok = custom || k == kindInt
	case "date", "datetime":
		ok = custom || k == kindTime
	}
	if !ok {
		o.add(sp.Pos, "%s: %s gives %s, which does not fit %s field %s", what, sp.Name, kindName(k), f.Type, f.Name)
		return
	}
	if sp.def.enum == nil || !picklistType(f.Type) || !f.Restricted {
		return
	}
	vals := picklistFor(f, rt)
	var missing []string
	for _, e := range sp.def.enum {
		if !slices.ContainsFunc(vals, func(pv PicklistValue) bool { return pv.Value == e && pv.Active }) {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		o.add(sp.Pos, "%s: restricted picklist %s has no active value %s for %s (add a map)", what, f.Name, strings.Join(missing, ", "), sp.Name)
	}
}

// status checks the status field and its values.
func (o *online) status(s *StatusMapping, info *ObjectInfo, rt *RecordType) {
	f, ok := o.field(info, s.SalesforceField, s.SalesforceFieldPos, "status.salesforce_field")
	if !ok {
		return
	}
	if !f.Updateable {
		o.add(s.SalesforceFieldPos, "status.salesforce_field: %s.%s is not updateable", info.Name, f.Name)
	}
	for _, e := range s.ToEntries {
		o.statusValue(e.Value, e.ValuePos, f, rt, "status.to_salesforce."+e.Key)
	}
	for i, r := range s.Conditions {
		o.statusValue(r.Set, r.SetPos, f, rt, fmt.Sprintf("status.conditions[%d].set", i))
	}
	if !picklistType(f.Type) {
		return
	}
	vals := picklistFor(f, rt)
	var names []string
	for _, pv := range vals {
		names = append(names, pv.Value)
	}
	for _, e := range s.FromEntries {
		if !slices.Contains(names, e.Key) {
			o.add(e.KeyPos, "status.from_salesforce: %q is not a value of picklist %s%s", e.Key, f.Name, suggest(e.Key, names))
		}
	}
}

func (o *online) statusValue(val string, at Pos, f FieldInfo, rt *RecordType, what string) {
	if _, err := convert(text(val), &f); err != nil {
		o.add(at, "%s: %q does not fit %s field %s", what, val, f.Type, f.Name)
		return
	}
	o.picklistValue(val, at, f, rt, what, true)
}
