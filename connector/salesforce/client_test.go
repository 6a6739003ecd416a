package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/expect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const v = "/services/data/v62.0"

func TestQueryFollowsNextRecordsURL(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+v+"/query", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, fixture(t, "query_page1_not_done.json"))
	})
	mux.HandleFunc("GET /services/data/v26.0/query/01gD", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, fixture(t, "query_page2_done.json"))
	})
	c, rec, _ := newOrg(t, mux, Options{QueryBatchSize: 200})
	const soql = "SELECT Text_Label FROM Whizbang WHERE Name = 'a b'"
	recs, err := c.Query(context.Background(), soql)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range recs {
		labels = append(labels, r.String("Text_Label"))
	}
	if !reflect.DeepEqual(labels, []string{"First Page", "Last Page"}) {
		t.Errorf("labels %v", labels)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	q, _ := url.ParseQuery(reqs[0].RawQuery)
	if q.Get("q") != soql {
		t.Errorf("q = %q", q.Get("q"))
	}
	if reqs[1].Path != "/services/data/v26.0/query/01gD" || reqs[1].RawQuery != "" {
		t.Errorf("queryMore request %s?%s", reqs[1].Path, reqs[1].RawQuery)
	}
	for _, r := range reqs {
		if r.Auth != "Bearer "+testAccess {
			t.Errorf("auth header %q", r.Auth)
		}
		if got := r.Header.Get("Sforce-Query-Options"); got != "batchSize=200" {
			t.Errorf("query options %q", got)
		}
	}
}

func TestQueryPagesStopsOnCallbackError(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+v+"/query", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, fixture(t, "query_page1_not_done.json"))
	})
	c, rec, _ := newOrg(t, mux, Options{})
	stop := errors.New("stop")
	err := c.QueryPages(context.Background(), "SELECT Id FROM Whizbang", func(p *QueryResult) error {
		if p.TotalSize != 2 || p.Done {
			t.Errorf("page %+v", p)
		}
		return stop
	})
	if !errors.Is(err, stop) || rec.count() != 1 {
		t.Errorf("err %v after %d requests", err, rec.count())
	}
}

func TestQueryShapes(t *testing.T) {
	tests := []struct {
		fixture string
		check   func(t *testing.T, recs []Record)
	}{
		{"query_empty.json", func(t *testing.T, recs []Record) {
			if recs == nil || len(recs) != 0 {
				t.Errorf("recs %v", recs)
			}
		}},
		{"query_aggregate.json", func(t *testing.T, recs []Record) {
			if len(recs) != 3 || recs[0].Type() != "AggregateResult" {
				t.Fatalf("recs %v", recs)
			}
			if recs[0].String("expr0") != "300.0" || recs[2].String("expr0") != "400" {
				t.Errorf("numbers lost their spelling: %q %q", recs[0].String("expr0"), recs[2].String("expr0"))
			}
			if _, ok := recs[0]["expr0"].(json.Number); !ok {
				t.Errorf("expr0 is %T, want json.Number", recs[0]["expr0"])
			}
			if v, ok := recs[2].Get("CampaignId"); !ok || v != nil {
				t.Errorf("null field: %v %v", v, ok)
			}
		}},
		{"query_with_parent_and_child_relationships.json", func(t *testing.T, recs []Record) {
			r := recs[0]
			if r.String("ParentWhizbang__r.Name") != "Parent Whizbang" || r.String("ParentWhizbang__r.attributes.type") != "Whizbang" {
				t.Errorf("parent: %v", r["ParentWhizbang__r"])
			}
			kids := r.Children("Whizbangs__r")
			if len(kids) != 1 || kids[0].String("Name") != "Child Whizbang" {
				t.Errorf("children %v", kids)
			}
			if r.Bool("Checkbox_Label") || r.String("Checkbox_Label") != "false" {
				t.Errorf("bool")
			}
			ts, err := r.Time("DateTime_Label")
			if err != nil || !ts.Equal(time.Date(2011, 7, 7, 0, 37, 0, 0, time.UTC)) {
				t.Errorf("time %v %v", ts, err)
			}
			if r.String("Picklist_Multiselect_Label") != "four;six" {
				t.Errorf("multipicklist")
			}
			if _, ok := r.Get("Text_Label.x"); ok {
				t.Errorf("path through a string resolved")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET "+v+"/query", func(w http.ResponseWriter, r *http.Request) {
				serve(w, 200, fixture(t, tt.fixture))
			})
			c, _, _ := newOrg(t, mux, Options{})
			recs, err := c.Query(context.Background(), "SELECT Id FROM Whizbang")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, recs)
		})
	}
}

func TestQueryRefusesForeignNextRecordsURL(t *testing.T) {
	tests := []struct{ name, next string }{
		{"absolute other host", "https://evil.example.com/services/data/v62.0/query/01g-2000"},
		{"not a data path", "/secur/frontdoor.jsp"},
		{"traversal", "/services/data/../../x"},
		{"missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET "+v+"/query", func(w http.ResponseWriter, r *http.Request) {
				b, _ := json.Marshal(map[string]any{"totalSize": 2, "done": false, "nextRecordsUrl": tt.next, "records": []any{}})
				serve(w, 200, b)
			})
			c, rec, _ := newOrg(t, mux, Options{})
			if _, err := c.Query(context.Background(), "SELECT Id FROM Case"); err == nil {
				t.Fatal("no error")
			}
			if rec.count() != 1 {
				t.Errorf("%d requests", rec.count())
			}
		})
	}
}

func TestRefreshOnceThenRetry(t *testing.T) {
	tests := []struct {
		name        string
		renew       RenewFunc
		wantErr     bool
		wantClass   Class
		wantReqs    int
		wantRefresh int32
		wantGrant   bool
	}{
		{
			name:     "refresh succeeds",
			renew:    func(ctx context.Context, stale Token) (Token, error) { stale.AccessToken = "fresh"; return stale, nil },
			wantReqs: 2, wantRefresh: 1,
		},
		{
			name: "refreshed token still refused",
			renew: func(ctx context.Context, stale Token) (Token, error) {
				stale.AccessToken = "also-bad"
				return stale, nil
			},
			wantErr: true, wantClass: Auth, wantReqs: 2, wantRefresh: 1,
		},
		{
			name: "refresh fails invalid_grant",
			renew: func(ctx context.Context, stale Token) (Token, error) {
				return Token{}, newOAuthError("token", 400, []byte(`{"error":"invalid_grant","error_description":"expired access/refresh token"}`))
			},
			wantErr: true, wantClass: Auth, wantReqs: 1, wantRefresh: 1, wantGrant: true,
		},
		{
			// The token may be fine: the login host was not reached.
			name: "refresh gets no answer",
			renew: func(ctx context.Context, stale Token) (Token, error) {
				return Token{}, &NetworkError{Operation: "token", Err: errors.New("connection reset by peer")}
			},
			wantErr: true, wantClass: Retryable, wantReqs: 1, wantRefresh: 1,
		},
		{
			name: "refresh times out",
			renew: func(ctx context.Context, stale Token) (Token, error) {
				return Token{}, fmt.Errorf("tokens: refresh default: %w", context.DeadlineExceeded)
			},
			wantErr: true, wantClass: Retryable, wantReqs: 1, wantRefresh: 1,
		},
		{
			name: "refresh meets a 503",
			renew: func(ctx context.Context, stale Token) (Token, error) {
				return Token{}, newOAuthError("token", 503, []byte("<html>maintenance</html>"))
			},
			wantErr: true, wantClass: Retryable, wantReqs: 1, wantRefresh: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET "+v+"/limits", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer fresh" {
					serve(w, 401, fixture(t, "error_invalid_session.json"))
					return
				}
				serve(w, 200, []byte(`{"DailyApiRequests":{"Max":15000,"Remaining":14000}}`))
			})
			rec := &seen{}
			srv := newServer(t, rec, mux)
			var refreshes atomic.Int32
			var logs logBuffer
			sess := NewRefreshingSession(Token{AccessToken: testAccess, RefreshToken: testRefresh, InstanceURL: srv}, func(ctx context.Context, stale Token) (Token, error) {
				refreshes.Add(1)
				if stale.AccessToken != testAccess {
					t.Errorf("refresh got stale token %q", stale.AccessToken)
				}
				return tt.renew(ctx, stale)
			})
			c := New(testHTTPClient(), sess, Options{Logger: logs.Logger()})
			lim, err := c.Limits(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && lim["DailyApiRequests"].Remaining != 14000 {
				t.Errorf("limits %v", lim)
			}
			if err != nil {
				if Classify(err) != tt.wantClass {
					t.Errorf("class %v", Classify(err))
				}
				if !errors.Is(err, ErrSessionExpired) {
					t.Errorf("not ErrSessionExpired: %v", err)
				}
				if errors.Is(err, ErrInvalidGrant) != tt.wantGrant {
					t.Errorf("ErrInvalidGrant mismatch: %v", err)
				}
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != CodeInvalidSession {
					t.Errorf("APIError %+v", ae)
				}
				expect.NoSecret(t, "the error", err.Error(), testAccess, testRefresh, "also-bad", srv)
			}
			if rec.count() != tt.wantReqs || refreshes.Load() != tt.wantRefresh {
				t.Errorf("%d requests, %d refreshes", rec.count(), refreshes.Load())
			}
			expect.NoSecret(t, "the log", logs.String(), testAccess, testRefresh, "fresh\"", "also-bad")
		})
	}
}

func newServer(t *testing.T, rec *seen, mux *http.ServeMux) string {
	t.Helper()
	srv := httptest.NewServer(rec.wrap(mux))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRefreshMovesInstance(t *testing.T) {
	// After a refresh, calls go to the refreshed token's instance_url.
	oldMux := http.NewServeMux()
	oldMux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 401, fixture(t, "error_invalid_session.json"))
	})
	newMux := http.NewServeMux()
	newMux.HandleFunc("DELETE "+v+"/sobjects/Case/500RO00000A1b2cYAB", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(204)
	})
	oldRec, newRec := &seen{}, &seen{}
	oldURL, newURL := newServer(t, oldRec, oldMux), newServer(t, newRec, newMux)
	sess := NewRefreshingSession(Token{AccessToken: "a", InstanceURL: oldURL}, func(ctx context.Context, stale Token) (Token, error) {
		return Token{AccessToken: "b", InstanceURL: newURL}, nil
	})
	c := New(testHTTPClient(), sess, Options{})
	if err := c.Delete(context.Background(), "Case", "500RO00000A1b2cYAB"); err != nil {
		t.Fatal(err)
	}
	if oldRec.count() != 1 || newRec.count() != 1 || newRec.all()[0].Auth != "Bearer b" {
		t.Errorf("old %d new %d", oldRec.count(), newRec.count())
	}
}

func TestCRUD(t *testing.T) {
	const id = "500RO00000A1b2cYAB"
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+v+"/sobjects/Case", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 201, []byte(`{"id":"500RO00000A1b2cYAB","errors":[],"success":true}`))
	})
	mux.HandleFunc("GET "+v+"/sobjects/Whizbang/"+id, func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, fixture(t, "sobject_get_record.json"))
	})
	mux.HandleFunc("PATCH "+v+"/sobjects/Case/"+id, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(204)
	})
	mux.HandleFunc("DELETE "+v+"/sobjects/Case/"+id, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(204)
	})
	mux.HandleFunc("DELETE "+v+"/sobjects/Case/500RO00000A1b2cZZZ", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 404, []byte(`[{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED","fields":[]}]`))
	})
	mux.HandleFunc("POST "+v+"/sobjects/Bar", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 400, fixture(t, "error_invalid_field_on_write.json"))
	})
	c, rec, _ := newOrg(t, mux, Options{})
	ctx := context.Background()

	got, err := c.Create(ctx, "Case", map[string]any{"Subject": "Hi", "Origin": "Web"})
	if err != nil || got != id {
		t.Fatalf("create %q %v", got, err)
	}
	last := rec.all()[0]
	var body map[string]any
	if err := json.Unmarshal(last.Body, &body); err != nil || body["Subject"] != "Hi" || last.Header.Get("Content-Type") != "application/json" {
		t.Errorf("create body %s (%v)", last.Body, err)
	}

	r, err := c.Get(ctx, "Whizbang", id, "Name", "Currency_Label")
	if err != nil {
		t.Fatal(err)
	}
	if q := rec.all()[1].RawQuery; q != "fields=Name%2CCurrency_Label" {
		t.Errorf("get query %q", q)
	}
	if r.String("Name") != "My First Whizbang" || r.String("Currency_Label") != "23.0" || r.Type() != "Whizbang" || r.ID() != "23foo" {
		t.Errorf("record %v", r)
	}
	if v, ok := r.Get("OtherDateTime_Label"); !ok || v != nil {
		t.Errorf("null kept: %v %v", v, ok)
	}

	if err := c.Update(ctx, "Case", id, map[string]any{"Status": "Working", "Description": nil}); err != nil {
		t.Fatal(err)
	}
	if b := string(rec.all()[2].Body); !strings.Contains(b, `"Description":null`) {
		t.Errorf("update body %s", b)
	}
	if err := c.Delete(ctx, "Case", id); err != nil {
		t.Fatal(err)
	}
	err = c.Delete(ctx, "Case", "500RO00000A1b2cZZZ")
	if !errors.Is(err, ErrNotFound) || Classify(err) != NotRetryable {
		t.Errorf("delete deleted: %v", err)
	}
	_, err = c.Create(ctx, "Bar", map[string]any{"foo": 1})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" || ae.Status != 400 || ae.Operation != "create" {
		t.Errorf("create error %v", err)
	}
}

func TestArgumentChecks(t *testing.T) {
	c, rec, _ := newOrg(t, http.NewServeMux(), Options{})
	ctx := context.Background()
	big := make([]map[string]any, 201)
	for i := range big {
		big[i] = map[string]any{"Name": "x"}
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"object with slash", func() error { _, err := c.Get(ctx, "Case/../x", "500RO00000A1b2cYAB"); return err }},
		{"short id", func() error { return c.Delete(ctx, "Case", "23foo") }},
		{"id traversal", func() error { return c.Update(ctx, "Case", "..%2F..%2F..%2Fxyz", nil) }},
		{"ext value slash", func() error { _, err := c.Upsert(ctx, "Case", "Ext__c", "a/b", nil); return err }},
		{"ext value dots", func() error { _, err := c.Upsert(ctx, "Case", "Ext__c", "..", nil); return err }},
		{"upsert with Id", func() error {
			_, err := c.Upsert(ctx, "Case", "Ext__c", "k", map[string]any{"Id": "500RO00000A1b2cYAB"})
			return err
		}},
		{"upsert ext field differs", func() error {
			_, err := c.Upsert(ctx, "Case", "Ext__c", "k", map[string]any{"Ext__c": "other"})
			return err
		}},
		{"collections over 200", func() error { _, err := c.CollectionsCreate(ctx, "Case", big, false); return err }},
		{"collections update no Id", func() error {
			_, err := c.CollectionsUpdate(ctx, "Case", []map[string]any{{"Status": "New"}}, false)
			return err
		}},
		{"collections create with Id", func() error {
			_, err := c.CollectionsCreate(ctx, "Case", []map[string]any{{"Id": "500RO00000A1b2cYAB"}}, false)
			return err
		}},
		{"collections upsert missing ext", func() error {
			_, err := c.CollectionsUpsert(ctx, "Case", "Ext__c", []map[string]any{{"Status": "New"}}, false)
			return err
		}},
		{"composite over 25", func() error {
			reqs := make([]Subrequest, 26)
			for i := range reqs {
				reqs[i] = Subrequest{Method: "GET", URL: v + "/limits", ReferenceID: "r" + itoa(i)}
			}
			_, err := c.Composite(ctx, false, reqs)
			return err
		}},
		{"composite duplicate ref", func() error {
			_, err := c.Composite(ctx, false, []Subrequest{{Method: "GET", URL: v + "/limits", ReferenceID: "a"}, {Method: "GET", URL: v + "/limits", ReferenceID: "a"}})
			return err
		}},
		{"composite foreign URL", func() error {
			_, err := c.Composite(ctx, false, []Subrequest{{Method: "GET", URL: "https://evil.example.com/x", ReferenceID: "a"}})
			return err
		}},
		{"empty query", func() error { _, err := c.Query(ctx, "  "); return err }},
		{"updated reversed window", func() error {
			_, err := c.Updated(ctx, "Case", time.Now(), time.Now().Add(-time.Hour))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInvalidArgument) || Classify(err) != NotRetryable {
				t.Errorf("err = %v", err)
			}
		})
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent for refused arguments", rec.count())
	}
}

func TestUpsert(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    []byte
		want    UpsertResult
		wantErr error
	}{
		{"created pre v46", 201, fixture(t, "upsert_created_pre_v46.json"), UpsertResult{ID: "foo", Created: true}, nil},
		{"created v46", 201, []byte(`{"id":"500RO00000A1b2cYAB","success":true,"errors":[],"created":true}`), UpsertResult{ID: "500RO00000A1b2cYAB", Created: true}, nil},
		{"updated v46", 200, []byte(`{"id":"500RO00000A1b2cYAB","success":true,"errors":[],"created":false}`), UpsertResult{ID: "500RO00000A1b2cYAB"}, nil},
		{"updated pre v46", 204, nil, UpsertResult{}, nil},
		{"multiple matches", 300, fixture(t, "upsert_multiple_matches_300.json"), UpsertResult{}, ErrMultipleMatches},
		{"unknown ext field", 404, fixture(t, "error_upsert_unknown_external_id_field.json"), UpsertResult{}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("PATCH "+v+"/sobjects/Care_Social_Post__c/Care_Message_Id__c/{value}", func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 204 {
					w.WriteHeader(204)
					return
				}
				serve(w, tt.status, tt.body)
			})
			c, rec, _ := newOrg(t, mux, Options{})
			got, err := c.Upsert(context.Background(), "Care_Social_Post__c", "Care_Message_Id__c", "msg 1:x",
				map[string]any{"Content__c": "hello", "Care_Message_Id__c": "msg 1:x"})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v", got, err)
			}
			req := rec.all()[0]
			if req.Path != v+"/sobjects/Care_Social_Post__c/Care_Message_Id__c/msg 1:x" {
				t.Errorf("path %q", req.Path)
			}
			var body map[string]any
			_ = json.Unmarshal(req.Body, &body)
			if _, ok := body["Care_Message_Id__c"]; ok || body["Content__c"] != "hello" {
				t.Errorf("body %s", req.Body)
			}
		})
	}
}

func TestCollections(t *testing.T) {
	const answer = `[
 {"id":"a01RO0000001AAAYAA","success":true,"errors":[],"created":true},
 {"id":null,"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Case__c]","fields":["Case__c"]}]},
 {"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access to this record","fields":[]}]},
 {"id":"a01RO0000001AABYAA","success":true,"errors":[],"created":false}
]`
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH "+v+"/composite/sobjects/Care_Social_Post__c/Care_Message_Id__c", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(answer))
	})
	mux.HandleFunc("POST "+v+"/composite/sobjects", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`[{"success":false,"errors":[{"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK","message":"Record rolled back because not all records were valid and the request was using AllOrNone header","fields":[]}]}]`))
	})
	mux.HandleFunc("PATCH "+v+"/composite/sobjects", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`[{"id":"500RO00000A1b2cYAB","success":true,"errors":[]},{"id":"500RO00000A1b2cYAC","success":true,"errors":[]}]`))
	})
	c, rec, _ := newOrg(t, mux, Options{})
	ctx := context.Background()
	records := []map[string]any{
		{"Care_Message_Id__c": "m1", "Content__c": "a"},
		{"Care_Message_Id__c": "m2"},
		{"Care_Message_Id__c": "m3"},
		{"Care_Message_Id__c": "m4"},
	}
	res, err := c.CollectionsUpsert(ctx, "Care_Social_Post__c", "Care_Message_Id__c", records, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	if !res[0].Success || res[0].ID != "a01RO0000001AAAYAA" || !res[0].Created || res[0].Err != nil {
		t.Errorf("res[0] %+v", res[0])
	}
	if res[3].Created || !res[3].Success {
		t.Errorf("res[3] %+v", res[3])
	}
	var ae *APIError
	if res[1].Success || !errors.As(res[1].Err, &ae) || ae.Code != "REQUIRED_FIELD_MISSING" ||
		!reflect.DeepEqual(ae.Fields, []string{"Case__c"}) || ae.Status != 0 || res[1].ID != "" {
		t.Errorf("res[1] %+v", res[1])
	}
	if Classify(res[1].Err) != NotRetryable || Classify(res[2].Err) != Retryable {
		t.Errorf("classes %v %v", Classify(res[1].Err), Classify(res[2].Err))
	}
	if len(records[0]) != 2 {
		t.Errorf("caller's record mutated: %v", records[0])
	}
	var sent struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(rec.all()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.AllOrNone || len(sent.Records) != 4 || sent.Records[0]["attributes"].(map[string]any)["type"] != "Care_Social_Post__c" ||
		sent.Records[1]["Care_Message_Id__c"] != "m2" {
		t.Errorf("sent %s", rec.all()[0].Body)
	}

	res, err = c.CollectionsCreate(ctx, "Case", []map[string]any{{"Subject": "x"}}, true)
	if err != nil || res[0].Success || Classify(res[0].Err) != Retryable {
		t.Errorf("create rolled back: %+v %v", res, err)
	}
	if !strings.Contains(string(rec.all()[1].Body), `"allOrNone":true`) {
		t.Errorf("allOrNone not sent: %s", rec.all()[1].Body)
	}

	res, err = c.CollectionsUpdate(ctx, "Case", []map[string]any{{"Id": "500RO00000A1b2cYAB", "Status": "Closed"}, {"id": "500RO00000A1b2cYAC"}}, false)
	if err != nil || len(res) != 2 || !res[1].Success {
		t.Errorf("update %+v %v", res, err)
	}

	// A count mismatch is an error, not a silent loss.
	res, err = c.CollectionsUpdate(ctx, "Case", []map[string]any{{"Id": "500RO00000A1b2cYAB"}}, false)
	if err == nil {
		t.Errorf("mismatch accepted: %+v", res)
	}

	// An empty batch costs no call.
	before := rec.count()
	if res, err := c.CollectionsCreate(ctx, "Case", nil, false); err != nil || len(res) != 0 || rec.count() != before {
		t.Errorf("empty batch: %v %v", res, err)
	}
}

func TestComposite(t *testing.T) {
	const answer = `{"compositeResponse":[
 {"body":{"id":"003RO00000Zz9aAYAR","success":true,"errors":[],"created":true},"httpHeaders":{"Location":"/services/data/v62.0/sobjects/Contact/003RO00000Zz9aAYAR"},"httpStatusCode":201,"referenceId":"contact"},
 {"body":[{"message":"Email: invalid email address: Not a real email address","errorCode":"INVALID_EMAIL_ADDRESS","fields":["Email"]}],"httpHeaders":{},"httpStatusCode":400,"referenceId":"case"},
 {"body":[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}],"httpHeaders":{},"httpStatusCode":400,"referenceId":"caseNum"}
]}`
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+v+"/composite", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(answer))
	})
	c, rec, _ := newOrg(t, mux, Options{})
	reqs := []Subrequest{
		{Method: "PATCH", URL: c.DataPath("sobjects", "Contact", "Ext_Id__c", "tw-12345"), ReferenceID: "contact", Body: map[string]any{"LastName": "Smith"}},
		{Method: "POST", URL: c.DataPath("sobjects", "Case"), ReferenceID: "case", Body: map[string]any{"ContactId": "@{contact.id}"}},
		{Method: "GET", URL: c.DataPath("sobjects", "Case") + "/@{case.id}?fields=CaseNumber", ReferenceID: "caseNum"},
	}
	res, err := c.Composite(context.Background(), true, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err() != nil {
		t.Errorf("contact: %v", res[0].Err())
	}
	var saved struct {
		ID      string `json:"id"`
		Created bool   `json:"created"`
	}
	if err := res[0].Decode(&saved); err != nil || saved.ID != "003RO00000Zz9aAYAR" || !saved.Created {
		t.Errorf("decode %+v %v", saved, err)
	}
	var ae *APIError
	if !errors.As(res[1].Err(), &ae) || ae.Code != "INVALID_EMAIL_ADDRESS" || ae.Status != 400 || ae.Fields[0] != "Email" || Classify(ae) != NotRetryable {
		t.Errorf("case err %v", res[1].Err())
	}
	if Classify(res[2].Err()) != Retryable {
		t.Errorf("halted class %v", Classify(res[2].Err()))
	}
	var sent struct {
		AllOrNone          bool  `json:"allOrNone"`
		CollateSubrequests *bool `json:"collateSubrequests"`
		CompositeRequest   []struct {
			Method, URL, ReferenceID string
			Body                     map[string]any
		} `json:"compositeRequest"`
	}
	if err := json.Unmarshal(rec.all()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if !sent.AllOrNone || sent.CollateSubrequests == nil || *sent.CollateSubrequests || len(sent.CompositeRequest) != 3 ||
		sent.CompositeRequest[1].URL != v+"/sobjects/Case" || sent.CompositeRequest[1].ReferenceID != "case" ||
		sent.CompositeRequest[1].Body["ContactId"] != "@{contact.id}" {
		t.Errorf("sent %s", rec.all()[0].Body)
	}
}

func TestDescribeCache(t *testing.T) {
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+v+"/sobjects/Whizbang/describe", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		serve(w, 200, fixture(t, "describe_custom_object_v23.json"))
	})
	mux.HandleFunc("GET "+v+"/sobjects/NotAnObject/describe", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 404, fixture(t, "error_not_found_resource.json"))
	})
	mux.HandleFunc("GET "+v+"/sobjects", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(100)
		serve(w, 200, fixture(t, "describe_global_excerpt.json"))
	})
	c, _, _ := newOrg(t, mux, Options{})
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	d, err := c.Describe(ctx, "Whizbang")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Whizbang" || len(d.Fields) < 10 {
		t.Fatalf("describe %s with %d fields", d.Name, len(d.Fields))
	}
	id, ok := d.Field("id")
	if !ok || id.Type != "id" || id.Createable || !id.IDLookup || id.RequiredOnCreate() {
		t.Errorf("Id field %+v", id)
	}
	if f, ok := d.Field("No_Such_Field__c"); ok {
		t.Errorf("an unknown field is found: %+v", f)
	}
	owner, _ := d.Field("OwnerId")
	if !reflect.DeepEqual(owner.ReferenceTo, []string{"Group", "User"}) || owner.RelationshipName != "Owner" {
		t.Errorf("OwnerId %+v", owner)
	}
	var picklist *Field
	for i := range d.Fields {
		if d.Fields[i].Type == "picklist" && len(d.Fields[i].PicklistValues) > 0 {
			picklist = &d.Fields[i]
			break
		}
	}
	if picklist == nil {
		t.Fatal("no picklist field in the fixture")
	}
	if pv, ok := picklist.Picklist(picklist.PicklistValues[0].Value); !ok || pv.Label == "" {
		t.Errorf("picklist lookup %+v", pv)
	}
	if len(d.RecordTypes) == 0 {
		t.Errorf("no record types")
	}

	again, err := c.Describe(ctx, "WHIZBANG")
	if err != nil || again != d || hits.Load() != 1 {
		t.Errorf("cache miss: hits %d", hits.Load())
	}
	c.InvalidateDescribe("Whizbang")
	if _, err := c.Describe(ctx, "Whizbang"); err != nil || hits.Load() != 2 {
		t.Errorf("after invalidate: hits %d err %v", hits.Load(), err)
	}

	g, err := c.DescribeGlobal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acc, ok := g.SObject("account")
	if !ok || acc.KeyPrefix != "001" || !acc.Createable || g.MaxBatchSize != 200 {
		t.Errorf("global %+v", g)
	}
	if s, ok := g.SObject("No_Such_Object__c"); ok {
		t.Errorf("an unknown object is found: %+v", s)
	}
	_, _ = c.DescribeGlobal(ctx)
	if hits.Load() != 102 {
		t.Errorf("global not cached: hits %d", hits.Load())
	}
	c.InvalidateDescribe()
	_, _ = c.Describe(ctx, "Whizbang")
	_, _ = c.DescribeGlobal(ctx)
	if hits.Load() != 203 {
		t.Errorf("invalidate all: hits %d", hits.Load())
	}

	// An answer is reused for an hour, then read again, so a change in the
	// org reaches a long-running daemon.
	now = now.Add(describeTTL - time.Second)
	cached, _ := c.Describe(ctx, "Whizbang")
	_, _ = c.DescribeGlobal(ctx)
	if hits.Load() != 203 {
		t.Errorf("within the hour: hits %d", hits.Load())
	}
	now = now.Add(time.Second)
	if again, err := c.Describe(ctx, "Whizbang"); err != nil || again == cached {
		t.Errorf("after an hour: %v, cached answer reused %v", err, again == cached)
	}
	_, _ = c.DescribeGlobal(ctx)
	if hits.Load() != 304 {
		t.Errorf("after an hour: hits %d", hits.Load())
	}

	_, err = c.Describe(ctx, "NotAnObject")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown object: %v", err)
	}
	if _, err := c.Describe(ctx, "NotAnObject"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failure must not be cached as success: %v", err)
	}
}

func TestSearch(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    []byte
		ids     []string
		errCode string
	}{
		{"legacy array", 200, fixture(t, "search_sosl_legacy_array_pre_v36.json"), []string{"foo", "bar"}, ""},
		{"searchRecords", 200, []byte(`{"searchRecords":[{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/003"},"Id":"003RO00000Zz9aAYAR","Name":"Ada"}]}`), []string{"003RO00000Zz9aAYAR"}, ""},
		{"no matches", 200, []byte(`{"searchRecords":[]}`), nil, ""},
		{"malformed", 400, fixture(t, "error_malformed_search.json"), nil, "MALFORMED_SEARCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET "+v+"/search", func(w http.ResponseWriter, r *http.Request) {
				serve(w, tt.status, tt.body)
			})
			c, rec, _ := newOrg(t, mux, Options{})
			sosl := "FIND {" + EscapeSOSL("Ada (x)") + "} IN NAME FIELDS RETURNING Contact(Id, Name)"
			recs, err := c.Search(context.Background(), sosl)
			if tt.errCode != "" {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code != tt.errCode || Classify(err) != NotRetryable {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.ID())
			}
			if !reflect.DeepEqual(ids, tt.ids) || recs == nil {
				t.Errorf("ids %v", ids)
			}
			q, _ := url.ParseQuery(rec.all()[0].RawQuery)
			if q.Get("q") != `FIND {Ada \(x\)} IN NAME FIELDS RETURNING Contact(Id, Name)` {
				t.Errorf("q %q", q.Get("q"))
			}
		})
	}
}

func TestUpdated(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+v+"/sobjects/Contact/updated/", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, fixture(t, "get_updated.json"))
	})
	c, rec, _ := newOrg(t, mux, Options{})
	start := time.Date(2015, 8, 18, 8, 17, 0, 0, time.FixedZone("x", 3600))
	res, err := c.Updated(context.Background(), "Contact", start, start.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != 7 || res.IDs[0] != "003q000000KvQ1tAAF" || !res.LatestDateCovered.Equal(time.Date(2015, 8, 19, 8, 17, 0, 0, time.UTC)) {
		t.Errorf("res %+v", res)
	}
	q, _ := url.ParseQuery(rec.all()[0].RawQuery)
	if q.Get("start") != "2015-08-18T07:17:00+00:00" || q.Get("end") != "2015-08-19T07:17:00+00:00" {
		t.Errorf("window %v", q)
	}
}

func TestLimitsAndUserInfo(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+v+"/limits", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, fixture(t, "limits_developer_edition_v50.json"))
	})
	mux.HandleFunc("GET /services/oauth2/userinfo", func(w http.ResponseWriter, r *http.Request) {
		serve(w, 200, []byte(`{"sub":"https://login.salesforce.com/id/00Dx/005x","user_id":"005xx000001Sv6AAAS","organization_id":"00Dxx0000001gPLEAY","preferred_username":"agent@acme.com","name":"Ada Agent","email":"agent@acme.com","email_verified":true,"active":true,"utcOffset":0,"urls":{"rest":"x"}}`))
	})
	c, _, _ := newOrg(t, mux, Options{})
	ctx := context.Background()
	l, err := c.Limits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := l.DailyAPI(); !ok || d.Max != 15000 || d.Used != 12 {
		t.Errorf("daily %+v %v", d, ok)
	}
	if l["DataStorageMB"].Max == 0 {
		t.Errorf("limits %v", l)
	}
	ui, err := c.UserInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ui.UserID != "005xx000001Sv6AAAS" || ui.OrganizationID != "00Dxx0000001gPLEAY" || ui.PreferredUsername != "agent@acme.com" ||
		ui.Name != "Ada Agent" || ui.Email != "agent@acme.com" || !ui.Active {
		t.Errorf("userinfo %+v", ui)
	}
}

func TestLimitInfoAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Series with fixed labels exist at 0 before any call.
	for _, op := range operations {
		for _, code := range []string{"200", "201", "204", "400", "401", "403", "404", "500", "503"} {
			if got := testutil.ToFloat64(m.requests.WithLabelValues(string(op), code)); got != 0 {
				t.Fatalf("%s %s = %v", op, code, got)
			}
		}
	}
	if n := testutil.CollectAndCount(m.duration); n != len(operations) {
		t.Errorf("%d histograms, want %d", n, len(operations))
	}
	if n := testutil.CollectAndCount(reg, "carebridge_salesforce_requests_total"); n != len(operations)*9 {
		t.Errorf("%d request series at start", n)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering twice succeeded")
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+v+"/query", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=10018/100000")
		serve2(w, 200, fixture(t, "query_empty.json"))
	})
	mux.HandleFunc("POST "+v+"/sobjects/Case", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=10019/100000")
		serve2(w, 400, []byte(`[{"message":"x","errorCode":"REQUIRED_FIELD_MISSING"}]`))
	})
	c, _, _ := newOrg(t, mux, Options{Metrics: m})
	if _, ok := c.LastLimitInfo(); ok {
		t.Error("limit info before any call")
	}
	ctx := context.Background()
	for range 2 {
		if _, err := c.Query(ctx, "SELECT Id FROM Case"); err != nil {
			t.Fatal(err)
		}
	}
	li, ok := c.LastLimitInfo()
	if !ok || li != (LimitInfo{Used: 10018, Max: 100000}) {
		t.Errorf("limit %+v", li)
	}
	_, _ = c.Create(ctx, "Case", map[string]any{})
	li, _ = c.LastLimitInfo()
	if li.Used != 10019 {
		t.Errorf("error answers must update the limit too: %+v", li)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("query", "200")); got != 2 {
		t.Errorf("query 200 = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("create", "400")); got != 1 {
		t.Errorf("create 400 = %v", got)
	}
	if got := testutil.ToFloat64(m.dailyUsed); got != 10019 {
		t.Errorf("used %v", got)
	}
	if got := testutil.ToFloat64(m.dailyLimit); got != 100000 {
		t.Errorf("limit %v", got)
	}

	// A call with no answer counts under code "error".
	dead := New(testHTTPClient(), StaticSession{T: Token{AccessToken: "x", InstanceURL: "http://127.0.0.1:1"}}, Options{Metrics: m})
	_, _ = dead.Limits(ctx)
	if got := testutil.ToFloat64(m.requests.WithLabelValues("limits", "error")); got != 1 {
		t.Errorf("limits error = %v", got)
	}
}

// serve2 is serve without overriding a Sforce-Limit-Info already set.
func serve2(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func TestParseLimitInfo(t *testing.T) {
	header := strings.TrimSpace(string(fixture(t, "limits_header.txt")))
	name, value, _ := strings.Cut(header, ":")
	if !strings.EqualFold(name, limitHeader) {
		t.Fatalf("fixture header %q", name)
	}
	tests := []struct {
		in   string
		want LimitInfo
		ok   bool
	}{
		{strings.TrimSpace(value), LimitInfo{113, 5000000}, true},
		{"api-usage=10018/100000", LimitInfo{10018, 100000}, true},
		{"api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)", LimitInfo{25, 5000}, true},
		{"per-app-api-usage=17/250(appName=x), api-usage=3/4", LimitInfo{3, 4}, true},
		{" API-Usage = 1 / 2 ", LimitInfo{1, 2}, true},
		{"", LimitInfo{}, false},
		{"api-usage=abc/100", LimitInfo{}, false},
		{"api-usage=10", LimitInfo{}, false},
		{"api-usage=-1/5", LimitInfo{}, false},
		{"per-app-api-usage=17/250", LimitInfo{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseLimitInfo(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v %v", got, ok)
			}
		})
	}
	if f := (LimitInfo{Used: 9000, Max: 10000}).Fraction(); f != 0.9 {
		t.Errorf("fraction %v", f)
	}
}

func FuzzParseLimitInfo(f *testing.F) {
	f.Add("api-usage=113/5000000")
	f.Add("api-usage=25/5000; per-app-api-usage=17/250(appName=a)")
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := ParseLimitInfo(s)
		if ok && (l.Used < 0 || l.Max < 0) {
			t.Fatalf("negative %+v", l)
		}
		if !ok && l != (LimitInfo{}) {
			t.Fatalf("not ok but %+v", l)
		}
	})
}

func TestSOQLHelpers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"O'Brien", `'O\'Brien'`},
		{`back\slash`, `'back\\slash'`},
		{"line\nbreak", `'line\nbreak'`},
		{`"quoted"`, `'\"quoted\"'`},
		{"plain", "'plain'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := QuoteSOQL(tt.in); got != tt.want {
				t.Errorf("got %s", got)
			}
		})
	}
	if got := EscapeSOSL(`a-b {c} "d" x*`); got != `a\-b \{c\} \"d\" x\*` {
		t.Errorf("sosl %s", got)
	}
	ts := time.Date(2024, 6, 1, 11, 0, 0, 5e6, time.FixedZone("x", 7200))
	if got := SOQLTime(ts); got != "2024-06-01T09:00:00.005Z" {
		t.Errorf("soql time %s", got)
	}
	for _, s := range []string{"2024-06-01T09:00:00.005+0000", "2024-06-01T09:00:00.005Z", "2024-06-01T11:00:00.005+02:00"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(ts) {
			t.Errorf("ParseTime(%s) = %v %v", s, got, err)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("bad time parsed")
	}
}

func TestNewDefaults(t *testing.T) {
	c := New(nil, StaticSession{}, Options{APIVersion: "v60.0"})
	if c.http == nil || c.http == http.DefaultClient || c.http.Timeout == 0 {
		t.Error("nil client must get a client with a timeout")
	}
	if c.APIVersion() != "60.0" || c.DataPath("sobjects", "Case", "a b") != "/services/data/v60.0/sobjects/Case/a%20b" {
		t.Errorf("version %s path %s", c.APIVersion(), c.DataPath("sobjects", "Case", "a b"))
	}
	if New(nil, StaticSession{}, Options{}).APIVersion() != DefaultAPIVersion {
		t.Error("default version")
	}
	// A token without a usable instance URL is refused before any request.
	for _, inst := range []string{"", "ftp://x", "https://user:pw@x", "https://x/?q=1", "::"} {
		c := New(testHTTPClient(), StaticSession{T: Token{AccessToken: "x", InstanceURL: inst}}, Options{})
		if _, err := c.Limits(context.Background()); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("instance %q: %v", inst, err)
		}
	}
}

// errSession is a Session with no usable token.
type errSession struct{}

func (errSession) Token(context.Context) (Token, error) {
	return Token{}, ErrNoToken
}

func (errSession) Refresh(context.Context, Token) (Token, error) { return Token{}, ErrNoToken }

func TestSessionWithoutToken(t *testing.T) {
	c := New(testHTTPClient(), errSession{}, Options{})
	_, err := c.Query(context.Background(), "SELECT Id FROM Case")
	if !errors.Is(err, ErrNoToken) || Classify(err) != Auth {
		t.Errorf("err %v class %v", err, Classify(err))
	}
}

func TestServerErrorsThroughClient(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		class  Class
		long   bool
	}{
		{"html 503", 503, "<html><body>maintenance</body></html>", Retryable, false},
		{"empty 502", 502, "", Retryable, false},
		{"unknown exception", 500, `[{"message":"An unexpected error occurred. Please include this ErrorId if you contact support: 1-2","errorCode":"UNKNOWN_EXCEPTION"}]`, Retryable, false},
		{"daily limit", 403, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, Retryable, true},
		{"lock", 400, `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]}]`, Retryable, false},
		{"bad value", 400, `[{"message":"Status: bad value for restricted picklist field: Foo","errorCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST","fields":["Status"]}]`, NotRetryable, false},
		{"huge body", 500, strings.Repeat("x", 3*maxErrorBody), Retryable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("PATCH "+v+"/sobjects/Case/500RO00000A1b2cYAB", func(w http.ResponseWriter, r *http.Request) {
				if r.ContentLength != 2 {
					t.Errorf("nil fields must send {}, got %d bytes", r.ContentLength)
				}
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			c, rec, _ := newOrg(t, mux, Options{})
			err := c.Update(context.Background(), "Case", "500RO00000A1b2cYAB", nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || Classify(err) != tt.class || LongWait(err) != tt.long {
				t.Fatalf("err %v class %v", err, Classify(err))
			}
			if len(err.Error()) > 600 || strings.Contains(err.Error(), "maintenance") {
				t.Errorf("error echoes the body: %.200q", err.Error())
			}
			if rec.count() != 1 {
				t.Errorf("client retried by itself: %d requests", rec.count())
			}
		})
	}
}
