package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// The control surface of the tests: a Go API on *Server and the same
// under /__sim/ over HTTP (no auth), to change the org as its users and
// admins would.

// Record is a record as the REST API renders it, without "attributes":
// canonical field names; strings, bool, float64, int64 and nil values;
// date-times as Salesforce strings (2025-07-31T12:00:00.000+0000).
type Record map[string]any

// User is a simulated Salesforce user.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	// Profile is ProfileStandard or ProfileRestricted.
	Profile string `json:"profile"`
	// OrgID is the user's organization: the org's own id, or OtherOrgID.
	OrgID string `json:"org_id"`
}

func (s *Server) userFrom(r *record) User {
	m := s.users.get(r.id)
	u := User{ID: r.id, Profile: m.profile, OrgID: m.orgID}
	u.Username, _ = r.vals["Username"].(string)
	u.Name, _ = r.vals["Name"].(string)
	u.Email, _ = r.vals["Email"].(string)
	return u
}

func plainRecord(r *record) Record {
	out := Record{}
	for _, f := range r.obj.Fields {
		out[f.Name] = encodeValue(r.vals[f.Name])
	}
	return out
}

// Records returns the live records of object, in creation order.
func (s *Server) Records(object string) []Record {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	o := s.schema.object(object)
	if o == nil {
		return nil
	}
	var out []Record
	for _, r := range s.store.table(o).rows {
		if !r.deleted {
			out = append(out, plainRecord(r))
		}
	}
	return out
}

// Record returns one live record of object by its 15- or 18-character id.
func (s *Server) Record(object, id string) (Record, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	r := s.recordOf(object, id)
	if r == nil || r.deleted {
		return nil, false
	}
	return plainRecord(r), true
}

// recordOf finds a record of object, deleted ones too, by its 15- or
// 18-character id; nil when the object or the record is unknown. Callers
// hold the store lock.
func (s *Server) recordOf(object, id string) *record {
	o := s.schema.object(object)
	id18, ok := NormalizeID(id)
	if o == nil || !ok {
		return nil
	}
	return s.store.table(o).byID[id18]
}

// Query runs a SOQL query as the admin user and returns every row (no
// paging). Relationship fields come back as nested Records.
func (s *Server) Query(soqlText string) ([]Record, error) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	res, err := s.runQuery(soqlText, DefaultVersion, false)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(res.rows))
	for _, row := range res.rows {
		out = append(out, plainRow(row))
	}
	return out, nil
}

// plainRow turns a rendered query row into a Record without attributes.
func plainRow(o jobj) Record {
	out := Record{}
	for _, m := range o {
		if m.K == "attributes" {
			continue
		}
		switch v := m.V.(type) {
		case jobj:
			out[m.K] = plainRow(v)
		case *queryResult:
			rows := make([]Record, len(v.rows))
			for i, r := range v.rows {
				rows[i] = plainRow(r)
			}
			out[m.K] = rows
		default:
			out[m.K] = v
		}
	}
	return out
}

// CreateRecord creates a record as the admin user, with the validation the
// REST API applies, and returns its id.
func (s *Server) CreateRecord(object string, fields map[string]any) (string, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("sfsim: encode fields: %w", err)
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	o := s.schema.object(object)
	if o == nil {
		return "", errInvalidType(object)
	}
	in, err := parseWriteBody(body(b), o, true, false)
	if err != nil {
		return "", err
	}
	r, err := s.createRecord(nil, s.admin(), o, in)
	if err != nil {
		return "", err
	}
	return r.id, nil
}

// UpdateRecord changes a record as a Salesforce user (the admin) would from
// the UI: validation applies and SystemModstamp and LastModifiedDate move.
func (s *Server) UpdateRecord(object, id string, fields map[string]any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("sfsim: encode fields: %w", err)
	}
	return s.updateFromBody(object, id, b)
}

func (s *Server) updateFromBody(object, id string, b []byte) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	o := s.schema.object(object)
	if o == nil {
		return errNotFound()
	}
	id18, ok := NormalizeID(id)
	if !ok {
		return errBadExternalIDField(id)
	}
	r := s.store.table(o).byID[id18]
	if r == nil || r.deleted {
		return errNotFound()
	}
	in, err := parseWriteBody(body(b), o, false, false)
	if err != nil {
		return err
	}
	return s.updateRecord(nil, s.admin(), r, in)
}

// DeleteRecord moves a record to the recycle bin as the admin user.
func (s *Server) DeleteRecord(object, id string) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	r := s.recordOf(object, id)
	if r == nil {
		return errNotFound()
	}
	return s.deleteRecord(nil, r)
}

// CreateUser adds a standard user, as an admin would in Setup. It fails
// when the username is taken.
func (s *Server) CreateUser(username, firstName, lastName, email string) (User, error) {
	return s.CreateUserWith(NewUser{Username: username, FirstName: firstName, LastName: lastName, Email: email})
}

// User returns the user with that username.
func (s *Server) User(username string) (User, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	r := s.userByName(username)
	if r == nil {
		return User{}, false
	}
	return s.userFrom(r), true
}

// userByName finds a user; callers hold the store lock.
func (s *Server) userByName(username string) *record {
	o := s.schema.object("User")
	rs := s.store.findBy(o, o.field("Username"), username)
	if len(rs) == 0 {
		return nil
	}
	return rs[0]
}

// ExpireSessions makes every access token stop working; refresh tokens
// stay valid.
func (s *Server) ExpireSessions() { s.auth.expireAll() }

// RevokeUser revokes that user's refresh and access tokens.
func (s *Server) RevokeUser(username string) error {
	u, ok := s.User(username)
	if !ok {
		return fmt.Errorf("sfsim: no user %s", username)
	}
	s.auth.revokeUser(u.ID)
	return nil
}

// OrgInfo is GET /__sim/org: the org's id, the id users of the other org
// carry, whether it plays a production org, and its Support Queue.
type OrgInfo struct {
	OrgID          string `json:"org_id"`
	OtherOrgID     string `json:"other_org_id"`
	Strict         bool   `json:"strict"`
	SupportQueueID string `json:"support_queue_id"`
}

// Org describes the simulated org.
func (s *Server) Org() OrgInfo {
	return OrgInfo{OrgID: s.orgID, OtherOrgID: otherOrgID, Strict: s.opts.Strict, SupportQueueID: s.queueID}
}

// serveControl is the /__sim/ surface of SPEC §8 (no auth: tests only).
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(strings.TrimPrefix(r.URL.EscapedPath(), "/__sim/"))
	ctlErr := func(status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
	// refused answers err, when there is one, with status.
	refused := func(status int, err error) bool {
		if err != nil {
			ctlErr(status, err.Error())
		}
		return err != nil
	}
	method := r.Method
	b, err := readBody(r, 8<<20)
	if refused(http.StatusBadRequest, err) {
		return
	}
	switch {
	case len(parts) == 3 && parts[0] == "records" && method == http.MethodPatch:
		if err := s.updateFromBody(parts[1], parts[2], b); err != nil {
			writeResponse(w, errResp(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 3 && parts[0] == "records" && method == http.MethodDelete:
		if err := s.DeleteRecord(parts[1], parts[2]); err != nil {
			writeResponse(w, errResp(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 2 && parts[0] == "records" && method == http.MethodGet:
		recs := s.Records(parts[1])
		if recs == nil {
			recs = []Record{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"records": recs})
	case len(parts) == 3 && parts[0] == "records" && method == http.MethodGet:
		rec, ok := s.Record(parts[1], parts[2])
		if !ok {
			ctlErr(http.StatusNotFound, "no such record")
			return
		}
		writeJSON(w, http.StatusOK, rec)
	case len(parts) == 2 && parts[0] == "sessions" && parts[1] == "expire" && method == http.MethodPost:
		s.ExpireSessions()
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "users" && method == http.MethodPost:
		var in NewUser
		if refused(http.StatusBadRequest, strictJSON(b, &in)) {
			return
		}
		u, err := s.CreateUserWith(in)
		if refused(http.StatusBadRequest, err) {
			return
		}
		writeJSON(w, http.StatusCreated, u)
	case len(parts) == 2 && parts[0] == "users" && method == http.MethodGet:
		info, ok := s.UserInfo(parts[1])
		if !ok {
			ctlErr(http.StatusNotFound, "no user "+parts[1])
			return
		}
		writeJSON(w, http.StatusOK, info)
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "revoke" && method == http.MethodPost:
		if refused(http.StatusNotFound, s.RevokeUser(parts[1])) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "faults" && method == http.MethodPost:
		var f Fault
		if refused(http.StatusBadRequest, strictJSON(b, &f)) || refused(http.StatusBadRequest, s.InjectFault(f)) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "faults" && method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "stats" && method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Stats())
	case len(parts) == 1 && parts[0] == "stats" && method == http.MethodDelete:
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "limits" && method == http.MethodPut:
		var in struct {
			DailyLimit *int `json:"daily_limit"`
			Used       *int `json:"used"`
		}
		if refused(http.StatusBadRequest, strictJSON(b, &in)) {
			return
		}
		if in.DailyLimit == nil && in.Used == nil {
			ctlErr(http.StatusBadRequest, "give daily_limit and/or used")
			return
		}
		if in.DailyLimit != nil {
			if *in.DailyLimit < 0 {
				ctlErr(http.StatusBadRequest, "daily_limit must not be negative")
				return
			}
			s.SetDailyLimit(*in.DailyLimit)
		}
		if in.Used != nil {
			s.SetAPIUsage(*in.Used)
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 2 && parts[0] == "pubsub" && method == http.MethodPost:
		s.servePubSubControl(w, parts[1], b)
	case len(parts) == 1 && parts[0] == "org" && method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Org())
	case len(parts) == 1 && parts[0] == "limits" && method == http.MethodGet:
		used, max := s.APIUsage()
		writeJSON(w, http.StatusOK, map[string]int{"daily_limit": max, "used": used})
	default:
		ctlErr(http.StatusNotFound, "unknown control endpoint "+r.Method+" "+r.URL.Path)
	}
}

// strictJSON decodes one JSON value, refusing unknown fields.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

// splitPath splits an escaped path into unescaped segments, so that an
// encoded "/" inside an external id stays inside its segment.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	raw := strings.Split(p, "/")
	out := make([]string, len(raw))
	for i, seg := range raw {
		if u, err := url.PathUnescape(seg); err == nil {
			out[i] = u
		} else {
			out[i] = seg
		}
	}
	return out
}

// sortedKeys is a helper for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
