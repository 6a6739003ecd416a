package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Tests of SPEC §11 "sfsim as a production org".

// dig walks a decoded JSON value by object keys and array indexes.
func dig(t testing.TB, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: want an object, got %v", k, v)
			}
			v = m[k]
		case int:
			arr, ok := v.([]any)
			if !ok || k >= len(arr) {
				t.Fatalf("at [%d]: want an array, got %v", k, v)
			}
			v = arr[k]
		}
	}
	return v
}

func TestWholeSecondStamps(t *testing.T) {
	clock := newClock()
	clock.Add(750 * time.Millisecond)
	srv := startServer(t, Options{Now: clock.Now})
	a := newAPI(t, srv, "")
	ids := []string{
		a.mustCreate("Case", map[string]any{"Subject": "one"}),
		a.mustCreate("Case", map[string]any{"Subject": "two"}),
		a.mustCreate("Case", map[string]any{"Subject": "three"}),
	}
	// Edited in the same second: the stamp ties with the others.
	clock.Add(100 * time.Millisecond)
	if r := a.call(http.MethodPatch, "sobjects/Case/"+ids[0], map[string]any{"Subject": "one again"}); r.status != 204 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	got := a.call(http.MethodGet, "sobjects/Case/"+ids[0], nil).obj(t)
	for _, f := range []string{"CreatedDate", "LastModifiedDate", "SystemModstamp"} {
		if got[f] != "2025-07-31T12:00:00.000+0000" {
			t.Errorf("%s = %v, want whole seconds", f, got[f])
		}
	}
	r := a.query("SELECT Id FROM Case WHERE SystemModstamp >= 2025-07-31T12:00:00Z ORDER BY SystemModstamp, Id")
	var order []string
	for _, rec := range dig(t, r.json(t), "records").([]any) {
		order = append(order, rec.(map[string]any)["Id"].(string))
	}
	if fmt.Sprint(order) != fmt.Sprint(ids) {
		t.Fatalf("ties not in Id order: %v, want %v", order, ids)
	}
}

func TestCompareIDExactly(t *testing.T) {
	// Ids are case-sensitive: "...B..." sorts before "...a..." as the org
	// made them, which a case-folding comparison gets backwards.
	f := &field{Name: "Id", Type: typeID}
	if compareField(f, "500Sm000000000BAAQ", "500Sm000000000aAAA") >= 0 {
		t.Fatal("Id compared case-insensitively")
	}
}

// assignCase is one write path for the assignment rule test: it writes
// one Case with the given extra headers and returns its id.
type assignCase struct {
	name  string
	write func(a *api, hdr []string) string
}

var assignPaths = []assignCase{
	{"REST create", func(a *api, hdr []string) string {
		r := a.call(http.MethodPost, "sobjects/Case", map[string]any{"Subject": "x"}, hdr...)
		if r.status != 201 {
			a.t.Fatalf("create: %d %s", r.status, r.body)
		}
		return r.obj(a.t)["id"].(string)
	}},
	{"REST update", func(a *api, hdr []string) string {
		id := a.mustCreate("Case", map[string]any{"Subject": "x"})
		// The create above ran the rule too; put the owner back first.
		a.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"OwnerId": userIDOf(a)}, "Sforce-Auto-Assign", "FALSE")
		if r := a.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"Subject": "y"}, hdr...); r.status != 204 {
			a.t.Fatalf("update: %d %s", r.status, r.body)
		}
		return id
	}},
	{"upsert", func(a *api, hdr []string) string {
		r := a.call(http.MethodPatch, "sobjects/Case/Care_Case_Id__c/"+randomToken(6), map[string]any{"Subject": "x"}, hdr...)
		if r.status != 201 {
			a.t.Fatalf("upsert: %d %s", r.status, r.body)
		}
		return r.obj(a.t)["id"].(string)
	}},
	{"collections create", func(a *api, hdr []string) string {
		r := a.call(http.MethodPost, "composite/sobjects", map[string]any{"records": []any{
			map[string]any{"attributes": map[string]any{"type": "Case"}, "Subject": "x"},
		}}, hdr...)
		return dig(a.t, r.json(a.t), 0, "id").(string)
	}},
	{"collections update", func(a *api, hdr []string) string {
		id := a.mustCreate("Case", map[string]any{"Subject": "x"})
		a.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"OwnerId": userIDOf(a)}, "Sforce-Auto-Assign", "FALSE")
		r := a.call(http.MethodPatch, "composite/sobjects", map[string]any{"records": []any{
			map[string]any{"attributes": map[string]any{"type": "Case"}, "id": id, "Subject": "y"},
		}}, hdr...)
		return dig(a.t, r.json(a.t), 0, "id").(string)
	}},
	{"collections upsert", func(a *api, hdr []string) string {
		r := a.call(http.MethodPatch, "composite/sobjects/Case/Care_Case_Id__c", map[string]any{"records": []any{
			map[string]any{"attributes": map[string]any{"type": "Case"}, "Care_Case_Id__c": randomToken(6), "Subject": "x"},
		}}, hdr...)
		return dig(a.t, r.json(a.t), 0, "id").(string)
	}},
	{"composite", func(a *api, hdr []string) string {
		r := a.call(http.MethodPost, "composite", map[string]any{"compositeRequest": []any{map[string]any{
			"method": "POST", "url": "/services/data/v62.0/sobjects/Case", "referenceId": "c", "body": map[string]any{"Subject": "x"},
		}}}, hdr...)
		return dig(a.t, r.json(a.t), "compositeResponse", 0, "body", "id").(string)
	}},
}

// userIDOf reads the caller's user id from the identity resource.
func userIDOf(a *api) string {
	id := a.call(http.MethodGet, "", nil).obj(a.t)["identity"].(string)
	return id[strings.LastIndexByte(id, '/')+1:]
}

func TestAssignmentRule(t *testing.T) {
	for _, strict := range []bool{false, true} {
		srv := startServer(t, Options{Strict: strict})
		a := newAPI(t, srv, "")
		rows, err := srv.Query("SELECT Id, Name, Type FROM Group WHERE Type = 'Queue'")
		if err != nil || len(rows) != 1 || rows[0]["Name"] != SupportQueueName || !strings.HasPrefix(rows[0]["Id"].(string), "00G") {
			t.Fatalf("queue: %v %v", rows, err)
		}
		queue := rows[0]["Id"].(string)
		if org := srv.Org(); org.SupportQueueID != queue || org.Strict != strict {
			t.Fatalf("Org() = %+v", org)
		}
		for _, p := range assignPaths {
			for _, hdr := range [][]string{nil, {"Sforce-Auto-Assign", "TRUE"}, {"Sforce-Auto-Assign", "FALSE"}, {"Sforce-Auto-Assign", "false"}} {
				t.Run(fmt.Sprintf("strict=%v/%s/%v", strict, p.name, hdr), func(t *testing.T) {
					a.t = t
					id := p.write(a, hdr)
					rec, _ := srv.Record("Case", id)
					want := srv.adminID
					if strict && (hdr == nil || hdr[1] == "TRUE") {
						want = queue
					}
					if rec["OwnerId"] != want {
						t.Fatalf("OwnerId = %v, want %v", rec["OwnerId"], want)
					}
				})
			}
		}
	}
}

func TestAssignmentRuleLeadNotContact(t *testing.T) {
	srv := startServer(t, Options{Strict: true})
	a := newAPI(t, srv, "")
	lead := a.mustCreate("Lead", map[string]any{"LastName": "L", "Company": "C"})
	contact := a.mustCreate("Contact", map[string]any{"LastName": "C"})
	if rec, _ := srv.Record("Lead", lead); rec["OwnerId"] != srv.queueID {
		t.Fatalf("lead owner %v", rec["OwnerId"])
	}
	if rec, _ := srv.Record("Contact", contact); rec["OwnerId"] != srv.adminID {
		t.Fatalf("contact owner %v", rec["OwnerId"])
	}
}

// matchIDs reads duplicateResult.matchResults[0].matchRecords[].record.Id
// of an error item, checking each attributes.type.
func matchIDs(t *testing.T, errItem any, typ string) []string {
	t.Helper()
	var out []string
	for _, mr := range dig(t, errItem, "duplicateResult", "matchResults", 0, "matchRecords").([]any) {
		if got := dig(t, mr, "record", "attributes", "type"); got != typ {
			t.Fatalf("attributes.type = %v", got)
		}
		out = append(out, dig(t, mr, "record", "Id").(string))
	}
	return out
}

func TestDuplicateRules(t *testing.T) {
	const allow = "Sforce-Duplicate-Rule-Header"
	srv := startServer(t, Options{Strict: true})
	a := newAPI(t, srv, "")
	first := a.mustCreate("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})

	// Alert: same names and e-mail in another case.
	dup := map[string]any{"FirstName": "ADA", "LastName": "lovelace", "Email": "Ada@Example.com"}
	r := a.call(http.MethodPost, "sobjects/Contact", dup)
	wantError(t, "contact duplicate", r, 400, "DUPLICATES_DETECTED", "")
	item := dig(t, r.json(t), 0)
	if ids := matchIDs(t, item, "Contact"); fmt.Sprint(ids) != "["+first+"]" || dig(t, item, "duplicateResult", "allowSave") != true || dig(t, item, "message") == "" {
		t.Fatalf("duplicateResult: %s", r.body)
	}
	if n := len(srv.Records("Contact")); n != 1 {
		t.Fatalf("a refused duplicate was saved: %d contacts", n)
	}
	for _, hv := range []string{"allowSave=true", "allowSave=TRUE, includeRecordDetails=true"} {
		if r := a.call(http.MethodPost, "sobjects/Contact", dup, allow, hv); r.status != 201 {
			t.Fatalf("allowSave %q: %d %s", hv, r.status, r.body)
		}
	}
	// No e-mail, or another first name: no match.
	a.mustCreate("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	a.mustCreate("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	a.mustCreate("Contact", map[string]any{"FirstName": "Augusta", "LastName": "Lovelace", "Email": "ada@example.com"})
	// An update into a duplicate alerts too.
	other := a.mustCreate("Contact", map[string]any{"FirstName": "Ada", "LastName": "Byron", "Email": "ada@example.com"})
	wantError(t, "update into a duplicate", a.call(http.MethodPatch, "sobjects/Contact/"+other, map[string]any{"LastName": "Lovelace"}), 400, "DUPLICATES_DETECTED", "")

	// Block: a lead with the same e-mail, allowSave or not.
	lead := a.mustCreate("Lead", map[string]any{"LastName": "L", "Company": "C", "Email": "lead@example.com"})
	for _, hdr := range [][]string{nil, {allow, "allowSave=true"}} {
		r := a.call(http.MethodPost, "sobjects/Lead", map[string]any{"LastName": "M", "Company": "D", "Email": "LEAD@example.com"}, hdr...)
		wantError(t, fmt.Sprintf("lead duplicate %v", hdr), r, 400, "DUPLICATES_DETECTED", "")
		item := dig(t, r.json(t), 0)
		if ids := matchIDs(t, item, "Lead"); fmt.Sprint(ids) != "["+lead+"]" || dig(t, item, "duplicateResult", "allowSave") != false {
			t.Fatalf("lead duplicateResult: %s", r.body)
		}
	}
	a.mustCreate("Lead", map[string]any{"LastName": "N", "Company": "E"}) // no e-mail, no match

	// Collections: the error sits in that record's errors[].
	r = a.call(http.MethodPost, "composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "Lead"}, "LastName": "O", "Company": "F", "Email": "lead@example.com"},
		map[string]any{"attributes": map[string]any{"type": "Lead"}, "LastName": "P", "Company": "G", "Email": "new@example.com"},
	}}, allow, "allowSave=true")
	res := r.json(t)
	if dig(t, res, 0, "success") != false || dig(t, res, 0, "errors", 0, "statusCode") != "DUPLICATES_DETECTED" || dig(t, res, 1, "success") != true {
		t.Fatalf("collections: %s", r.body)
	}
	if ids := matchIDs(t, dig(t, res, 0, "errors", 0), "Lead"); fmt.Sprint(ids) != "["+lead+"]" {
		t.Fatalf("collections matches: %s", r.body)
	}
}

func TestDuplicateRulesOnlyWhenStrict(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	for range 2 {
		a.mustCreate("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
		a.mustCreate("Lead", map[string]any{"LastName": "L", "Company": "C", "Email": "lead@example.com"})
	}
}

// StrictDifferences counts, in either kind of org, each answer a strict
// org gives otherwise: what lets .ci/test skip the strict rerun of a test
// whose org counted none.
func TestStrictDifferences(t *testing.T) {
	const allow, assign = "Sforce-Duplicate-Rule-Header", "Sforce-Auto-Assign"
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			srv := startServer(t, Options{Strict: strict})
			a := newAPI(t, srv, "") // one approval
			step := func(what string, want int64, write func()) {
				t.Helper()
				before := srv.StrictDifferences()
				write()
				if got := srv.StrictDifferences() - before; got != want {
					t.Fatalf("%s: %d differences, want %d", what, got, want)
				}
			}
			post := func(object string, fields map[string]any, hdr ...string) int {
				return a.call(http.MethodPost, "sobjects/"+object, fields, hdr...).status
			}
			ada := map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"}
			step("case the rule may not assign", 0, func() { post("Case", map[string]any{"Subject": "x"}, assign, "FALSE") })
			step("case the rule assigns", 1, func() { post("Case", map[string]any{"Subject": "x"}) })
			step("contact", 0, func() { post("Contact", ada) })
			step("duplicate contact saved anyway", 0, func() { post("Contact", ada, allow, "allowSave=true") })
			step("duplicate contact", 1, func() {
				if got, want := post("Contact", ada), map[bool]int{false: 201, true: 400}[strict]; got != want {
					t.Fatalf("duplicate contact: %d, want %d", got, want)
				}
			})
			lead := map[string]any{"LastName": "L", "Company": "C", "Email": "lead@example.com"}
			step("lead", 0, func() { post("Lead", lead, assign, "FALSE") })
			step("blocked duplicate lead", 1, func() { post("Lead", lead, assign, "FALSE", allow, "allowSave=true") })
			step("four more approvals", 0, func() {
				for range 4 {
					login(t, srv, DefaultUsername)
				}
			})
			step("an approval over the limit", 1, func() { login(t, srv, DefaultUsername) })
		})
	}
}

func TestApprovalLimit(t *testing.T) {
	for _, tc := range []struct {
		strict bool
		live   int
	}{{false, 6}, {true, 5}} {
		t.Run(fmt.Sprintf("strict=%v", tc.strict), func(t *testing.T) {
			srv := startServer(t, Options{Strict: tc.strict})
			var tokens []tokenResponse
			for range 6 {
				tokens = append(tokens, login(t, srv, "agent@sfsim.test"))
			}
			info, ok := srv.UserInfo("agent@sfsim.test")
			if !ok || info.RefreshTokens != tc.live {
				t.Fatalf("refresh_tokens = %d, want %d", info.RefreshTokens, tc.live)
			}
			status, _ := postForm(t, srv.LoginURL+"/services/oauth2/token", url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {tokens[0].RefreshToken}, "client_id": {DefaultClientID},
			})
			if want := map[bool]int{false: 200, true: 400}[tc.strict]; status != want {
				t.Fatalf("oldest refresh token: %d, want %d", status, want)
			}
			// The oldest approval's session went with it.
			r := (&api{t: t, base: tokens[0].InstanceURL, token: tokens[0].AccessToken, version: "62.0", hc: testClient}).call(http.MethodGet, "limits", nil)
			if want := map[bool]int{false: 200, true: 401}[tc.strict]; r.status != want {
				t.Fatalf("oldest session: %d, want %d", r.status, want)
			}
			if status, _ := refresh(t, srv, tokens[5].RefreshToken); status != 200 {
				t.Fatalf("newest refresh token: %d", status)
			}
			// Another user's approvals are their own.
			login(t, srv, "other@sfsim.test")
			if info, _ := srv.UserInfo("agent@sfsim.test"); info.RefreshTokens != tc.live {
				t.Fatalf("another user's login changed the count: %d", info.RefreshTokens)
			}
		})
	}
}

func TestRestrictedProfile(t *testing.T) {
	srv := startServer(t, Options{})
	status, body := simCall(t, srv, http.MethodPost, "/__sim/users", `{"username":"ro@sfsim.test","last_name":"Ro","profile":"restricted"}`)
	if status != 201 || !strings.Contains(body, `"profile":"restricted"`) {
		t.Fatalf("create user: %d %s", status, body)
	}
	ro := newAPI(t, srv, "ro@sfsim.test")
	admin := newAPI(t, srv, "")
	fieldFacts := func(a *api) string {
		for _, f := range a.call(http.MethodGet, "sobjects/Case/describe", nil).obj(t)["fields"].([]any) {
			if m := f.(map[string]any); m["name"] == "Care_Agent_Email__c" {
				return fmt.Sprintf("createable:%v updateable:%v", m["createable"], m["updateable"])
			}
		}
		t.Fatal("no Care_Agent_Email__c in describe")
		return ""
	}
	if got := fieldFacts(ro); got != "createable:false updateable:false" {
		t.Fatalf("restricted describe: %s", got)
	}
	if got := fieldFacts(admin); got != "createable:true updateable:true" {
		t.Fatalf("standard describe: %s", got)
	}
	withEmail := map[string]any{"Subject": "x", "Care_Agent_Email__c": "agent@example.com"}
	checkRefused := func(r result) {
		t.Helper()
		if r.status != 400 || r.errCode(t) != "INVALID_FIELD_FOR_INSERT_UPDATE" || !strings.Contains(string(r.body), `"fields":["Care_Agent_Email__c"]`) {
			t.Fatalf("want INVALID_FIELD_FOR_INSERT_UPDATE on Care_Agent_Email__c: %d %s", r.status, r.body)
		}
	}
	checkRefused(ro.call(http.MethodPost, "sobjects/Case", withEmail))
	id := admin.mustCreate("Case", withEmail)
	checkRefused(ro.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"Care_Agent_Email__c": "b@example.com"}))
	checkRefused(ro.call(http.MethodPatch, "sobjects/Case/Care_Case_Id__c/k1", withEmail))
	r := ro.call(http.MethodPost, "composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "Case"}, "Subject": "x", "Care_Agent_Email__c": "a@example.com"},
	}})
	if dig(t, r.json(t), 0, "errors", 0, "statusCode") != "INVALID_FIELD_FOR_INSERT_UPDATE" {
		t.Fatalf("collections: %s", r.body)
	}
	// Reading and writing other fields work.
	ro.mustCreate("Case", map[string]any{"Subject": "y"})
	if r := ro.query("SELECT Care_Agent_Email__c FROM Case WHERE Id = '" + id + "'"); r.status != 200 || !strings.Contains(string(r.body), "agent@example.com") {
		t.Fatalf("restricted read: %d %s", r.status, r.body)
	}
	if status, body := simCall(t, srv, http.MethodPost, "/__sim/users", `{"username":"x@sfsim.test","last_name":"X","profile":"admin"}`); status != 400 {
		t.Fatalf("unknown profile: %d %s", status, body)
	}
}

func TestOtherOrgUser(t *testing.T) {
	srv := startServer(t, Options{})
	if _, err := srv.CreateUserWith(NewUser{Username: "elsewhere@other.test", LastName: "Else", Org: OrgOther}); err != nil {
		t.Fatal(err)
	}
	other := srv.OtherOrgID()
	if other == srv.OrgID() || !strings.HasPrefix(other, "00D") {
		t.Fatalf("other org id %s", other)
	}
	tr := login(t, srv, "elsewhere@other.test")
	if !strings.Contains(tr.ID, "/id/"+other+"/") {
		t.Fatalf("identity URL %s does not carry the other org", tr.ID)
	}
	for _, u := range []string{tr.ID, srv.LoginURL + "/services/oauth2/userinfo"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || m["organization_id"] != other {
			t.Fatalf("%s: %d organization_id %v", u, resp.StatusCode, m["organization_id"])
		}
	}
	// The home org's identity path for that user is refused.
	req, _ := http.NewRequest(http.MethodGet, srv.LoginURL+"/id/"+srv.OrgID()+"/"+tr.ID[strings.LastIndexByte(tr.ID, '/')+1:], nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	if resp, err := testClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("home org path: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Its tokens otherwise work.
	a := &api{t: t, base: tr.InstanceURL, token: tr.AccessToken, version: "62.0", hc: testClient}
	a.mustCreate("Contact", map[string]any{"LastName": "From elsewhere"})

	status, body := simCall(t, srv, http.MethodGet, "/__sim/users/elsewhere@other.test", "")
	want := fmt.Sprintf(`{"id":"%s","username":"elsewhere@other.test","org_id":"%s","profile":"standard","refresh_tokens":1}`, userIDOf(a), other)
	if status != 200 || strings.TrimSpace(body) != want {
		t.Fatalf("GET user: %d %s\nwant %s", status, body, want)
	}
	if status, _ := simCall(t, srv, http.MethodGet, "/__sim/users/nobody@sfsim.test", ""); status != 404 {
		t.Fatalf("unknown user: %d", status)
	}
	if status, body := simCall(t, srv, http.MethodPost, "/__sim/users", `{"username":"y@sfsim.test","last_name":"Y","org":"mars"}`); status != 400 {
		t.Fatalf("unknown org: %d %s", status, body)
	}
}

func TestRecordsReturned(t *testing.T) {
	srv := startServer(t, Options{QueryBatchSize: 2})
	a := newAPI(t, srv, "")
	for i := range 3 {
		a.mustCreate("Contact", map[string]any{"LastName": fmt.Sprint("C", i)})
	}
	r := a.query("SELECT Id FROM Contact")
	next, _ := r.obj(t)["nextRecordsUrl"].(string)
	if next == "" {
		t.Fatalf("want two pages: %s", r.body)
	}
	a.call(http.MethodGet, next, nil)
	a.query("SELECT COUNT() FROM Contact")
	if got := srv.Stats().RecordsReturned; got != 3 {
		t.Fatalf("records_returned = %d, want 3", got)
	}
	if _, body := simCall(t, srv, http.MethodGet, "/__sim/stats", ""); !strings.Contains(body, `"records_returned":3`) {
		t.Fatalf("stats: %s", body)
	}
	simCall(t, srv, http.MethodDelete, "/__sim/stats", "")
	if got := srv.Stats().RecordsReturned; got != 0 {
		t.Fatalf("after reset: %d", got)
	}
}

func TestFaultTargets(t *testing.T) {
	srv := startServer(t, Options{})
	tr := login(t, srv, "")
	a := newAPI(t, srv, "")
	refreshStatus := func() (int, string) {
		s, b := postForm(t, srv.LoginURL+"/services/oauth2/token", url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {DefaultClientID},
		})
		return s, string(b)
	}
	if status, body := simCall(t, srv, http.MethodPost, "/__sim/faults", `{"kind":"5xx","count":2,"target":"token"}`); status != 204 {
		t.Fatalf("inject: %d %s", status, body)
	}
	// The data API is untouched while the token endpoint fails.
	if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
		t.Fatalf("data call under a token fault: %d", r.status)
	}
	if status, _ := refreshStatus(); status != 503 {
		t.Fatalf("token call: %d, want 503", status)
	}
	if err := srv.InjectFault(Fault{Kind: FaultServerError, Status: 500, Target: FaultTargetToken}); err != nil {
		t.Fatal(err)
	}
	if status, _ := refreshStatus(); status != 503 {
		t.Fatalf("second token call: %d, want 503", status)
	}
	if status, body := refreshStatus(); status != 500 || !strings.Contains(body, `"error":"unknown_error"`) {
		t.Fatalf("token 500: %d %s", status, body)
	}
	if status, _ := refreshStatus(); status != 200 {
		t.Fatalf("after the faults: %d", status)
	}
	// A data fault (the default target) leaves the token endpoint alone.
	if status, _ := simCall(t, srv, http.MethodPost, "/__sim/faults", `{"kind":"5xx"}`); status != 204 {
		t.Fatal("inject data fault")
	}
	if status, _ := refreshStatus(); status != 200 {
		t.Fatalf("token call under a data fault: %d", status)
	}
	if r := a.call(http.MethodGet, "limits", nil); r.status != 503 {
		t.Fatalf("data call: %d, want 503", r.status)
	}
	// A lost token answer still issued the token (after_commit).
	rot := startServer(t, Options{RotateRefreshTokens: true})
	rtr := login(t, rot, "")
	if err := rot.InjectFault(Fault{Kind: FaultDrop, AfterCommit: true, Target: FaultTargetToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := testClient.PostForm(rot.LoginURL+"/services/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rtr.RefreshToken}, "client_id": {DefaultClientID},
	}); err == nil {
		t.Fatal("dropped token call answered")
	}
	if status, _ := refresh(t, rot, rtr.RefreshToken); status != 400 {
		t.Fatalf("the rotated-away refresh token still works: %d", status)
	}
	for _, body := range []string{`{"kind":"unable_to_lock_row","target":"token"}`, `{"kind":"5xx","target":"bulk"}`} {
		if status, _ := simCall(t, srv, http.MethodPost, "/__sim/faults", body); status != 400 {
			t.Fatalf("%s: %d, want 400", body, status)
		}
	}
}

func TestDeletedBySomeoneInSalesforce(t *testing.T) {
	clock, srv, a := clockedOrg(t, Options{})
	start := clock.Now()
	id := a.mustCreate("Case", map[string]any{"Subject": "x"})
	clock.Add(90*time.Second + 300*time.Millisecond)
	if status, body := simCall(t, srv, http.MethodDelete, "/__sim/records/Case/"+id, ""); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if status, _ := simCall(t, srv, http.MethodDelete, "/__sim/records/Case/"+id, ""); status != 404 {
		t.Fatalf("delete again: %d", status)
	}
	clock.Add(2 * time.Minute)
	r := a.replication("Case", "deleted", start, clock.Now())
	m := r.obj(t)
	if r.status != 200 || dig(t, m, "deletedRecords", 0, "id") != id || dig(t, m, "deletedRecords", 0, "deletedDate") != "2025-07-31T12:01:30.000+0000" ||
		m["earliestDateAvailable"] != "2025-07-31T12:00:00.000+0000" || m["latestDateCovered"] != "2025-07-31T12:03:00.000+0000" {
		t.Fatalf("deleted: %d %s", r.status, r.body)
	}
	// The delete log keeps 15 days.
	clock.Add(16 * 24 * time.Hour)
	*a = *newAPI(t, srv, "")
	r = a.replication("Case", "deleted", clock.Now().Add(-20*24*time.Hour), clock.Now())
	if r.status != 200 || len(r.obj(t)["deletedRecords"].([]any)) != 0 {
		t.Fatalf("after 16 days: %d %s", r.status, r.body)
	}
	for _, bad := range [][2]string{{"2025-08-16T12:00:00Z", "2025-08-16T11:00:00Z"}, {"yesterday", "2025-08-16T11:00:00Z"}, {"2025-06-01T00:00:00Z", "2025-08-16T11:00:00Z"}} {
		r := a.call(http.MethodGet, "sobjects/Case/deleted/?start="+url.QueryEscape(bad[0])+"&end="+url.QueryEscape(bad[1]), nil)
		wantError(t, fmt.Sprint(bad), r, 400, "INVALID_REPLICATION_DATE", "")
	}
}

func TestPollerQuery(t *testing.T) {
	clock, srv, a := clockedOrg(t, Options{})
	var keys, ids []string
	for i := range 300 {
		key := fmt.Sprintf("K%03d", i)
		id, err := srv.CreateRecord("Case", map[string]any{"Subject": "s", "Care_Case_Id__c": key})
		if err != nil {
			t.Fatal(err)
		}
		keys, ids = append(keys, "'"+key+"'"), append(ids, "'"+id+"'")
	}
	clock.Add(time.Second)
	mark := clock.Now()
	// Changes after the watermark, one of them to an unlinked case.
	for _, i := range []int{250, 7, 120} {
		if err := srv.UpdateRecord("Case", strings.Trim(ids[i], "'"), map[string]any{"Status": "Working"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.CreateRecord("Case", map[string]any{"Subject": "unlinked"}); err != nil {
		t.Fatal(err)
	}
	want := []string{ids[7], ids[120], ids[250]} // same second: Id order
	for _, where := range []string{"Care_Case_Id__c IN (" + strings.Join(keys, ",") + ")", "Id IN (" + strings.Join(ids, ", ") + ")"} {
		q := "SELECT Id, Care_Case_Id__c, Status, SystemModstamp FROM Case WHERE " + where +
			" AND SystemModstamp >= " + mark.Format("2006-01-02T15:04:05Z") + " ORDER BY SystemModstamp, Id"
		r := a.query(q)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var got []string
		for _, rec := range dig(t, r.json(t), "records").([]any) {
			got = append(got, "'"+rec.(map[string]any)["Id"].(string)+"'")
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("WHERE %.40s…: %v, want %v", where, got, want)
		}
	}
}
