package sfsim

import (
	"fmt"
	"net/http"
	"strings"
)

// The rules of a production org (SPEC §11 "sfsim as a production org"):
// field-level security by profile always; with Options.Strict the active
// Case and Lead assignment rule and the Contact and Lead duplicate rules.
// Everything here runs on the write path, under the store's write lock.

// actor is who writes, and what the request's headers ask of the org's
// rules.
type actor struct {
	userID string
	// version is the API version of the call (record URLs in answers).
	version string
	// assign runs the active assignment rule: the request did not send
	// Sforce-Auto-Assign: FALSE.
	assign bool
	// allowSave saves past duplicate rules that only alert
	// (Sforce-Duplicate-Rule-Header: allowSave=true).
	allowSave bool
}

// actor is the writer of a data call.
func (c *call) actor() actor {
	return actor{
		userID:    c.userID,
		version:   c.version,
		assign:    autoAssign(c.header),
		allowSave: allowSave(c.header),
	}
}

// admin is the writer of the Go helpers and the /__sim/ record routes: the
// admin in the UI, who saves past duplicate alerts and leaves the owner
// alone (the UI's "assign using active assignment rule" box unticked).
func (s *Server) admin() actor {
	return actor{userID: s.adminID, version: DefaultVersion, allowSave: true}
}

// autoAssign reads Sforce-Auto-Assign: FALSE (any case) turns the
// assignment rules off; missing, TRUE or a rule id leaves them on.
func autoAssign(h http.Header) bool {
	return !strings.EqualFold(strings.TrimSpace(h.Get("Sforce-Auto-Assign")), "false")
}

// allowSave reads Sforce-Duplicate-Rule-Header, a comma-separated list of
// key=value options such as "allowSave=true, includeRecordDetails=true".
func allowSave(h http.Header) bool {
	for _, part := range strings.Split(h.Get("Sforce-Duplicate-Rule-Header"), ",") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "allowSave") && strings.EqualFold(strings.TrimSpace(v), "true") {
			return true
		}
	}
	return false
}

// SupportQueueName is the queue the strict org's assignment rule gives
// new and edited cases and leads to.
const SupportQueueName = "Support Queue"

// assign runs the active assignment rule of a strict org: a Case or Lead
// written without Sforce-Auto-Assign: FALSE goes to the Support Queue.
func (s *Server) assign(a actor, o *object, vals map[string]any) {
	if !a.assign || (o.Name != "Case" && o.Name != "Lead") {
		return
	}
	s.strictSays.Add(1)
	if s.opts.Strict {
		vals["OwnerId"] = s.queueID
	}
}

// StrictDifferences is how many times this org answered, or would have
// answered, otherwise for being strict (Options.Strict): a Case or Lead
// written without Sforce-Auto-Assign: FALSE, a duplicate found, an
// approval over a user's limit. 0 from a lenient org: a strict one would
// have answered everything the same (.ci/test's strict pass reruns only
// the tests whose org says otherwise; see simtest.EnvStrictLog).
func (s *Server) StrictDifferences() int64 { return s.strictSays.Load() }

// Profiles of simulated users.
const (
	// ProfileStandard may read and write every field.
	ProfileStandard = "standard"
	// ProfileRestricted may read but not create or edit the fields of
	// restrictedFields.
	ProfileRestricted = "restricted"
)

// restrictedFields are the fields the restricted profile may read but not
// write, by object.
var restrictedFields = map[string][]string{
	"Case": {"Care_Agent_Email__c"},
}

// fieldWritable reports whether the user's profile may write field f of o
// (field-level security; the schema's own createable/updateable aside).
func (s *Server) fieldWritable(userID string, o *object, f *field) bool {
	if s.users.get(userID).profile != ProfileRestricted {
		return true
	}
	for _, name := range restrictedFields[o.Name] {
		if f.Name == name {
			return false
		}
	}
	return true
}

// checkFieldAccess refuses a write of fields the user's profile may not
// create (create) or edit, as Salesforce does: 400
// INVALID_FIELD_FOR_INSERT_UPDATE naming them.
func (s *Server) checkFieldAccess(userID string, o *object, names []string, create bool) error {
	var denied []string
	for _, name := range names {
		if f := o.field(name); f != nil && !s.fieldWritable(userID, o, f) {
			denied = append(denied, f.Name)
		}
	}
	if len(denied) > 0 {
		return errNotWritable(denied)
	}
	return nil
}

// errNotWritable is Salesforce's answer to a write of fields that are
// read-only, or read-only for the user's profile.
func errNotWritable(fields []string) *Error {
	return badRequest("INVALID_FIELD_FOR_INSERT_UPDATE",
		fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", strings.Join(fields, ", ")),
		fields...)
}

// duplicateRule is one active duplicate rule of a strict org.
type duplicateRule struct {
	object    string
	name      string // the duplicate rule's developer name
	matchRule string // its matching rule's developer name
	// blocks refuses the save whatever allowSave says; otherwise the rule
	// alerts and allowSave=true saves.
	blocks  bool
	message string
	// matches reports whether two records are duplicates.
	matches func(a, b map[string]any) bool
}

// duplicateRules are Salesforce's standard Contact rule (alert) and a
// Lead rule set to block.
var duplicateRules = []duplicateRule{
	{
		object: "Contact", name: "Standard_Contact_Duplicate_Rule", matchRule: "Standard_Contact_Match_Rule_v1_1",
		message: "You're creating a duplicate record. We recommend you use an existing record instead.",
		matches: func(a, b map[string]any) bool {
			return sameText(a, b, "Email", true) && sameText(a, b, "FirstName", false) && sameText(a, b, "LastName", false)
		},
	},
	{
		object: "Lead", name: "Standard_Lead_Duplicate_Rule", matchRule: "Standard_Lead_Match_Rule_v1_0",
		blocks: true, message: "Use one of these records?",
		matches: func(a, b map[string]any) bool { return sameText(a, b, "Email", true) },
	},
}

// sameText compares a text field case-insensitively; nonEmpty makes two
// empty values differ.
func sameText(a, b map[string]any, name string, nonEmpty bool) bool {
	x, _ := a[name].(string)
	y, _ := b[name].(string)
	if nonEmpty && x == "" {
		return false
	}
	return strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(y))
}

// checkDuplicates runs the duplicate rules of a strict org over a record
// about to be saved (self is the record itself on an update).
func (s *Server) checkDuplicates(a actor, o *object, vals map[string]any, self *record) error {
	for i := range duplicateRules {
		rule := &duplicateRules[i]
		if rule.object != o.Name || (!rule.blocks && a.allowSave) {
			continue
		}
		var found []*record
		for _, r := range s.store.table(o).rows {
			if !r.deleted && r != self && rule.matches(vals, r.vals) {
				found = append(found, r)
			}
		}
		if len(found) > 0 {
			if s.strictSays.Add(1); s.opts.Strict {
				return errDuplicates(rule, found, a.version)
			}
		}
	}
	return nil
}

// errDuplicates is DUPLICATES_DETECTED with the duplicateResult
// Salesforce documents (DuplicateResult, MatchResult, MatchRecord).
func errDuplicates(rule *duplicateRule, found []*record, version string) *Error {
	records := make([]jobj, len(found))
	for i, r := range found {
		records[i] = jobj{
			{"additionalInformation", []any{}},
			{"fieldDiffs", []any{}},
			{"matchConfidence", 100.0},
			{"record", jobj{{"attributes", attributes(r, version)}, {"Id", r.id}}},
		}
	}
	return &Error{
		StatusCode: http.StatusBadRequest,
		Code:       "DUPLICATES_DETECTED",
		Message:    rule.message,
		Duplicate: jobj{
			{"allowSave", !rule.blocks},
			{"duplicateRule", rule.name},
			{"duplicateRuleEntityType", rule.object},
			{"errorMessage", rule.message},
			{"matchResults", []jobj{{
				{"entityType", rule.object},
				{"errors", []any{}},
				{"matchEngine", "ExactMatchEngine"},
				{"matchRecords", records},
				{"rule", rule.matchRule},
				{"size", len(found)},
				{"success", true},
			}}},
		},
	}
}
