package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Conformance with the reference Salesforce bodies in ../shared/sf-fixtures
// (SOURCES.md grades them: trust shapes, not values). For each fixture that
// applies to what the simulator serves, the test makes the matching request
// and compares: the same HTTP status, the same keys, the same JSON types,
// and for error bodies the same errorCode (and the same message where the
// fixture's message depends only on the request). Ids and dates differ.
//
// Two rules make "same shape" precise:
//   - null in either body matches any type: nullness depends on values.
//   - a key the simulator adds must be on the case's list of keys that
//     newer API versions add (the fixtures are mostly v20-v26).

// fixturesDir is ../shared beside the repository (CI has it there too).
var fixturesDir = filepath.Join("..", "..", "..", "shared", "sf-fixtures")

// whizbang mirrors the custom object of the restforce fixtures.
const whizbangSchema = `objects:
  Whizbang:
    key_prefix: "a01"
    fields:
      Auto_Number: {type: string, length: 30, external_id: true}
      CampaignId: {type: string, length: 18}
      Checkbox_Label: {type: boolean}
      Currency_Label: {type: currency}
      Date_Label: {type: date}
      DateTime_Label: {type: datetime}
      OtherDateTime_Label: {type: datetime}
      Email_Label: {type: email}
      Number_Label: {type: double}
      Percent_Label: {type: percent}
      Phone_Label: {type: phone}
      Picklist_Label: {type: picklist, values: [one, two, three]}
      Picklist_Multiselect_Label: {type: multipicklist, values: [four, five, six]}
      Text_Label: {type: string, length: 80}
      TextArea_Label: {type: textarea, length: 255}
      TextAreaLong_Label: {type: textarea, length: 32768}
      TextAreaRich_Label: {type: textarea, length: 32768}
      URL_Label: {type: url}
      ParentWhizbang__c: {type: reference, reference_to: Whizbang}
`

func readFixture(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, name))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return decodeJSON(t, b)
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// shapeDiff lists the differences in shape between a fixture and our body.
// extra names the keys ours may add.
func shapeDiff(path string, fix, ours any, extra map[string]bool) []string {
	fk, ok := kind(fix), kind(ours)
	if fk == "null" || ok == "null" {
		return nil
	}
	if fk != ok {
		return []string{fmt.Sprintf("%s: fixture %s, simulator %s", path, fk, ok)}
	}
	var diffs []string
	switch f := fix.(type) {
	case map[string]any:
		o := ours.(map[string]any)
		for _, k := range sortedKeys(f) {
			ov, present := o[k]
			if !present {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			diffs = append(diffs, shapeDiff(path+"."+k, f[k], ov, extra)...)
		}
		for _, k := range sortedKeys(o) {
			if _, inFix := f[k]; !inFix && !extra[k] {
				diffs = append(diffs, fmt.Sprintf("%s.%s: not in the fixture", path, k))
			}
		}
	case []any:
		o := ours.([]any)
		if len(f) == 0 || len(o) == 0 {
			return nil
		}
		// Every element of ours is compared with the union of the
		// fixture's elements (describe fields differ a little by type).
		model := mergeElements(f)
		for i, el := range o {
			diffs = append(diffs, shapeDiff(fmt.Sprintf("%s[%d]", path, i), model, el, extra)...)
		}
	}
	return diffs
}

// mergeElements folds the objects of an array into one with every key
// (the first non-null value wins); other arrays give their first element.
func mergeElements(arr []any) any {
	if _, ok := arr[0].(map[string]any); !ok {
		return arr[0]
	}
	out := map[string]any{}
	for _, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			return arr[0]
		}
		for k, v := range m {
			if cur, seen := out[k]; !seen || cur == nil {
				out[k] = v
			}
		}
	}
	return out
}

// confEnv is one simulator with the Whizbang object and data in it.
type confEnv struct {
	t                     *testing.T
	srv                   *Server
	a                     *api
	parent, record, child string
	otherSecondPage       string
}

func newConfEnv(t *testing.T) *confEnv {
	ext, err := ParseSchema("whizbang.yaml", []byte(whizbangSchema))
	if err != nil {
		t.Fatal(err)
	}
	key := jwtKey(t)
	pub := &key.PublicKey
	srv := startServer(t, Options{Schema: ext, JWTPublicKey: pub, QueryBatchSize: 1})
	e := &confEnv{t: t, srv: srv, a: newAPI(t, srv, "")}
	e.parent = mustSeed(t, srv, "Whizbang", map[string]any{"Text_Label": "Hello"})
	e.record = mustSeed(t, srv, "Whizbang", map[string]any{
		"Auto_Number": "A-1", "CampaignId": "701E0000000JuFHIA0", "Checkbox_Label": true, "Currency_Label": 23.0, "Date_Label": "2010-01-01",
		"DateTime_Label": "2011-07-07T00:37:00.000+0000", "Email_Label": "danny@example.com", "Number_Label": 23.0,
		"Percent_Label": 33.0, "Phone_Label": "(415) 555-1212", "Picklist_Label": "one", "Picklist_Multiselect_Label": "four;six",
		"Text_Label": "some text", "TextArea_Label": "a text area", "TextAreaLong_Label": "a loooooooooooooong text area",
		"TextAreaRich_Label": "Rich <strong>text</strong>", "URL_Label": "http://pivotallabs.com", "ParentWhizbang__c": e.parent,
	})
	e.child = mustSeed(t, srv, "Whizbang", map[string]any{"ParentWhizbang__c": e.record, "Text_Label": "Child"})
	return e
}

type confCase struct {
	fixture string
	status  int
	// run makes the request and returns our answer.
	run func(e *confEnv) result
	// exact compares the decoded bodies for equality (fixtures whose
	// values depend only on the request).
	exact bool
	// extra lists keys newer API versions add.
	extra []string
	// check runs extra assertions on our body.
	check func(t *testing.T, e *confEnv, ours any)
	// shape replaces the generic shape comparison.
	shape func(fix, ours any) []string
}

func tokenCall(e *confEnv, form url.Values) result {
	resp, err := testClient.PostForm(e.srv.LoginURL+"/services/oauth2/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
}

func jwtCall(e *confEnv, change func(map[string]any)) result {
	claims := map[string]any{"iss": DefaultClientID, "sub": DefaultUsername, "aud": e.srv.LoginURL, "exp": time.Now().Add(3 * time.Minute).Unix()}
	if change != nil {
		change(claims)
	}
	return tokenCall(e, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {signJWT(e.t, jwtKey(e.t), claims)}})
}

var conformanceCases = []confCase{
	{fixture: "versions_list.json", status: 200, run: func(e *confEnv) result {
		resp, err := testClient.Get(e.srv.InstanceURL + "/services/data")
		if err != nil {
			e.t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return result{status: resp.StatusCode, body: b.Bytes()}
	}},
	{fixture: "sobject_create_success.json", status: 201, run: func(e *confEnv) result {
		return e.a.call(http.MethodPost, "sobjects/Whizbang", map[string]any{"Text_Label": "new"})
	}},
	{fixture: "sobject_get_record.json", status: 200, extra: []string{"CreatedDate", "LastModifiedDate", "SystemModstamp", "ParentWhizbang__c", "CampaignId"},
		run: func(e *confEnv) result {
			r := e.a.call(http.MethodGet, "sobjects/Whizbang/"+e.record, nil)
			if !bytes.Contains(r.body, []byte(`"Rich <strong>text</strong>"`)) {
				e.t.Errorf("Salesforce does not escape < and >: %s", r.body)
			}
			return r
		},
		check: func(t *testing.T, e *confEnv, ours any) {
			m := ours.(map[string]any)
			if m["DateTime_Label"] != "2011-07-07T00:37:00.000+0000" || m["Date_Label"] != "2010-01-01" || m["Picklist_Multiselect_Label"] != "four;six" || m["TextAreaRich_Label"] != "Rich <strong>text</strong>" {
				t.Errorf("value encodings differ: %v", m)
			}
		}},
	{fixture: "upsert_created_pre_v46.json", status: 201, run: func(e *confEnv) result {
		old := *e.a
		old.version = "45.0"
		return old.call(http.MethodPatch, "sobjects/Case/Care_Case_Id__c/conf-1", map[string]any{"Subject": "x"})
	}},
	{fixture: "upsert_multiple_matches_300.json", status: 300, run: func(e *confEnv) result {
		return e.a.call(http.MethodGet, "sobjects/Whizbang/Auto_Number/dup", nil)
	}},
	{fixture: "error_invalid_session.json", status: 401, exact: true, run: func(e *confEnv) result {
		bad := *e.a
		bad.token = "00D!expired"
		return bad.call(http.MethodGet, "sobjects", nil)
	}},
	{fixture: "error_invalid_field_on_write.json", status: 400, run: func(e *confEnv) result {
		return e.a.call(http.MethodPost, "sobjects/Whizbang", map[string]any{"foo": 1})
	}, check: func(t *testing.T, e *confEnv, ours any) {
		if msg := ours.([]any)[0].(map[string]any)["message"]; msg != "No such column 'foo' on sobject of type Whizbang" {
			t.Errorf("message %q", msg)
		}
	}},
	{fixture: "error_not_found_bad_id_in_path.json", status: 404, exact: true, run: func(e *confEnv) result {
		return e.a.call(http.MethodGet, "sobjects/Whizbang/23foo", nil)
	}},
	{fixture: "error_not_found_resource.json", status: 404, exact: true, run: func(e *confEnv) result {
		return e.a.call(http.MethodGet, "sobjects/NotAnObject/describe", nil)
	}},
	{fixture: "error_upsert_unknown_external_id_field.json", status: 404, exact: true, run: func(e *confEnv) result {
		return e.a.call(http.MethodPatch, "sobjects/Whizbang/Namez/abc", map[string]any{"Text_Label": "x"})
	}},
	{fixture: "error_malformed_search.json", status: 400, exact: true, run: func(e *confEnv) result {
		return e.a.call(http.MethodGet, "search?q="+url.QueryEscape("FIND Whizbang"), nil)
	}},
	{fixture: "query_page1_not_done.json", status: 200, run: func(e *confEnv) result {
		return e.a.query("SELECT Text_Label FROM Whizbang ORDER BY Text_Label")
	}, check: func(t *testing.T, e *confEnv, ours any) {
		m := ours.(map[string]any)
		e.otherSecondPage = m["nextRecordsUrl"].(string)
	}},
	{fixture: "query_page2_done.json", status: 200, run: func(e *confEnv) result {
		// Walk to the last page (batch size 1).
		r := e.a.query("SELECT Text_Label FROM Whizbang ORDER BY Text_Label")
		for {
			m := r.obj(e.t)
			next, ok := m["nextRecordsUrl"].(string)
			if !ok {
				return r
			}
			r = e.a.call(http.MethodGet, next, nil)
		}
	}},
	{fixture: "query_with_parent_and_child_relationships.json", status: 200, run: func(e *confEnv) result {
		return e.a.query("SELECT Checkbox_Label, Text_Label, Date_Label, DateTime_Label, Picklist_Multiselect_Label, ParentWhizbang__r.Name, ParentWhizbang__r.Text_Label, (SELECT Name FROM Whizbangs__r) FROM Whizbang WHERE Id = '" + e.record + "'")
	}},
	{fixture: "query_aggregate.json", status: 200, run: func(e *confEnv) result {
		return e.a.query("SELECT CampaignId, SUM(Number_Label) FROM Whizbang GROUP BY CampaignId")
	}},
	{fixture: "query_empty.json", status: 200, exact: true, run: func(e *confEnv) result {
		return e.a.query("SELECT Id FROM Whizbang WHERE Text_Label = 'nothing'")
	}},
	{fixture: "search_sosl_legacy_array_pre_v36.json", status: 200, run: func(e *confEnv) result {
		old := *e.a
		old.version = "35.0"
		return old.call(http.MethodGet, "search?q="+url.QueryEscape("FIND {Hello} RETURNING Whizbang"), nil)
	}},
	{fixture: "get_updated.json", status: 200, run: func(e *confEnv) result {
		now := time.Now().UTC()
		return e.a.call(http.MethodGet, "sobjects/Whizbang/updated/?start="+url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339))+"&end="+url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339)), nil)
	}},
	{fixture: "get_deleted.json", status: 200, run: func(e *confEnv) result {
		if err := e.srv.DeleteRecord("Whizbang", e.child); err != nil {
			e.t.Fatal(err)
		}
		now := time.Now().UTC()
		return e.a.call(http.MethodGet, "sobjects/Whizbang/deleted/?start="+url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339))+"&end="+url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339)), nil)
	}},
	{fixture: "describe_global_excerpt.json", status: 200, run: func(e *confEnv) result {
		return e.a.call(http.MethodGet, "sobjects", nil)
	}},
	{fixture: "describe_custom_object_v23.json", status: 200, extra: []string{"developerName", "master", "active", "urls", "layout"},
		run:   func(e *confEnv) result { return e.a.call(http.MethodGet, "sobjects/Whizbang/describe", nil) },
		check: checkDescribeByType},
	{fixture: "limits_developer_edition_v50.json", status: 200, shape: limitsShape, run: func(e *confEnv) result {
		return e.a.call(http.MethodGet, "limits", nil)
	}},
	{fixture: "oauth_token_webserver_success_redacted.json", status: 200, run: func(e *confEnv) result {
		status, body := authorize(e.t, e.srv, "", "api refresh_token openid")
		return result{status: status, body: body}
	}},
	{fixture: "oauth_refresh_success_no_refresh_token.json", status: 200, extra: []string{"scope", "token_type"}, run: func(e *confEnv) result {
		tr := login(e.t, e.srv, "")
		return tokenCall(e, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {DefaultClientID}})
	}},
	// A JWT bearer answer has the shape of this (password-grant) answer:
	// no refresh token; current orgs add token_type and scope.
	{fixture: "oauth_token_password_success.json", status: 200, extra: []string{"scope", "token_type"}, run: func(e *confEnv) result {
		return jwtCall(e, nil)
	}},
	{fixture: "oauth_refresh_error_expired.json", status: 400, exact: true, run: func(e *confEnv) result {
		return tokenCall(e, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"5Aep861revoked"}, "client_id": {DefaultClientID}})
	}},
	{fixture: "oauth_jwt_error_user_not_approved.json", status: 400, exact: true, run: func(e *confEnv) result {
		return jwtCall(e, func(c map[string]any) { c["sub"] = "stranger@example.com" })
	}},
	{fixture: "oauth_jwt_error_audience_invalid.json", status: 400, exact: true, run: func(e *confEnv) result {
		return jwtCall(e, func(c map[string]any) { c["aud"] = e.srv.LoginURL + "/services/oauth2/token" })
	}},
	// The password grant is not served; its error has the token endpoint's
	// error shape, compared with a failed code exchange.
	{fixture: "oauth_error_authentication_failure.json", status: 400, run: func(e *confEnv) result {
		return tokenCall(e, url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "redirect_uri": {testRedirect}})
	}},
}

// limitsShape compares /limits: the same limit names, each {Max, Remaining}
// numbers plus per-connected-app children of the same form (the apps are
// the org's own, so their names differ).
func limitsShape(fix, ours any) []string {
	f, o := fix.(map[string]any), ours.(map[string]any)
	var diffs []string
	if got, want := strings.Join(sortedKeys(o), ","), strings.Join(sortedKeys(f), ","); got != want {
		diffs = append(diffs, "limit names differ:\n  simulator "+got+"\n  fixture   "+want)
	}
	for name, v := range o {
		m, ok := v.(map[string]any)
		if !ok {
			diffs = append(diffs, name+": not an object")
			continue
		}
		for k, x := range m {
			switch k {
			case "Max", "Remaining":
				if kind(x) != "number" {
					diffs = append(diffs, name+"."+k+": not a number")
				}
			default:
				app, ok := x.(map[string]any)
				if !ok || kind(app["Max"]) != "number" || kind(app["Remaining"]) != "number" || len(app) != 2 {
					diffs = append(diffs, name+"."+k+": not {Max, Remaining}")
				}
				if fm, _ := f[name].(map[string]any); len(fm) <= 2 {
					diffs = append(diffs, name+"."+k+": the fixture has no per-app figures here")
				}
			}
		}
	}
	return diffs
}

// checkDescribeByType compares each fixture field with our field of the
// same type: the same soapType and the same byteLength rule.
func checkDescribeByType(t *testing.T, e *confEnv, ours any) {
	fix := readFixture(t, "describe_custom_object_v23.json").(map[string]any)
	byType := map[string]map[string]any{}
	for _, f := range ours.(map[string]any)["fields"].([]any) {
		m := f.(map[string]any)
		if _, seen := byType[m["type"].(string)]; !seen {
			byType[m["type"].(string)] = m
		}
	}
	for _, f := range fix["fields"].([]any) {
		fm := f.(map[string]any)
		typ := fm["type"].(string)
		om := byType[typ]
		if om == nil {
			t.Errorf("no %s field in the simulator's describe", typ)
			continue
		}
		if om["soapType"] != fm["soapType"] {
			t.Errorf("%s: soapType %v, fixture %v", typ, om["soapType"], fm["soapType"])
		}
		if l, ok := om["length"].(json.Number); ok && (typ == "string" || typ == "textarea" || typ == "email" || typ == "phone" || typ == "url" || typ == "picklist") {
			if om["byteLength"].(json.Number).String() != fmt.Sprint(3*mustInt(l)) {
				t.Errorf("%s: byteLength %v for length %v", typ, om["byteLength"], l)
			}
		}
	}
}

func mustInt(n json.Number) int64 {
	i, _ := n.Int64()
	return i
}

// notApplicable lists the files of the fixtures directory no case uses.
var notApplicable = map[string]string{
	"SOURCES.md":        "provenance notes",
	"limits_header.txt": "checked by TestLimitHeaderFixture",
}

func TestConformance(t *testing.T) {
	if _, err := os.Stat(fixturesDir); err != nil {
		t.Fatalf("fixtures not found at %s (../shared beside the repository): %v", fixturesDir, err)
	}
	e := newConfEnv(t)
	// Two records share an Auto_Number for the 300 case.
	mustSeed(t, e.srv, "Whizbang", map[string]any{"Auto_Number": "dup"})
	mustSeed(t, e.srv, "Whizbang", map[string]any{"Auto_Number": "dup"})
	e.t = t
	covered := map[string]bool{}
	for _, tc := range conformanceCases {
		covered[tc.fixture] = true
		t.Run(tc.fixture, func(t *testing.T) {
			e.t = t
			fix := readFixture(t, tc.fixture)
			r := tc.run(e)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			ours := decodeJSON(t, r.body)
			if tc.exact {
				if !reflect.DeepEqual(fix, ours) {
					t.Fatalf("body differs:\nfixture   %v\nsimulator %s", fix, r.body)
				}
				return
			}
			extra := map[string]bool{}
			for _, k := range tc.extra {
				extra[k] = true
			}
			diffs := shapeDiff("$", fix, ours, extra)
			if tc.shape != nil {
				diffs = tc.shape(fix, ours)
			}
			if len(diffs) > 0 {
				t.Fatalf("shape differs from %s:\n%s\nbody: %.2000s", tc.fixture, strings.Join(diffs, "\n"), r.body)
			}
			if fa, ok := fix.([]any); ok && len(fa) > 0 {
				if fe, ok := fa[0].(map[string]any); ok && fe["errorCode"] != nil {
					if oe := ours.([]any)[0].(map[string]any); oe["errorCode"] != fe["errorCode"] {
						t.Fatalf("errorCode %v, fixture %v", oe["errorCode"], fe["errorCode"])
					}
				}
			}
			if fm, ok := fix.(map[string]any); ok && fm["error"] != nil {
				if om := ours.(map[string]any); kind(om["error"]) != "string" || kind(om["error_description"]) != "string" {
					t.Fatalf("token error shape: %s", r.body)
				}
			}
			if tc.check != nil {
				tc.check(t, e, ours)
			}
		})
	}
	entries, err := os.ReadDir(fixturesDir)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, ent := range entries {
		if !covered[ent.Name()] && notApplicable[ent.Name()] == "" {
			missing = append(missing, ent.Name())
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("fixtures without a conformance case: %v", missing)
	}
}

func TestLimitHeaderFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixturesDir, "limits_header.txt"))
	if err != nil {
		t.Fatal(err)
	}
	name, value, _ := strings.Cut(strings.TrimSpace(string(b)), ": ")
	shape := regexp.MustCompile(`^api-usage=\d+/\d+$`)
	if !shape.MatchString(value) {
		t.Fatalf("fixture value %q", value)
	}
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	r := a.call(http.MethodGet, "sobjects", nil)
	if got := r.header.Get(name); !shape.MatchString(got) {
		t.Fatalf("%s: %q", name, got)
	}
}

func TestShapeDiff(t *testing.T) {
	parse := func(s string) any { return decodeJSON(t, []byte(s)) }
	tests := []struct {
		fix, ours string
		extra     []string
		want      int
	}{
		{`{"a":1,"b":"x"}`, `{"a":2,"b":"y"}`, nil, 0},
		{`{"a":1,"b":"x"}`, `{"a":"1","b":"y"}`, nil, 1},
		{`{"a":1,"b":"x"}`, `{"a":1}`, nil, 1},
		{`{"a":1}`, `{"a":1,"c":true}`, nil, 1},
		{`{"a":1}`, `{"a":1,"c":true}`, []string{"c"}, 0},
		{`{"a":null}`, `{"a":"anything"}`, nil, 0},
		{`[{"a":1},{"b":2}]`, `[{"a":1,"b":2},{"a":3,"b":4}]`, nil, 0},
		{`[{"a":1}]`, `[{"a":1},{"a":"x"}]`, nil, 1},
		{`{"r":[{"x":{"y":1}}]}`, `{"r":[{"x":{"y":[]}}]}`, nil, 1},
	}
	for _, tc := range tests {
		extra := map[string]bool{}
		for _, k := range tc.extra {
			extra[k] = true
		}
		if got := shapeDiff("$", parse(tc.fix), parse(tc.ours), extra); len(got) != tc.want {
			t.Errorf("%s vs %s: %v, want %d differences", tc.fix, tc.ours, got, tc.want)
		}
	}
}

// TestDescribeKeyOrder: the describe bodies list their keys in
// Salesforce's order (the fixtures'): the full describe's, fields, child
// relationships and record types among the object's own keys, as in
// describe_custom_object_v23.json; each describeGlobal entry's as in
// describe_global_excerpt.json.
func TestDescribeKeyOrder(t *testing.T) {
	e := newConfEnv(t)
	fixDescribe, err := os.ReadFile(filepath.Join(fixturesDir, "describe_custom_object_v23.json"))
	if err != nil {
		t.Fatal(err)
	}
	fixGlobal, err := os.ReadFile(filepath.Join(fixturesDir, "describe_global_excerpt.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		ours, fixture []byte
	}{
		{"describe", e.a.call(http.MethodGet, "sobjects/Whizbang/describe", nil).body, fixDescribe},
		{"describeGlobal entry", firstSObject(t, e.a.call(http.MethodGet, "sobjects", nil).body), firstSObject(t, fixGlobal)},
	} {
		if got, want := orderedKeys(t, tc.ours), orderedKeys(t, tc.fixture); !slices.Equal(got, want) {
			t.Errorf("%s keys:\n  simulator %v\n  fixture   %v", tc.name, got, want)
		}
	}
}

// firstSObject is the first entry of a describeGlobal body, as sent.
func firstSObject(t *testing.T, body []byte) []byte {
	t.Helper()
	var global struct {
		SObjects []json.RawMessage `json:"sobjects"`
	}
	if err := json.Unmarshal(body, &global); err != nil || len(global.SObjects) == 0 {
		t.Fatalf("describeGlobal body %.200s: %v", body, err)
	}
	return global.SObjects[0]
}

// orderedKeys lists the keys of a JSON object in the order sent.
func orderedKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var keys []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %.200s", body)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
	}
	return keys
}
