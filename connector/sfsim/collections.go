package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// sObject Collections (/composite/sobjects): up to 200 records in one
// call. It runs under the store's write lock held by handle, with a txn so
// that allOrNone can roll back.

const (
	maxCollectionRecords = 200
	maxCollectionChunks  = 10
)

func errTooManyRecords() *Error {
	return badRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
}

func rolledBack() jobj {
	return jobj{{"success", false}, {"errors", []jobj{{
		{"statusCode", "ALL_OR_NONE_OPERATION_ROLLED_BACK"},
		{"message", "Record rolled back because not all records were valid and the request was using AllOrNone header"},
		{"fields", []string{}},
	}}}}
}

// recordResult is one element of a collections answer.
type recordResult struct {
	id      string
	created *bool
	err     error
}

func (rr recordResult) json() jobj {
	if rr.err == nil {
		o := jobj{{"id", rr.id}, {"success", true}, {"errors", []any{}}}
		if rr.created != nil {
			o = append(o, kv{"created", *rr.created})
		}
		return o
	}
	var errs []jobj
	switch e := rr.err.(type) {
	case *Error:
		errs = []jobj{e.recordError()}
	case Errors:
		for _, x := range e {
			errs = append(errs, x.recordError())
		}
	case *multipleMatches:
		errs = []jobj{badRequest("DUPLICATE_EXTERNAL_ID", fmt.Sprintf("The external ID value matches %d records", len(e.urls))).recordError()}
	default:
		errs = []jobj{{{"statusCode", "UNKNOWN_EXCEPTION"}, {"message", e.Error()}, {"fields", []string{}}}}
	}
	o := jobj{}
	if rr.id != "" {
		o = append(o, kv{"id", rr.id})
	}
	return append(o, kv{"success", false}, kv{"errors", errs})
}

// collectionBody is the decoded {"allOrNone":..,"records":[..]}.
type collectionBody struct {
	allOrNone bool
	records   [][]member
}

func (b body) decodeCollection() (*collectionBody, *Error) {
	members, err := b.decodeObject(b, 0, "SObjectCollection")
	if err != nil {
		return nil, err
	}
	out := &collectionBody{}
	seenRecords := false
	for _, m := range members {
		switch m.key {
		case "allOrNone":
			if err := json.Unmarshal(m.raw, &out.allOrNone); err != nil {
				return nil, b.errDeserialize("boolean", m.raw, m.off)
			}
		case "records":
			seenRecords = true
			elems, err := b.decodeArray(m.raw, m.off, "records")
			if err != nil {
				return nil, err
			}
			if len(elems) > maxCollectionRecords {
				return nil, errTooManyRecords()
			}
			for _, el := range elems {
				rec, err := b.decodeObject(el.raw, el.off, "SObject")
				if err != nil {
					return nil, err
				}
				out.records = append(out.records, rec)
			}
		default:
			return nil, errJSON(fmt.Sprintf("Unrecognized field \"%s\" at %s", m.key, b.at(m.off)))
		}
	}
	if !seenRecords {
		return nil, errJSON("The HTTP entity body is required, but this request has no entity body.")
	}
	return out, nil
}

// recordType reads attributes.type of a collection record.
func recordType(rec []member) string {
	for _, m := range rec {
		if m.key == "attributes" {
			var a struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(m.raw, &a) == nil {
				return a.Type
			}
		}
	}
	return ""
}

func (s *Server) handleCollections(c *call) *response {
	segs := c.segs
	switch {
	case len(segs) == 2 && c.method == http.MethodPost:
		return s.collectionWrite(c, "create", nil, nil)
	case len(segs) == 2 && c.method == http.MethodPatch:
		return s.collectionWrite(c, "update", nil, nil)
	case len(segs) == 2 && c.method == http.MethodDelete:
		return s.collectionDelete(c)
	case len(segs) == 3 && (c.method == http.MethodGet || c.method == http.MethodPost):
		return s.collectionRetrieve(c, segs[2])
	case len(segs) == 4 && c.method == http.MethodPatch:
		o := s.schema.object(segs[2])
		if o == nil {
			return errResp(errNotFound())
		}
		f := o.field(segs[3])
		if f == nil || !(f.ExternalID || f.IDLookup) {
			return errResp(errBadExternalIDField(segs[3]))
		}
		return s.collectionWrite(c, "upsert", o, f)
	case len(segs) <= 4:
		return errResp(errMethodNotAllowed(c.method, "GET,POST,PATCH,DELETE"))
	}
	return errResp(errNotFound())
}

// collectionWrite runs create, update or upsert over up to 200 records.
func (s *Server) collectionWrite(c *call, op string, upsertObj *object, extField *field) *response {
	cb, err := c.body.decodeCollection()
	if err != nil {
		return errResp(err)
	}
	// Mixed types are processed in chunks by type change, at most 10.
	chunks, last := 0, ""
	for _, rec := range cb.records {
		if t := recordType(rec); t != last || chunks == 0 {
			chunks++
			last = t
		}
	}
	if chunks > maxCollectionChunks {
		return errResp(badRequest("INVALID_BATCH_REQUEST", "Number of chunks exceeded the limit of 10 chunks per request"))
	}
	results := make([]recordResult, len(cb.records))
	if c.lockRows {
		return lockedResults(len(cb.records))
	}
	start := c.tx.mark()
	seenExt := map[string]int{}
	if op == "upsert" {
		// The same external id twice in one call fails both records.
		for _, rec := range cb.records {
			if v := extValue(rec, extField); v != "" {
				seenExt[strings.ToLower(v)]++
			}
		}
	}
	failed := false
	for i, rec := range cb.records {
		mark := c.tx.mark()
		rr := s.collectionRecord(c, op, rec, upsertObj, extField, seenExt)
		if rr.err != nil {
			c.tx.rollback(mark)
			failed = true
		}
		results[i] = rr
	}
	return collectionAnswer(c.tx, start, results, failed && cb.allOrNone)
}

func extValue(rec []member, f *field) string {
	for _, m := range rec {
		if strings.EqualFold(m.key, f.Name) {
			var v any
			if json.Unmarshal(m.raw, &v) == nil {
				switch x := v.(type) {
				case string:
					return x
				case float64:
					return strconv.FormatFloat(x, 'f', -1, 64)
				}
			}
		}
	}
	return ""
}

func (s *Server) collectionRecord(c *call, op string, rec []member, upsertObj *object, extField *field, seenExt map[string]int) recordResult {
	typ := recordType(rec)
	var o *object
	switch {
	case op == "upsert":
		o = upsertObj
		if typ != "" && !strings.EqualFold(typ, o.Name) {
			return recordResult{err: badRequest("INVALID_TYPE", fmt.Sprintf("Record type %s does not match the sObject %s in the URL", typ, o.Name))}
		}
	case typ == "":
		return recordResult{err: badRequest("INVALID_TYPE", "Must send a concrete entity type.")}
	default:
		o = s.schema.object(typ)
		if o == nil {
			return recordResult{err: errInvalidType(typ)}
		}
	}
	switch op {
	case "create":
		in, err := c.body.parseInput(o, rec, true, false)
		if err != nil {
			return recordResult{err: err}
		}
		r, cerr := s.createRecord(c.tx, c.actor(), o, in)
		if cerr != nil {
			return recordResult{err: cerr}
		}
		return recordResult{id: r.id}
	case "update":
		in, err := c.body.parseInput(o, rec, false, true)
		if err != nil {
			return recordResult{err: err}
		}
		if in.id == "" {
			return recordResult{err: badRequest("MISSING_ARGUMENT", "Id not specified in an update call", "Id")}
		}
		id, ok := NormalizeID(in.id)
		if !ok {
			return recordResult{err: badRequest("MALFORMED_ID", "malformed id "+in.id, "Id")}
		}
		r := s.store.byID(id)
		if r == nil || r.obj != o {
			return recordResult{id: id, err: badRequest("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")}
		}
		in.id = ""
		if err := s.updateRecord(c.tx, c.actor(), r, in); err != nil {
			return recordResult{id: id, err: err}
		}
		return recordResult{id: id}
	}
	// upsert
	value := extValue(rec, extField)
	if value == "" {
		return recordResult{err: badRequest("MISSING_ARGUMENT", extField.Name+" not specified", extField.Name)}
	}
	if seenExt[strings.ToLower(value)] > 1 {
		return recordResult{err: badRequest("DUPLICATE_EXTERNAL_ID", "Duplicate external id specified: "+value, extField.Name)}
	}
	in, err := c.body.parseInput(o, rec, true, extField.Name == "Id")
	if err != nil {
		return recordResult{err: err}
	}
	r, created, uerr := s.upsertRecord(c.tx, c.actor(), c.version, o, extField, value, in)
	if uerr != nil {
		return recordResult{err: uerr}
	}
	return recordResult{id: r.id, created: &created}
}

func (s *Server) collectionDelete(c *call) *response {
	raw := c.query.Get("ids")
	if raw == "" {
		return errResp(badRequest("MISSING_ARGUMENT", "ids parameter is required"))
	}
	ids := strings.Split(raw, ",")
	if len(ids) > maxCollectionRecords {
		return errResp(errTooManyRecords())
	}
	allOrNone := strings.EqualFold(c.query.Get("allOrNone"), "true")
	if c.lockRows {
		return lockedResults(len(ids))
	}
	start := c.tx.mark()
	results := make([]recordResult, len(ids))
	failed := false
	for i, raw := range ids {
		id, ok := NormalizeID(strings.TrimSpace(raw))
		switch {
		case !ok:
			results[i] = recordResult{err: badRequest("MALFORMED_ID", "malformed id "+raw)}
		default:
			r := s.store.byID(id)
			if r == nil {
				results[i] = recordResult{id: id, err: badRequest("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")}
			} else if err := s.deleteRecord(c.tx, r); err != nil {
				results[i] = recordResult{id: id, err: err}
			} else {
				results[i] = recordResult{id: id}
			}
		}
		failed = failed || results[i].err != nil
	}
	return collectionAnswer(c.tx, start, results, failed && allOrNone)
}

// collectionAnswer renders the per-record results of a collections write.
// With rollback set (allOrNone and a record failed) every write since
// start is undone and the records that had succeeded say so.
func collectionAnswer(tx *txn, start int, results []recordResult, rollback bool) *response {
	if rollback {
		tx.rollback(start)
	}
	out := make([]jobj, len(results))
	for i, rr := range results {
		if rollback && rr.err == nil {
			out[i] = rolledBack()
		} else {
			out[i] = rr.json()
		}
	}
	return jsonResp(http.StatusOK, out)
}

// lockedResults answers n records that all failed with UNABLE_TO_LOCK_ROW.
func lockedResults(n int) *response {
	out := make([]jobj, n)
	for i := range out {
		out[i] = lockedResult()
	}
	return jsonResp(http.StatusOK, out)
}

// collectionRetrieve is GET /composite/sobjects/{O}?ids=&fields= (or POST
// with {"ids":[..],"fields":[..]}): records in order, null where missing.
func (s *Server) collectionRetrieve(c *call, objName string) *response {
	o := s.schema.object(objName)
	if o == nil {
		return errResp(errNotFound())
	}
	var ids, fieldNames []string
	if c.method == http.MethodPost {
		var in struct {
			IDs    []string `json:"ids"`
			Fields []string `json:"fields"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			return errResp(errJSON("Unexpected input: " + err.Error()))
		}
		ids, fieldNames = in.IDs, in.Fields
	} else {
		if v := c.query.Get("ids"); v != "" {
			ids = strings.Split(v, ",")
		}
		if v := c.query.Get("fields"); v != "" {
			fieldNames = strings.Split(v, ",")
		}
	}
	if len(ids) == 0 || len(fieldNames) == 0 {
		return errResp(badRequest("MISSING_ARGUMENT", "ids and fields are required"))
	}
	if len(ids) > 2000 {
		return errResp(errTooManyRecords())
	}
	var fields []*field
	for _, name := range fieldNames {
		f := o.field(strings.TrimSpace(name))
		if f == nil {
			return errResp(badRequest("INVALID_FIELD", noSuchColumn(strings.TrimSpace(name), o.Name)))
		}
		fields = append(fields, f)
	}
	out := make([]any, len(ids))
	for i, raw := range ids {
		id, ok := NormalizeID(strings.TrimSpace(raw))
		if !ok {
			return errResp(badRequest("MALFORMED_ID", "malformed id "+raw))
		}
		r := s.store.byID(id)
		if r == nil || r.deleted || r.obj != o {
			out[i] = nil
			continue
		}
		out[i] = renderRecord(r, fields, c.version)
	}
	return jsonResp(http.StatusOK, out)
}
