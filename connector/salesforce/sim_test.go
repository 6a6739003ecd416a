package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/prometheus/client_golang/prometheus"
)

// These tests drive the in-process simulated org over real HTTP.

const callback = "http://127.0.0.1:1/oauth/salesforce/callback"

func newSim(t *testing.T, opts sfsim.Options) *sfsim.Server {
	t.Helper()
	return simtest.NewServer(t, opts)
}

func httpClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

func simOAuth(t *testing.T, srv *sfsim.Server, m salesforce.Observer) *salesforce.OAuth {
	t.Helper()
	o, err := salesforce.NewOAuth(salesforce.OAuthConfig{
		ClientID:     sfsim.DefaultClientID,
		ClientSecret: sfsim.DefaultClientSecret,
		RedirectURL:  callback,
		LoginURL:     srv.LoginURL,
		HTTPClient:   httpClient(),
		Metrics:      m,
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// authorize runs the browser leg of the web-server flow (simtest.Callback)
// and returns the code, checking the org redirected to the callback.
func authorize(t *testing.T, o *salesforce.OAuth, state, verifier string) string {
	t.Helper()
	loc, err := simtest.Callback(context.Background(), o, state, verifier, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Fatalf("redirected to %s", got)
	}
	return loc.Query().Get("code")
}

// countingSession counts refreshes of a RefreshingSession.
type countingSession struct {
	*salesforce.RefreshingSession
	refreshes atomic.Int32
}

func (s *countingSession) Refresh(ctx context.Context, stale salesforce.Token) (salesforce.Token, error) {
	s.refreshes.Add(1)
	return s.RefreshingSession.Refresh(ctx, stale)
}

func oauthSession(o *salesforce.OAuth, tok salesforce.Token) *countingSession {
	return &countingSession{RefreshingSession: salesforce.NewRefreshingSession(tok,
		func(ctx context.Context, stale salesforce.Token) (salesforce.Token, error) {
			return o.Refresh(ctx, stale.RefreshToken)
		})}
}

func TestSimOAuthCodeFlowPKCE(t *testing.T) {
	srv := newSim(t, sfsim.Options{Callback: callback})
	o := simOAuth(t, srv, nil)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	tok := simtest.Authorize(t, o, "agent@sfsim.test")
	if tok.InstanceURL != srv.InstanceURL || tok.InstanceURL == srv.LoginURL {
		t.Errorf("instance %q (login %q)", tok.InstanceURL, srv.LoginURL)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.IssuedAt.Before(before) || tok.IssuedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("token %v issued %v", tok, tok.IssuedAt)
	}
	if tok.OrgID() != srv.OrgID() || tok.UserID() == "" {
		t.Errorf("identity URL %q", tok.ID)
	}
	id, err := o.Identity(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.PreferredUsername != "agent@sfsim.test" || id.UserID != tok.UserID() || id.OrganizationID != srv.OrgID() {
		t.Errorf("identity %+v", id)
	}

	// The code is single use and bound to its verifier.
	verifier := salesforce.NewVerifier()
	code := authorize(t, o, "s2", verifier)
	_, err = o.Exchange(ctx, code, salesforce.NewVerifier())
	if !errors.Is(err, salesforce.ErrInvalidGrant) || salesforce.Classify(err) != salesforce.Auth {
		t.Errorf("wrong verifier: %v", err)
	}
	code = authorize(t, o, "s3", verifier)
	if _, err := o.Exchange(ctx, code, verifier); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Exchange(ctx, code, verifier); !errors.Is(err, salesforce.ErrInvalidGrant) {
		t.Errorf("replayed code: %v", err)
	}

	// The default user is the admin; the client reads userinfo from the instance.
	c := salesforce.New(httpClient(), salesforce.StaticSession{T: simtest.Authorize(t, o, "")}, salesforce.Options{})
	ui, err := c.UserInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ui.PreferredUsername != sfsim.DefaultUsername {
		t.Errorf("default user %q", ui.PreferredUsername)
	}
}

func TestSimRefreshAfterExpiry(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			srv := newSim(t, sfsim.Options{RotateRefreshTokens: rotate})
			o := simOAuth(t, srv, nil)
			ctx := context.Background()
			first := simtest.Authorize(t, o, "")
			sess := oauthSession(o, first)
			c := salesforce.New(httpClient(), sess, salesforce.Options{})
			if _, err := c.Query(ctx, "SELECT Id FROM User"); err != nil {
				t.Fatal(err)
			}
			srv.ExpireSessions()
			recs, err := c.Query(ctx, "SELECT Id, Username FROM User")
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 || sess.refreshes.Load() != 1 {
				t.Errorf("%d records, %d refreshes", len(recs), sess.refreshes.Load())
			}
			cur, _ := sess.Token(ctx)
			if cur.AccessToken == first.AccessToken {
				t.Error("access token not replaced")
			}
			if rotate {
				if cur.RefreshToken == first.RefreshToken || cur.RefreshToken == "" {
					t.Error("rotated refresh token not taken")
				}
				if _, err := o.Refresh(ctx, first.RefreshToken); !errors.Is(err, salesforce.ErrInvalidGrant) {
					t.Errorf("old refresh token still works: %v", err)
				}
			} else if cur.RefreshToken != first.RefreshToken {
				t.Error("refresh token changed without rotation")
			}

			// Revoked at Salesforce: the refresh fails and the call is an
			// auth error, not a loop.
			if err := srv.RevokeUser(sfsim.DefaultUsername); err != nil {
				t.Fatal(err)
			}
			before := srv.Stats().Total
			_, err = c.Query(ctx, "SELECT Id FROM User")
			if salesforce.Classify(err) != salesforce.Auth || !errors.Is(err, salesforce.ErrInvalidGrant) || !errors.Is(err, salesforce.ErrSessionExpired) {
				t.Errorf("after revoke: %v (%v)", err, salesforce.Classify(err))
			}
			if calls := srv.Stats().Total - before; calls != 2 {
				t.Errorf("%d calls after revoke, want the query and one refresh", calls)
			}
		})
	}
}

func TestSimRevokeAndJWT(t *testing.T) {
	key, pemKey := simtest.JWTKey(t)
	srv := newSim(t, sfsim.Options{JWTPublicKey: &key.PublicKey})
	o := simOAuth(t, srv, nil)
	ctx := context.Background()

	tok, err := o.JWTBearer(ctx, sfsim.DefaultUsername, pemKey)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || tok.InstanceURL != srv.InstanceURL {
		t.Errorf("jwt token %v", tok)
	}
	c := salesforce.New(httpClient(), salesforce.StaticSession{T: tok}, salesforce.Options{})
	if _, err := c.Limits(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := o.JWTBearer(ctx, "nobody@sfsim.test", pemKey); !errors.Is(err, salesforce.ErrInvalidGrant) {
		t.Errorf("unknown user: %v", err)
	}

	// Revoke the access token: the next call is a 401 the static session
	// cannot fix.
	if err := o.Revoke(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	_, err = c.Limits(ctx)
	if !errors.Is(err, salesforce.ErrSessionExpired) || salesforce.Classify(err) != salesforce.Auth {
		t.Errorf("after revoke: %v", err)
	}
}

// dataClient connects the admin and returns a client with metrics.
func dataClient(t *testing.T, srv *sfsim.Server, opts salesforce.Options) (*salesforce.Client, *salesforce.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := salesforce.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	o := simOAuth(t, srv, m)
	opts.Metrics = m
	return salesforce.New(httpClient(), oauthSession(o, simtest.Authorize(t, o, "")), opts), m, reg
}

func TestSimCRUDAndUpsert(t *testing.T) {
	srv := newSim(t, sfsim.Options{})
	c, _, reg := dataClient(t, srv, salesforce.Options{})
	ctx := context.Background()

	contactID, err := c.Create(ctx, "Contact", map[string]any{"FirstName": "Ada", "LastName": "O'Hara", "Email": "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(contactID, "003") || len(contactID) != 18 {
		t.Errorf("contact id %q", contactID)
	}
	rec, err := c.Get(ctx, "Contact", contactID, "FirstName", "LastName", "Email")
	if err != nil {
		t.Fatal(err)
	}
	if rec.String("LastName") != "O'Hara" || rec.Type() != "Contact" {
		t.Errorf("get %v", rec)
	}
	_, err = c.Create(ctx, "Contact", map[string]any{"FirstName": "NoLast"})
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Code != "REQUIRED_FIELD_MISSING" || ae.Status != 400 || salesforce.Classify(err) != salesforce.NotRetryable {
		t.Errorf("missing LastName: %v", err)
	}
	_, err = c.Create(ctx, "Contact", map[string]any{"LastName": "x", "Bogus__c": 1})
	if !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" {
		t.Errorf("unknown field: %v", err)
	}

	res, err := c.Upsert(ctx, "Case", "Care_Case_Id__c", "42", map[string]any{
		"Subject": "Social case #42", "ContactId": contactID, "Care_Case_Id__c": "42",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !strings.HasPrefix(res.ID, "500") {
		t.Errorf("first upsert %+v", res)
	}
	again, err := c.Upsert(ctx, "Case", "Care_Case_Id__c", "42", map[string]any{"Subject": "Social case #42 (retry)"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.ID != res.ID {
		t.Errorf("second upsert %+v", again)
	}
	if err := c.Update(ctx, "Case", res.ID, map[string]any{"Status": "Working"}); err != nil {
		t.Fatal(err)
	}
	cases, err := c.Query(ctx, "SELECT Id, CaseNumber, Status, Subject, Contact.Email FROM Case WHERE Care_Case_Id__c = "+salesforce.QuoteSOQL("42"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].String("Status") != "Working" || cases[0].String("Contact.Email") != "ada@example.com" ||
		cases[0].String("Subject") != "Social case #42 (retry)" || cases[0].String("CaseNumber") == "" {
		t.Errorf("cases %v", cases)
	}
	byName, err := c.Query(ctx, "SELECT Id FROM Contact WHERE LastName = "+salesforce.QuoteSOQL("O'Hara"))
	if err != nil || len(byName) != 1 || byName[0].ID() != contactID {
		t.Errorf("quoted query %v %v", byName, err)
	}
	_, err = c.Upsert(ctx, "Case", "Nope__c", "1", map[string]any{"Subject": "x"})
	if !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("unknown ext field: %v", err)
	}

	if err := c.Delete(ctx, "Contact", contactID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "Contact", contactID); !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if err := c.Delete(ctx, "Contact", contactID); !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}

	// Every call counted by operation and code; the daily usage exported.
	for _, want := range []struct {
		op, code string
		min      float64
	}{{"create", "201", 1}, {"create", "400", 2}, {"upsert", "201", 1}, {"upsert", "200", 1}, {"update", "204", 1},
		{"query", "200", 3}, {"delete", "204", 1}, {"token", "200", 1}} {
		got, ok := simtest.Metric(t, reg, "carebridge_salesforce_requests_total", map[string]string{"operation": want.op, "code": want.code})
		if !ok || got < want.min {
			t.Errorf("requests{%s,%s} = %v (series exists: %v), want >= %v", want.op, want.code, got, ok, want.min)
		}
	}
	used, limit := srv.APIUsage()
	li, ok := c.LastLimitInfo()
	if !ok || li.Max != int64(limit) || li.Used < 1 || li.Used > int64(used) {
		t.Errorf("limit info %+v, sim %d/%d", li, used, limit)
	}
}

func TestSimQueryMore(t *testing.T) {
	srv := newSim(t, sfsim.Options{QueryBatchSize: 3})
	c, _, _ := dataClient(t, srv, salesforce.Options{})
	ctx := context.Background()
	records := make([]map[string]any, 8)
	for i := range records {
		records[i] = map[string]any{"LastName": fmt.Sprintf("Page%02d", i)}
	}
	res, err := c.CollectionsCreate(ctx, "Contact", records, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Success || r.Err != nil {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	before := srv.Stats().ByOperation["query"]
	var pages int
	var names []string
	err = c.QueryPages(ctx, "SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Page%' ORDER BY LastName", func(p *salesforce.QueryResult) error {
		pages++
		if p.TotalSize != 8 {
			t.Errorf("totalSize %d", p.TotalSize)
		}
		for _, r := range p.Records {
			names = append(names, r.String("LastName"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 3 || len(names) != 8 || names[0] != "Page00" || names[7] != "Page07" {
		t.Errorf("%d pages, names %v", pages, names)
	}
	if calls := srv.Stats().ByOperation["query"] - before; calls != 3 {
		t.Errorf("%d query calls", calls)
	}
	all, err := c.Query(ctx, "SELECT Id FROM Contact WHERE LastName LIKE 'Page%'")
	if err != nil || len(all) != 8 {
		t.Errorf("Query: %d %v", len(all), err)
	}
	_, err = c.Query(ctx, "SELECT Id FROM Contact WHERE")
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Code != "MALFORMED_QUERY" || salesforce.Classify(err) != salesforce.NotRetryable {
		t.Errorf("malformed: %v", err)
	}
}

func TestSimCollectionsAndComposite(t *testing.T) {
	srv := newSim(t, sfsim.Options{})
	c, _, _ := dataClient(t, srv, salesforce.Options{})
	ctx := context.Background()
	caseRes, err := c.Upsert(ctx, "Case", "Care_Case_Id__c", "7", map[string]any{"Subject": "s"})
	if err != nil {
		t.Fatal(err)
	}
	posts := []map[string]any{
		{"Care_Message_Id__c": "m1", "Case__c": caseRes.ID, "Content__c": "hello", "Direction__c": "Inbound"},
		{"Care_Message_Id__c": "m2", "Case__c": caseRes.ID, "Content__c": "bad", "Direction__c": "Sideways"},
		{"Care_Message_Id__c": "m3", "Case__c": caseRes.ID, "Content__c": "bye", "Direction__c": "Outbound"},
	}
	res, err := c.CollectionsUpsert(ctx, "Care_Social_Post__c", "Care_Message_Id__c", posts, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Success || !res[0].Created || !res[2].Success || res[1].Success {
		t.Fatalf("results %+v", res)
	}
	var ae *salesforce.APIError
	if !errors.As(res[1].Err, &ae) || ae.Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || salesforce.Classify(ae) != salesforce.NotRetryable {
		t.Errorf("bad picklist: %v", res[1].Err)
	}
	// A retry of the same batch updates instead of duplicating.
	posts[1]["Direction__c"] = "Inbound"
	res, err = c.CollectionsUpsert(ctx, "Care_Social_Post__c", "Care_Message_Id__c", posts, true)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Created || !res[1].Created || res[2].Created {
		t.Errorf("retry results %+v", res)
	}
	if n := len(srv.Records("Care_Social_Post__c")); n != 3 {
		t.Errorf("%d posts", n)
	}

	// allOrNone: one bad record rolls back the others.
	res, err = c.CollectionsCreate(ctx, "Contact", []map[string]any{{"LastName": "ok"}, {"FirstName": "no last"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Success || salesforce.Classify(res[0].Err) != salesforce.Retryable || salesforce.Classify(res[1].Err) != salesforce.NotRetryable {
		t.Errorf("allOrNone %+v", res)
	}

	// Composite: upsert a contact and create a case referencing it.
	before := srv.Stats().Total
	sub, err := c.Composite(ctx, true, []salesforce.Subrequest{
		{Method: "PATCH", URL: c.DataPath("sobjects", "Case", "Care_Case_Id__c", "8"), ReferenceID: "kase", Body: map[string]any{"Subject": "composite"}},
		{Method: "GET", URL: c.DataPath("sobjects", "Case") + "/@{kase.id}?fields=CaseNumber", ReferenceID: "num"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls := srv.Stats().Total - before; calls != 1 {
		t.Errorf("composite cost %d calls", calls)
	}
	for _, s := range sub {
		if s.Err() != nil {
			t.Errorf("%s: %v", s.ReferenceID, s.Err())
		}
	}
	var got salesforce.Record
	if err := sub[1].Decode(&got); err != nil || got.String("CaseNumber") == "" {
		t.Errorf("case number %v %v", got, err)
	}
	sub, err = c.Composite(ctx, true, []salesforce.Subrequest{
		{Method: "POST", URL: c.DataPath("sobjects", "Contact"), ReferenceID: "good", Body: map[string]any{"LastName": "fine"}},
		{Method: "POST", URL: c.DataPath("sobjects", "Contact"), ReferenceID: "bad", Body: map[string]any{"FirstName": "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if salesforce.Classify(sub[0].Err()) != salesforce.Retryable || !errors.As(sub[1].Err(), &ae) || ae.Code != "REQUIRED_FIELD_MISSING" {
		t.Errorf("rolled back composite: %v / %v", sub[0].Err(), sub[1].Err())
	}
}

func TestSimSearchDescribeUpdated(t *testing.T) {
	// getUpdated covers whole minutes: the org's clock is moved, not waited for.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	srv := newSim(t, sfsim.Options{Now: now})
	c, _, _ := dataClient(t, srv, salesforce.Options{})
	ctx := context.Background()
	start := now().Add(-time.Hour)
	id, err := c.Create(ctx, "Contact", map[string]any{"FirstName": "Grace", "LastName": "Hopper"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := c.Search(ctx, "FIND {"+salesforce.EscapeSOSL("Grace Hopper")+"} IN NAME FIELDS RETURNING Contact(Id, FirstName, LastName)")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID() != id || recs[0].String("LastName") != "Hopper" {
		t.Errorf("search %v", recs)
	}
	_, err = c.Search(ctx, "FIND Grace")
	var ae *salesforce.APIError
	if !errors.As(err, &ae) || ae.Code != "MALFORMED_SEARCH" {
		t.Errorf("malformed search: %v", err)
	}

	d, err := c.Describe(ctx, "Case")
	if err != nil {
		t.Fatal(err)
	}
	ext, ok := d.Field("Care_Case_Id__c")
	status, ok2 := d.Field("Status")
	if !ok || !ext.ExternalID || ext.Length != 64 || !ok2 || status.Type != "picklist" {
		t.Errorf("describe %+v %+v", ext, status)
	}
	if _, ok := status.Picklist("Escalated"); !ok {
		t.Errorf("Status picklist %v", status.PicklistValues)
	}
	before := srv.Stats().ByOperation["describe"]
	if _, err := c.Describe(ctx, "case"); err != nil {
		t.Fatal(err)
	}
	if srv.Stats().ByOperation["describe"] != before {
		t.Error("describe not cached")
	}
	c.InvalidateDescribe("Case")
	if _, err := c.Describe(ctx, "Case"); err != nil || srv.Stats().ByOperation["describe"] != before+1 {
		t.Errorf("describe after invalidate: %v", err)
	}
	g, err := c.DescribeGlobal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := g.SObject("Care_Social_Post__c"); !ok || !s.Custom {
		t.Errorf("global %+v", s)
	}
	if _, err := c.Describe(ctx, "NoSuchObject"); !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("unknown object: %v", err)
	}

	clock.Add(int64(2 * time.Minute))
	up, err := c.Updated(ctx, "Contact", start, now())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range up.IDs {
		found = found || x == id
	}
	if !found || up.LatestDateCovered.IsZero() {
		t.Errorf("updated %+v", up)
	}

	lim, err := c.Limits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	daily, ok := lim.DailyAPI()
	if _, max := srv.APIUsage(); !ok || daily.Max != int64(max) {
		t.Errorf("limits %+v", daily)
	}
}

func TestSimFaults(t *testing.T) {
	tests := []struct {
		fault    sfsim.Fault
		class    salesforce.Class
		longWait bool
		network  bool
	}{
		{sfsim.Fault{Kind: sfsim.FaultServerError, Count: 1}, salesforce.Retryable, false, false},
		{sfsim.Fault{Kind: sfsim.FaultServerError, Count: 1, Status: 500}, salesforce.Retryable, false, false},
		{sfsim.Fault{Kind: sfsim.FaultUnableToLockRow, Count: 1}, salesforce.Retryable, false, false},
		{sfsim.Fault{Kind: sfsim.FaultRequestLimitExceeded, Count: 1}, salesforce.Retryable, true, false},
		{sfsim.Fault{Kind: sfsim.FaultDrop, Count: 1}, salesforce.Retryable, false, true},
	}
	srv := newSim(t, sfsim.Options{})
	c, _, _ := dataClient(t, srv, salesforce.Options{})
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d", tt.fault.Kind, tt.fault.Status), func(t *testing.T) {
			if err := srv.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			_, err := c.Upsert(ctx, "Case", "Care_Case_Id__c", "f1", map[string]any{"Subject": "x"})
			if err == nil {
				t.Fatal("no error")
			}
			var ne *salesforce.NetworkError
			if salesforce.Classify(err) != tt.class || salesforce.LongWait(err) != tt.longWait || errors.As(err, &ne) != tt.network {
				t.Errorf("err %v class %v", err, salesforce.Classify(err))
			}
			// The next call goes through.
			if _, err := c.Upsert(ctx, "Case", "Care_Case_Id__c", "f1", map[string]any{"Subject": "x"}); err != nil {
				t.Errorf("after fault: %v", err)
			}
		})
	}

	// Over the daily limit every call is refused with a long wait.
	srv.SetDailyLimit(10)
	srv.SetAPIUsage(10)
	_, err := c.Query(ctx, "SELECT Id FROM Case")
	if !errors.Is(err, salesforce.ErrRequestLimitExceeded) || !salesforce.LongWait(err) {
		t.Errorf("over limit: %v", err)
	}
}

// Against an org with an active assignment rule and duplicate rules, the
// client's writes keep their owner and pass alert-only rules; a blocking
// rule names its matches.
func TestSimStrictOrg(t *testing.T) {
	srv := newSim(t, sfsim.Options{Strict: true})
	c, _, _ := dataClient(t, srv, salesforce.Options{})
	ctx := context.Background()
	queue := srv.Org().SupportQueueID

	owner := func(object, id string) string {
		t.Helper()
		r, err := c.Get(ctx, object, id, "OwnerId")
		if err != nil {
			t.Fatal(err)
		}
		return r.String("OwnerId")
	}
	caseID, err := c.Create(ctx, "Case", map[string]any{"Subject": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "Case", caseID, map[string]any{"Status": "Working"}); err != nil {
		t.Fatal(err)
	}
	up, err := c.Upsert(ctx, "Case", "Care_Case_Id__c", "01JAAAAAAAAAAAAAAAAAAAAAAA", map[string]any{"Subject": "upserted"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Composite(ctx, false, []salesforce.Subrequest{
		{Method: "POST", URL: c.DataPath("sobjects", "Case"), ReferenceID: "c", Body: map[string]any{"Subject": "composite"}},
	})
	if err != nil || res[0].Err() != nil {
		t.Fatalf("composite: %v %v", err, res)
	}
	var made struct{ ID string }
	res[0].Decode(&made)
	for _, id := range []string{caseID, up.ID, made.ID} {
		if o := owner("Case", id); o == queue || o == "" {
			t.Errorf("case %s owner %q: the assignment rule moved it", id, o)
		}
	}
	assigned, err := c.Create(salesforce.WithAssignmentRules(ctx), "Case", map[string]any{"Subject": "assigned"})
	if err != nil {
		t.Fatal(err)
	}
	if o := owner("Case", assigned); o != queue {
		t.Errorf("assignment asked for, owner %q, want the queue %s", o, queue)
	}

	// The Contact rule only alerts: allowSave saves.
	joe := map[string]any{"FirstName": "Joe", "LastName": "Doe", "Email": "joe@example.com"}
	if _, err := c.Create(ctx, "Contact", joe); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "Contact", joe); err != nil {
		t.Errorf("alert-only duplicate refused: %v", err)
	}
	// The Lead rule blocks, naming the lead it matched.
	lead := map[string]any{"LastName": "Doe", "Company": "Acme", "Email": "joe@example.com"}
	first, err := c.Create(ctx, "Lead", lead)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(ctx, "Lead", lead)
	var ae *salesforce.APIError
	if !errors.Is(err, salesforce.ErrDuplicates) || !errors.As(err, &ae) || len(ae.Matches) != 1 || ae.Matches[0] != first {
		t.Fatalf("blocked duplicate lead: %v (%+v)", err, ae)
	}
	results, err := c.CollectionsCreate(ctx, "Lead", []map[string]any{lead}, false)
	if err != nil || results[0].Success || !errors.Is(results[0].Err, salesforce.ErrDuplicates) ||
		!errors.As(results[0].Err, &ae) || len(ae.Matches) != 1 || ae.Matches[0] != first {
		t.Errorf("blocked duplicate in a collection: %+v %v", results, err)
	}
}
