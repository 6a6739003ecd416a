package sfsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// API versions the org serves: 31.0 (the oldest not retired in 2025) to
// 67.0 (Summer '26).
const (
	minVersion = 31
	maxVersion = 67
	// DefaultVersion renders URLs in Go helper results.
	DefaultVersion = "62.0"
)

// versionLabel names the release of API version v (20.0 is Winter '11,
// then three releases a year).
func versionLabel(v int) string {
	n := v - 20
	season := [...]string{"Winter", "Spring", "Summer"}[n%3]
	return fmt.Sprintf("%s '%02d", season, 11+n/3)
}

// parseVersion reads "v62.0" and returns "62.0" and 62.
func parseVersion(seg string) (string, int, bool) {
	if len(seg) < 2 || seg[0] != 'v' {
		return "", 0, false
	}
	major, minor, ok := strings.Cut(seg[1:], ".")
	if !ok || minor != "0" {
		return "", 0, false
	}
	n, err := strconv.Atoi(major)
	if err != nil || n < minVersion || n > maxVersion {
		return "", 0, false
	}
	return seg[1:], n, true
}

// splitDataPath splits an escaped path under /services/data/ into the API
// version and the segments after it. ok is false when the version is
// missing or not served; rest is set either way.
func splitDataPath(escaped string) (version string, vnum int, rest []string, ok bool) {
	segs := splitPath(strings.TrimPrefix(escaped, "/services/data/"))
	if len(segs) == 0 {
		return "", 0, nil, false
	}
	version, vnum, ok = parseVersion(segs[0])
	return version, vnum, segs[1:], ok
}

// handleVersions answers GET /services/data: no auth, not counted.
func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeErrors(w, http.StatusMethodNotAllowed, []*Error{errMethodNotAllowed(r.Method, "GET,HEAD")})
		return
	}
	out := make([]jobj, 0, maxVersion-minVersion+1)
	for v := minVersion; v <= maxVersion; v++ {
		out = append(out, jobj{
			{"label", versionLabel(v)},
			{"url", fmt.Sprintf("/services/data/v%d.0", v)},
			{"version", fmt.Sprintf("%d.0", v)},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// call is one data API request, from HTTP or from a composite subrequest.
type call struct {
	ctx      context.Context
	userID   string
	version  string
	vnum     int
	method   string
	segs     []string
	query    url.Values
	header   http.Header
	body     body
	tx       *txn
	lockRows bool // an unable_to_lock_row fault applies to this call
}

// response is a data API answer before it is written.
type response struct {
	status int
	header http.Header
	body   any // JSON body; nil with no body
	raw    []byte
	ctype  string
}

func jsonResp(status int, v any) *response { return &response{status: status, body: v} }

// errResp turns an error of the data API (*Error, Errors or
// *multipleMatches) into its answer; anything else is a 500.
func errResp(err error) *response {
	var one *Error
	var many Errors
	var multi *multipleMatches
	switch {
	case errors.As(err, &one):
		return &response{status: one.StatusCode, body: []*Error{one}}
	case errors.As(err, &many):
		return &response{status: many.status(), body: []*Error(many)}
	case errors.As(err, &multi):
		return &response{status: http.StatusMultipleChoices, body: multi.urls}
	}
	return &response{status: http.StatusInternalServerError, body: []*Error{{Code: "UNKNOWN_EXCEPTION", Message: "An unexpected error occurred: " + err.Error()}}}
}

// operation classifies a data call for the stats (SPEC §7 names).
func operation(method string, segs []string) string {
	if len(segs) == 0 {
		return opDescribe
	}
	switch segs[0] {
	case "query", "queryAll":
		return opQuery
	case "search", "parameterizedSearch":
		return opSearch
	case "limits":
		return opLimits
	case "composite":
		if len(segs) > 1 && segs[1] == "sobjects" {
			return opCollections
		}
		return opComposite
	case "sobjects":
		switch {
		case len(segs) <= 1:
			return opDescribe
		case len(segs) == 2:
			if method == http.MethodPost {
				return opCreate
			}
			return opDescribe
		case segs[2] == "describe":
			return opDescribe
		case segs[2] == "updated" || segs[2] == "deleted":
			return opQuery
		}
		switch method {
		case http.MethodGet, http.MethodHead:
			return opQuery
		case http.MethodDelete:
			return opDelete
		case http.MethodPatch:
			if len(segs) >= 4 {
				return opUpsert
			}
			return opUpdate
		case http.MethodPost:
			return opCreate
		}
	}
	return opOther
}

// serveData runs the data API pipeline: stats, version, session, daily
// limit, latency, faults, then the handler.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	version, vnum, rest, ok := splitDataPath(r.URL.EscapedPath())
	method := r.Method
	// Clients that cannot send PATCH use POST with ?_HttpMethod=PATCH.
	if override := r.URL.Query().Get("_HttpMethod"); method == http.MethodPost && override != "" {
		method = strings.ToUpper(override)
	}
	s.stats.count(operation(method, rest))
	if !ok {
		writeErrors(w, http.StatusNotFound, []*Error{errNotFound()})
		return
	}
	sess := s.auth.authenticate(r, s.now())
	if sess == nil {
		writeErrors(w, http.StatusUnauthorized, []*Error{errInvalidSession()})
		return
	}
	used, max, ok := s.limits.take()
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, max))
	if !ok {
		writeErrors(w, http.StatusForbidden, []*Error{errRequestLimit()})
		return
	}
	if err := sleep(r.Context(), s.opts.Latency); err != nil {
		return
	}
	b, err := readBody(r, 64<<20)
	if err != nil {
		writeErrors(w, http.StatusRequestEntityTooLarge, []*Error{{Code: "REQUEST_ENTITY_TOO_LARGE", Message: err.Error()}})
		return
	}
	fault := s.faults.next(FaultTargetData)
	if fault != nil && fault.Kind == FaultLatency {
		if err := sleep(r.Context(), time.Duration(fault.LatencyMS)*time.Millisecond); err != nil {
			return
		}
		fault = nil
	}
	c := &call{
		ctx: r.Context(), userID: sess.userID, version: version, vnum: vnum,
		method: method, segs: rest, query: r.URL.Query(), header: r.Header, body: body(b),
	}
	if fault != nil && !fault.AfterCommit {
		if fault.Kind == FaultUnableToLockRow && isBatch(rest) {
			c.lockRows = true
		} else {
			s.writeFault(w, fault, nil)
			return
		}
	}
	resp := s.handle(c)
	if fault != nil && fault.AfterCommit {
		s.writeFault(w, fault, resp)
		return
	}
	s.log.Debug("sfsim: data call", "method", r.Method, "path", r.URL.Path, "status", resp.status)
	// Salesforce's Date header shows the org's clock (net/http would send ours).
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	writeResponse(w, resp)
}

// isBatch reports calls whose answer carries per-record results, where a
// lock failure shows inside an HTTP 200.
func isBatch(segs []string) bool { return len(segs) > 0 && segs[0] == "composite" }

// handle takes the store lock (read for GET, write otherwise) and routes.
func (s *Server) handle(c *call) *response {
	if c.method == http.MethodGet || c.method == http.MethodHead {
		s.store.mu.RLock()
		defer s.store.mu.RUnlock()
	} else {
		s.store.mu.Lock()
		defer s.store.mu.Unlock()
		c.tx = &txn{}
	}
	return s.route(c)
}

func writeResponse(w http.ResponseWriter, resp *response) {
	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case resp.raw != nil:
		ct := resp.ctype
		if ct == "" {
			ct = "text/plain;charset=UTF-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(resp.status)
		_, _ = w.Write(resp.raw)
	case resp.body == nil:
		w.WriteHeader(resp.status)
	default:
		writeJSON(w, resp.status, resp.body)
	}
}

// route dispatches a data call; the store lock is held.
func (s *Server) route(c *call) *response {
	segs := c.segs
	if len(segs) == 0 {
		if c.method != http.MethodGet {
			return errResp(errMethodNotAllowed(c.method, "GET,HEAD"))
		}
		return jsonResp(http.StatusOK, s.resources(c.version, c.userID))
	}
	switch segs[0] {
	case "sobjects":
		return s.routeSObjects(c)
	case "query", "queryAll":
		if c.method != http.MethodGet {
			return errResp(errMethodNotAllowed(c.method, "GET,HEAD"))
		}
		all := segs[0] == "queryAll"
		if len(segs) == 2 {
			return s.handleQueryMore(c, segs[1])
		}
		if len(segs) > 2 {
			return errResp(errNotFound())
		}
		return s.handleQuery(c, all)
	case "search":
		if c.method != http.MethodGet {
			return errResp(errMethodNotAllowed(c.method, "GET,HEAD"))
		}
		return s.handleSearch(c)
	case "limits":
		if c.method != http.MethodGet {
			return errResp(errMethodNotAllowed(c.method, "GET,HEAD"))
		}
		return jsonResp(http.StatusOK, s.limitsBody())
	case "composite":
		switch {
		case len(segs) == 1:
			if c.method != http.MethodPost {
				return errResp(errMethodNotAllowed(c.method, "POST"))
			}
			return s.handleComposite(c)
		case segs[1] == "sobjects":
			return s.handleCollections(c)
		}
	}
	return errResp(errNotFound())
}

// resources is the resource directory of GET /services/data/vXX.X/; its
// identity entry is the caller's identity URL.
func (s *Server) resources(version, userID string) jobj {
	base := "/services/data/v" + version + "/"
	var out jobj
	for _, name := range []string{"tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search", "identity", "composite", "parameterizedSearch", "fingerprint", "theme", "nouns", "event", "serviceTemplates", "recent", "connect", "licensing", "limits", "process", "async-queries", "query", "match", "emailConnect", "compactLayouts", "knowledgeManagement", "sobjects", "actions", "support"} {
		if name == "identity" {
			out = append(out, kv{name, s.identityURL(userID)})
			continue
		}
		out = append(out, kv{name, base + name})
	}
	return out
}

// routeSObjects serves /sobjects and everything below it.
func (s *Server) routeSObjects(c *call) *response {
	segs := c.segs
	if len(segs) == 1 {
		if c.method != http.MethodGet {
			return errResp(errMethodNotAllowed(c.method, "GET,HEAD"))
		}
		return s.handleDescribeGlobal(c)
	}
	o := s.schema.object(segs[1])
	if o == nil {
		return errResp(errNotFound())
	}
	switch len(segs) {
	case 2:
		switch c.method {
		case http.MethodGet:
			return jsonResp(http.StatusOK, jobj{{"objectDescribe", s.globalEntry(o, c.version)}, {"recentItems", []any{}}})
		case http.MethodPost:
			return s.handleCreate(c, o)
		}
		return errResp(errMethodNotAllowed(c.method, "HEAD,GET,POST"))
	case 3:
		switch segs[2] {
		case "describe":
			if c.method != http.MethodGet {
				return errResp(errMethodNotAllowed(c.method, "GET,HEAD"))
			}
			return s.handleDescribe(c, o)
		case "updated":
			return s.handleUpdated(c, o)
		case "deleted":
			return s.handleDeleted(c, o)
		}
		return s.handleRecord(c, o, segs[2])
	case 4:
		return s.handleExternal(c, o, segs[2], segs[3])
	}
	return errResp(errNotFound())
}

// parseWriteBody decodes a single-record write body.
func parseWriteBody(b body, o *object, create, allowID bool) (*writeInput, error) {
	members, err := b.decodeObject(b, 0, o.Name)
	if err != nil {
		return nil, err
	}
	in, perr := b.parseInput(o, members, create, allowID)
	if perr != nil {
		return nil, perr
	}
	return in, nil
}

func (s *Server) handleCreate(c *call, o *object) *response {
	in, err := parseWriteBody(c.body, o, true, false)
	if err != nil {
		return errResp(err)
	}
	r, err := s.createRecord(c.tx, c.actor(), o, in)
	if err != nil {
		return errResp(err)
	}
	resp := jsonResp(http.StatusCreated, jobj{{"id", r.id}, {"success", true}, {"errors", []any{}}})
	resp.header = http.Header{"Location": {recordURL(c.version, o, r.id)}}
	return resp
}

// lookupRecord resolves an id path segment. A segment that is not an id
// is read as an external id field name, as Salesforce does.
func (s *Server) lookupRecord(o *object, seg string) (*record, *Error) {
	id, ok := NormalizeID(seg)
	if !ok {
		return nil, errBadExternalIDField(seg)
	}
	if id[:3] != o.KeyPrefix {
		return nil, errNotFound()
	}
	r := s.store.table(o).byID[id]
	if r == nil {
		return nil, errNotFound()
	}
	return r, nil
}

func (s *Server) handleRecord(c *call, o *object, seg string) *response {
	switch c.method {
	case http.MethodGet, http.MethodPatch, http.MethodDelete, http.MethodHead:
	default:
		return errResp(errMethodNotAllowed(c.method, "HEAD,GET,PATCH,DELETE"))
	}
	r, lerr := s.lookupRecord(o, seg)
	if lerr != nil {
		return errResp(lerr)
	}
	switch c.method {
	case http.MethodPatch:
		in, err := parseWriteBody(c.body, o, false, false)
		if err != nil {
			return errResp(err)
		}
		if err := s.updateRecord(c.tx, c.actor(), r, in); err != nil {
			return errResp(err)
		}
		return &response{status: http.StatusNoContent}
	case http.MethodDelete:
		if err := s.deleteRecord(c.tx, r); err != nil {
			return errResp(err)
		}
		return &response{status: http.StatusNoContent}
	}
	if r.deleted {
		return errResp(errNotFound())
	}
	return s.getRecord(c, r)
}

// getRecord renders one record with every field or the ?fields= list
// (plus Id, which Salesforce always adds).
func (s *Server) getRecord(c *call, r *record) *response {
	fields := r.obj.Fields
	if fl := c.query.Get("fields"); fl != "" {
		fields = nil
		hasID := false
		for _, name := range strings.Split(fl, ",") {
			name = strings.TrimSpace(name)
			f := r.obj.field(name)
			if f == nil {
				return errResp(badRequest("INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, r.obj.Name)))
			}
			hasID = hasID || f.Name == "Id"
			fields = append(fields, f)
		}
		if !hasID {
			fields = append(fields, r.obj.field("Id"))
		}
	}
	return jsonResp(http.StatusOK, renderRecord(r, fields, c.version))
}

// handleExternal serves /sobjects/{O}/{Field}/{value}: GET, upsert
// (PATCH) and DELETE by external id.
func (s *Server) handleExternal(c *call, o *object, fieldName, value string) *response {
	f := o.field(fieldName)
	if f == nil || !(f.ExternalID || f.IDLookup) {
		return errResp(errBadExternalIDField(fieldName))
	}
	switch c.method {
	case http.MethodPatch:
		// The body is checked as for an insert: an upsert may create.
		in, err := parseWriteBody(c.body, o, true, f.Name == "Id")
		if err != nil {
			return errResp(err)
		}
		r, created, err := s.upsertRecord(c.tx, c.actor(), c.version, o, f, value, in)
		if err != nil {
			return errResp(err)
		}
		if created {
			b := jobj{{"id", r.id}, {"success", true}, {"errors", []any{}}}
			if c.vnum >= 46 {
				b = append(b, kv{"created", true})
			}
			resp := jsonResp(http.StatusCreated, b)
			resp.header = http.Header{"Location": {recordURL(c.version, o, r.id)}}
			return resp
		}
		if c.vnum < 46 {
			return &response{status: http.StatusNoContent}
		}
		return jsonResp(http.StatusOK, jobj{{"id", r.id}, {"success", true}, {"errors", []any{}}, {"created", false}})
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		matches := s.matchExternal(o, f, value)
		switch len(matches) {
		case 0:
			return errResp(errNotFound())
		case 1:
			if c.method == http.MethodDelete {
				if err := s.deleteRecord(c.tx, matches[0]); err != nil {
					return errResp(err)
				}
				return &response{status: http.StatusNoContent}
			}
			return s.getRecord(c, matches[0])
		}
		return errResp(newMultipleMatches(c.version, o, matches))
	}
	return errResp(errMethodNotAllowed(c.method, "HEAD,GET,PATCH,DELETE"))
}

// renderRecord writes attributes, then the given fields in order.
func renderRecord(r *record, fields []*field, version string) jobj {
	out := make(jobj, 0, len(fields)+1)
	out = append(out, kv{"attributes", attributes(r, version)})
	for _, f := range fields {
		out = append(out, kv{f.Name, encodeValue(r.vals[f.Name])})
	}
	return out
}

func attributes(r *record, version string) jobj {
	return jobj{{"type", r.obj.Name}, {"url", recordURL(version, r.obj, r.id)}}
}

// encodeValue turns a stored value into its JSON form.
func encodeValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return formatTime(t)
	}
	return v
}
