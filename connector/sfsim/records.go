package sfsim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The write path shared by the REST handlers, the collections, composite
// and the Go helpers. Callers hold the store's write lock.

// multipleMatches is the 300 answer of an upsert or external-id GET whose
// value matches several records: a JSON array of record URLs.
type multipleMatches struct{ urls []string }

func (m *multipleMatches) Error() string {
	return fmt.Sprintf("external id matches %d records", len(m.urls))
}

func newMultipleMatches(version string, o *object, recs []*record) *multipleMatches {
	m := &multipleMatches{urls: make([]string, len(recs))}
	for i, r := range recs {
		m.urls[i] = recordURL(version, o, r.id)
	}
	return m
}

func errEntityDeleted() *Error {
	return &Error{StatusCode: http.StatusNotFound, Code: "ENTITY_IS_DELETED", Message: "entity is deleted"}
}

// matchExternal returns the live records of o whose field f (an external
// id or idLookup field) equals value. For Id that is the record with that
// id, when value is a well-formed id of o; other fields go through the
// index, case-insensitively.
func (s *Server) matchExternal(o *object, f *field, value string) []*record {
	if f.Name != "Id" {
		return s.store.findBy(o, f, value)
	}
	id, ok := NormalizeID(value)
	if !ok {
		return nil
	}
	if r := s.store.table(o).byID[id]; r != nil && !r.deleted {
		return []*record{r}
	}
	return nil
}

// createRecord validates in and inserts a new record of o owned by the
// writer.
func (s *Server) createRecord(tx *txn, a actor, o *object, in *writeInput) (*record, error) {
	if !o.Createable {
		return nil, badRequest("INVALID_TYPE_FOR_OPERATION", "entity type cannot be inserted: "+o.Label)
	}
	if err := s.checkFieldAccess(a.userID, o, in.names, true); err != nil {
		return nil, err
	}
	userID := a.userID
	st := s.store
	vals := make(map[string]any, len(o.Fields))
	for _, name := range in.names {
		vals[name] = in.vals[name]
	}
	if err := s.checkWrite(o, vals, in); err != nil {
		return nil, err
	}
	now := st.stamp()
	id := st.ids.next(o.KeyPrefix)
	for _, f := range o.Fields {
		if _, set := vals[f.Name]; set && vals[f.Name] != nil {
			continue
		}
		switch {
		case f.AutoNumber:
			vals[f.Name] = st.nextAutoNumber(o, f)
		case f.Type == typeBoolean:
			if vals[f.Name] == nil {
				vals[f.Name] = false
			}
		case f.Type == typePicklist && f.DefaultedOnCreate:
			if _, given := in.vals[f.Name]; !given {
				if d, ok := f.defaultPicklist(); ok {
					vals[f.Name] = d
				}
			}
		}
	}
	vals["Id"] = id
	vals["IsDeleted"] = false
	vals["CreatedDate"] = now
	vals["CreatedById"] = userID
	if o.hasOwner && vals["OwnerId"] == nil {
		vals["OwnerId"] = userID
	}
	derive(o, vals, nil, now, userID)
	s.assign(a, o, vals)
	if err := s.checkRequired(o, vals); err != nil {
		return nil, err
	}
	if err := s.checkUnique(o, vals, in.names, nil); err != nil {
		return nil, err
	}
	if err := s.checkDuplicates(a, o, vals, nil); err != nil {
		return nil, err
	}
	r := &record{obj: o, id: id, vals: vals}
	st.insert(tx, r)
	return r, nil
}

// updateRecord validates in and applies it to r as the writer.
func (s *Server) updateRecord(tx *txn, a actor, r *record, in *writeInput) error {
	o := r.obj
	if !o.Updateable {
		return badRequest("INVALID_TYPE_FOR_OPERATION", "entity type cannot be updated: "+o.Label)
	}
	if r.deleted {
		return errEntityDeleted()
	}
	if err := s.checkFieldAccess(a.userID, o, in.names, false); err != nil {
		return err
	}
	if in.id != "" {
		if id, ok := NormalizeID(in.id); !ok || id != r.id {
			return badRequest("INVALID_ID_FIELD", "The Id field should not be specified in the sobject data.")
		}
	}
	vals := copyVals(r.vals)
	for _, name := range in.names {
		vals[name] = in.vals[name]
	}
	if err := s.checkWrite(o, vals, in); err != nil {
		return err
	}
	now := s.store.stamp()
	for _, name := range in.names {
		if f := o.field(name); f != nil && f.Type == typeBoolean && vals[name] == nil {
			vals[name] = false
		}
	}
	derive(o, vals, r.vals, now, a.userID)
	s.assign(a, o, vals)
	if err := s.checkRequired(o, vals); err != nil {
		return err
	}
	if err := s.checkUnique(o, vals, in.names, r); err != nil {
		return err
	}
	if err := s.checkDuplicates(a, o, vals, r); err != nil {
		return err
	}
	s.store.replace(tx, r, vals)
	return nil
}

// upsertRecord finds the record of o whose external id field f equals
// value: none creates one (with the value set), one updates it, several
// answer *multipleMatches.
func (s *Server) upsertRecord(tx *txn, a actor, version string, o *object, f *field, value string, in *writeInput) (*record, bool, error) {
	matches := s.matchExternal(o, f, value)
	if len(matches) == 0 && f.Name == "Id" {
		// Upsert by Id updates; it never creates.
		return nil, false, errNotFound()
	}
	switch len(matches) {
	case 0:
		if prev, ok := in.vals[f.Name]; ok && prev != nil && !strings.EqualFold(fmt.Sprint(prev), value) {
			return nil, false, badRequest("INVALID_FIELD",
				fmt.Sprintf("The value of the external ID field %s in the body (%v) does not match the value in the URL (%s)", f.Name, prev, value), f.Name)
		}
		in.set(f.Name, value)
		r, err := s.createRecord(tx, a, o, in)
		return r, true, err
	case 1:
		err := s.updateRecord(tx, a, matches[0], in)
		return matches[0], false, err
	}
	return nil, false, newMultipleMatches(version, o, matches)
}

// deleteRecord moves r to the recycle bin.
func (s *Server) deleteRecord(tx *txn, r *record) error {
	if !r.obj.Deletable {
		return badRequest("INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted: "+r.obj.Label)
	}
	if r.deleted {
		return errEntityDeleted()
	}
	s.store.softDelete(tx, r, s.store.stamp())
	return nil
}

// checkWrite validates values (length, picklists, e-mail, ids) and
// resolves references, all errors at once.
func (s *Server) checkWrite(o *object, vals map[string]any, in *writeInput) error {
	var errs Errors
	for _, name := range in.names {
		f := o.field(name)
		if ref, ok := in.refs[name]; ok {
			id, err := s.resolveExtRef(f, ref)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			vals[name] = id
			continue
		}
		v := vals[name]
		if err := checkValue(f, v); err != nil {
			errs = append(errs, err)
			continue
		}
		if (f.Type == typeReference || f.Type == typeID) && v != nil && v != "" {
			id, err := s.checkReference(o, f, v.(string))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			vals[name] = id
		}
		if v == "" {
			// Salesforce stores an empty string as null.
			vals[name] = nil
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// checkReference checks that id names a live record of a type the field
// may point at, and returns its 18-character form.
func (s *Server) checkReference(o *object, f *field, raw string) (string, *Error) {
	id, _ := NormalizeID(raw)
	if f.Type == typeID {
		return id, nil
	}
	target := s.schema.byPrefix[id[:3]]
	allowed := false
	if target != nil {
		for _, to := range f.ReferenceTo {
			if strings.EqualFold(to, target.Name) {
				allowed = true
			}
		}
	}
	if !allowed {
		return "", badRequest("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, raw), f.Name)
	}
	r := s.store.byID(id)
	if r == nil || r.deleted {
		return "", badRequest("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", f.Name)
	}
	if f.Name == "RecordTypeId" {
		if r.vals["SobjectType"] != o.Name || r.vals["IsActive"] != true {
			return "", badRequest("INVALID_CROSS_REFERENCE_KEY", "Record Type ID: this ID value isn't valid for the user: "+raw, f.Name)
		}
	}
	return id, nil
}

// resolveExtRef finds the record a relationship-by-external-id names.
func (s *Server) resolveExtRef(f *field, ref extRef) (string, *Error) {
	for _, to := range f.ReferenceTo {
		target := s.schema.object(to)
		if target == nil {
			continue
		}
		ext := target.field(ref.fieldName)
		if ext == nil || !(ext.ExternalID || ext.IDLookup) {
			return "", badRequest("INVALID_FIELD", fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", ref.fieldName, target.Name))
		}
		matches := s.matchExternal(target, ext, ref.value)
		switch len(matches) {
		case 0:
			return "", badRequest("INVALID_FIELD", fmt.Sprintf("Foreign key external ID: %s not found for field %s in entity %s", ref.value, ext.Name, target.Name))
		case 1:
			return matches[0].id, nil
		default:
			return "", badRequest("INVALID_FIELD", fmt.Sprintf("Foreign key external ID: %s matches more than one record for field %s in entity %s", ref.value, ext.Name, target.Name))
		}
	}
	return "", badRequest("INVALID_FIELD", "No such relationship target for "+f.RelationshipName)
}

// checkRequired answers REQUIRED_FIELD_MISSING listing every required field
// that is null.
func (s *Server) checkRequired(o *object, vals map[string]any) error {
	var missing []string
	for _, f := range o.Fields {
		if f.Createable && !f.Nillable && f.Type != typeBoolean {
			if v, ok := vals[f.Name]; !ok || v == nil || v == "" {
				if f.Type == typePicklist && f.Restricted {
					return badRequest("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
						fmt.Sprintf("%s: bad value for restricted picklist field: null", f.Label), f.Name)
				}
				missing = append(missing, f.Name)
			}
		}
	}
	if len(missing) > 0 {
		return badRequest("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...)
	}
	return nil
}

// checkUnique answers DUPLICATE_VALUE when a unique or external-id field
// written now already holds the value on another live record.
func (s *Server) checkUnique(o *object, vals map[string]any, names []string, self *record) error {
	for _, name := range names {
		f := o.field(name)
		if f == nil || !f.Unique {
			continue
		}
		v, ok := vals[name].(string)
		if !ok || v == "" {
			continue
		}
		for _, other := range s.store.findBy(o, f, v) {
			if other != self {
				e := badRequest("DUPLICATE_VALUE",
					fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", f.Name, other.id))
				e.Fields = []string{}
				return e
			}
		}
	}
	return nil
}

// derive sets the fields the server computes: audit fields, Case IsClosed
// and ClosedDate, and compound names.
func derive(o *object, vals, old map[string]any, now time.Time, userID string) {
	vals["LastModifiedDate"] = now
	vals["LastModifiedById"] = userID
	vals["SystemModstamp"] = now
	if status := o.field("Status"); status != nil && o.field("IsClosed") != nil {
		closed := false
		if v, ok := vals["Status"].(string); ok {
			if p, ok := status.picklistValue(v); ok {
				closed = p.closed
			}
		}
		wasClosed := old != nil && old["IsClosed"] == true
		vals["IsClosed"] = closed
		switch {
		case closed && !wasClosed:
			vals["ClosedDate"] = now
		case !closed:
			delete(vals, "ClosedDate")
		}
	}
	if name := o.field("Name"); name != nil && !name.Createable && !name.AutoNumber && o.field("LastName") != nil {
		first, _ := vals["FirstName"].(string)
		last, _ := vals["LastName"].(string)
		full := strings.TrimSpace(first + " " + last)
		if full == "" {
			delete(vals, "Name")
		} else {
			vals["Name"] = full
		}
	}
}

// recordURL is the versioned REST URL of a record.
func recordURL(version string, o *object, id string) string {
	return "/services/data/v" + version + "/sobjects/" + o.Name + "/" + id
}
