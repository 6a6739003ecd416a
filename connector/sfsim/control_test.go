package sfsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func simCall(t *testing.T, srv *Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.LoginURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestControlRecords(t *testing.T) {
	clock := newClock()
	srv := startServer(t, Options{Now: clock.Now})
	a := newAPI(t, srv, "agent@example.com")
	id := a.mustCreate("Case", map[string]any{"Subject": "s"})
	before, _ := srv.Record("Case", id)
	clock.Add(time.Minute)
	if status, body := simCall(t, srv, http.MethodPatch, "/__sim/records/Case/"+id, `{"Status":"Closed"}`); status != 204 {
		t.Fatalf("PATCH record: %d %s", status, body)
	}
	after, _ := srv.Record("Case", id)
	admin, _ := srv.User(DefaultUsername)
	if after["Status"] != "Closed" || after["IsClosed"] != true || after["SystemModstamp"] == before["SystemModstamp"] ||
		after["LastModifiedDate"] != formatTime(clock.Now()) || after["LastModifiedById"] != admin.ID {
		t.Fatalf("after PATCH: %v", after)
	}
	// The change shows up for a SystemModstamp poller.
	if a.count("SELECT Id, Status FROM Case WHERE SystemModstamp > "+before["SystemModstamp"].(string)) != "1" {
		t.Fatal("poller misses the change")
	}
	if status, body := simCall(t, srv, http.MethodPatch, "/__sim/records/Case/"+id, `{"Status":"Nope","Bogus":1}`); status != 400 || !strings.Contains(body, "INVALID_FIELD") {
		t.Fatalf("invalid PATCH: %d %s", status, body)
	}
	if status, _ := simCall(t, srv, http.MethodPatch, "/__sim/records/Case/"+To18("500Sm0000ZZZZZZ"), `{}`); status != 404 {
		t.Fatalf("unknown record: %d", status)
	}
	status, body := simCall(t, srv, http.MethodGet, "/__sim/records/Case", "")
	if status != 200 || !strings.Contains(body, id) {
		t.Fatalf("list records: %d %s", status, body)
	}
	status, body = simCall(t, srv, http.MethodPost, "/__sim/users", `{"username":"new@example.com","last_name":"New","email":"new@example.com"}`)
	if status != 201 || !strings.Contains(body, `"id":"005`) {
		t.Fatalf("create user: %d %s", status, body)
	}
	if status, _ := simCall(t, srv, http.MethodPost, "/__sim/users", `{"username":"new@example.com","last_name":"Again"}`); status != 400 {
		t.Fatal("duplicate username accepted")
	}
	if status, _ := simCall(t, srv, http.MethodGet, "/__sim/nothing", ""); status != 404 {
		t.Fatal("unknown control endpoint")
	}
	// Each refusal answers its status and says why.
	for _, tc := range []struct {
		method, path, body string
		status             int
		says               string
	}{
		{http.MethodPost, "/__sim/users", `{"username":"x@example.com","colour":"red"}`, 400, "colour"},
		{http.MethodPost, "/__sim/users/ghost@example.com/revoke", "", 404, "ghost@example.com"},
		{http.MethodPut, "/__sim/limits", `{"daily_limit":"many"}`, 400, "daily_limit"},
	} {
		status, body := simCall(t, srv, tc.method, tc.path, tc.body)
		if status != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s %s: %d %s, want %d saying %q", tc.method, tc.path, status, body, tc.status, tc.says)
		}
	}
}

func TestStats(t *testing.T) {
	srv := startServer(t, Options{})
	status, body := simCall(t, srv, http.MethodGet, "/__sim/stats", "")
	var st Stats
	if err := json.Unmarshal([]byte(body), &st); status != 200 || err != nil {
		t.Fatal(status, err)
	}
	if st.Total != 0 || len(st.ByOperation) != len(Operations()) {
		t.Fatalf("every operation is present at 0 from start: %s", body)
	}
	a := newAPI(t, srv, "") // token: 1
	id := a.mustCreate("Contact", map[string]any{"LastName": "x"})
	a.call(http.MethodPatch, "sobjects/Contact/"+id, map[string]any{"Title": "t"})
	a.call(http.MethodPatch, "sobjects/Case/Care_Case_Id__c/c1", map[string]any{"Subject": "t"})
	a.call(http.MethodGet, "sobjects/Contact/"+id, nil)
	a.query("SELECT Id FROM Contact")
	a.call(http.MethodGet, "search?q=FIND+%7Bxx%7D", nil)
	a.call(http.MethodGet, "sobjects/Contact/describe", nil)
	a.call(http.MethodGet, "sobjects", nil)
	a.call(http.MethodPost, "composite/sobjects", map[string]any{"records": []any{}})
	a.call(http.MethodPost, "composite", map[string]any{"compositeRequest": []any{}})
	a.call(http.MethodGet, "limits", nil)
	a.call(http.MethodDelete, "sobjects/Contact/"+id, nil)
	postForm(t, srv.LoginURL+"/services/oauth2/revoke", map[string][]string{"token": {"x"}})
	req, _ := http.NewRequest(http.MethodGet, srv.LoginURL+"/services/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if resp, err := testClient.Do(req); err == nil {
		resp.Body.Close()
	}
	bad := *a
	bad.token = "expired"
	bad.call(http.MethodGet, "limits", nil) // a 401 counts too
	want := map[string]int64{opToken: 1, opCreate: 1, opUpdate: 1, opUpsert: 1, opQuery: 2, opSearch: 1, opDescribe: 2,
		opCollections: 1, opComposite: 1, opLimits: 2, opDelete: 1, opRevoke: 1, opUserinfo: 1}
	got := srv.Stats()
	var total int64
	for op, n := range want {
		total += n
		if got.ByOperation[op] != n {
			t.Errorf("%s = %d, want %d", op, got.ByOperation[op], n)
		}
	}
	if got.Total != total {
		t.Errorf("total %d, want %d", got.Total, total)
	}
	if status, _ := simCall(t, srv, http.MethodDelete, "/__sim/stats", ""); status != 204 || srv.Stats().Total != 0 {
		t.Fatal("reset stats")
	}
}

func TestFaults(t *testing.T) {
	srv := startServer(t, Options{})
	a := newAPI(t, srv, "")
	inject := func(body string) {
		t.Helper()
		if status, resp := simCall(t, srv, http.MethodPost, "/__sim/faults", body); status != 204 {
			t.Fatalf("inject %s: %d %s", body, status, resp)
		}
	}
	contacts := func() int { return len(srv.Records("Contact")) }

	t.Run("5xx", func(t *testing.T) {
		inject(`{"kind":"5xx","count":2}`)
		for i := 0; i < 2; i++ {
			r := a.call(http.MethodGet, "limits", nil)
			if r.status != 503 || strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Fatalf("call %d: %d %s", i, r.status, r.header.Get("Content-Type"))
			}
		}
		if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
			t.Fatalf("the fault is used up after count calls: %d", r.status)
		}
		inject(`{"kind":"5xx","status":500}`)
		wantError(t, "500", a.call(http.MethodGet, "limits", nil), 500, "UNKNOWN_EXCEPTION", "")
		inject(`{"kind":"5xx","status":502}`)
		if r := a.call(http.MethodGet, "limits", nil); r.status != 502 {
			t.Fatalf("502: %d", r.status)
		}
	})
	t.Run("unable_to_lock_row", func(t *testing.T) {
		n := contacts()
		inject(`{"kind":"unable_to_lock_row"}`)
		r := a.call(http.MethodPost, "sobjects/Contact", map[string]any{"LastName": "x"})
		if r.status != 400 || r.errCode(t) != "UNABLE_TO_LOCK_ROW" || contacts() != n {
			t.Fatalf("single: %d %s", r.status, r.body)
		}
		inject(`{"kind":"unable_to_lock_row"}`)
		res := results(t, a.call(http.MethodPost, "composite/sobjects", map[string]any{"records": []any{rec("Contact", map[string]any{"LastName": "a"}), rec("Contact", map[string]any{"LastName": "b"})}}))
		if len(res) != 2 || statusCode(res[0]) != "UNABLE_TO_LOCK_ROW" || statusCode(res[1]) != "UNABLE_TO_LOCK_ROW" || contacts() != n {
			t.Fatalf("collections answer 200 with per-record lock errors: %v", res)
		}
		for _, afterCommit := range []bool{false, true} {
			inject(fmt.Sprintf(`{"kind":"unable_to_lock_row","after_commit":%t}`, afterCommit))
			before := contacts()
			r := a.call(http.MethodPost, "composite", map[string]any{"compositeRequest": []any{
				map[string]any{"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "c1", "body": map[string]any{"LastName": "locked"}},
				map[string]any{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "lim"},
			}})
			var out struct {
				CompositeResponse []struct {
					Body           []map[string]any `json:"body"`
					HTTPStatusCode int              `json:"httpStatusCode"`
					ReferenceID    string           `json:"referenceId"`
				} `json:"compositeResponse"`
			}
			if err := json.Unmarshal(r.body, &out); err != nil || r.status != 200 || len(out.CompositeResponse) != 2 {
				t.Fatalf("composite under a lock fault (after_commit %t): %d %s", afterCommit, r.status, r.body)
			}
			for i, ref := range []string{"c1", "lim"} {
				sub := out.CompositeResponse[i]
				if sub.HTTPStatusCode != 400 || sub.ReferenceID != ref || len(sub.Body) != 1 || sub.Body[0]["errorCode"] != "UNABLE_TO_LOCK_ROW" {
					t.Fatalf("subrequest %s (after_commit %t): %s", ref, afterCommit, r.body)
				}
			}
			want := before
			if afterCommit {
				want++
			}
			if got := contacts(); got != want {
				t.Fatalf("after_commit %t: %d contacts, want %d", afterCommit, got, want)
			}
		}
	})
	t.Run("request_limit_exceeded", func(t *testing.T) {
		inject(`{"kind":"request_limit_exceeded"}`)
		wantError(t, "limits", a.call(http.MethodGet, "limits", nil), 403, "REQUEST_LIMIT_EXCEEDED", "")
	})
	t.Run("drop", func(t *testing.T) {
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		post := func() error {
			req, _ := http.NewRequest(http.MethodPost, srv.InstanceURL+"/services/data/v62.0/sobjects/Contact", strings.NewReader(`{"LastName":"dropped"}`))
			req.Header.Set("Authorization", "Bearer "+a.token)
			resp, err := fresh.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		n := contacts()
		inject(`{"kind":"drop"}`)
		if err := post(); err == nil {
			t.Fatal("a dropped call must fail without an answer")
		}
		if contacts() != n {
			t.Fatal("a drop before commit writes nothing")
		}
		inject(`{"kind":"drop","after_commit":true}`)
		if err := post(); err == nil {
			t.Fatal("a dropped call must fail without an answer")
		}
		if contacts() != n+1 {
			t.Fatal("after_commit applies the write before dropping")
		}
	})
	t.Run("after_commit 5xx", func(t *testing.T) {
		n := contacts()
		inject(`{"kind":"5xx","after_commit":true}`)
		if r := a.call(http.MethodPost, "sobjects/Contact", map[string]any{"LastName": "committed"}); r.status != 503 {
			t.Fatalf("%d", r.status)
		}
		if contacts() != n+1 {
			t.Fatal("the write was not committed")
		}
		inject(`{"kind":"unable_to_lock_row","after_commit":true}`)
		res := results(t, a.call(http.MethodPost, "composite/sobjects", map[string]any{"records": []any{rec("Contact", map[string]any{"LastName": "c"})}}))
		if statusCode(res[0]) != "UNABLE_TO_LOCK_ROW" || contacts() != n+2 {
			t.Fatalf("after-commit lock on collections: %v", res)
		}
	})
	t.Run("latency", func(t *testing.T) {
		inject(`{"kind":"latency","latency_ms":20,"count":2}`)
		for i := 0; i < 3; i++ {
			if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
				t.Fatalf("latency faults still answer: %d", r.status)
			}
		}
	})
	t.Run("token calls are not faulted", func(t *testing.T) {
		inject(`{"kind":"5xx"}`)
		login(t, srv, "")
		if r := a.call(http.MethodGet, "limits", nil); r.status != 503 {
			t.Fatalf("the fault waits for a data call: %d", r.status)
		}
	})
	t.Run("queue and clear", func(t *testing.T) {
		inject(`{"kind":"5xx","count":1}`)
		inject(`{"kind":"request_limit_exceeded","count":1}`)
		if r := a.call(http.MethodGet, "limits", nil); r.status != 503 {
			t.Fatal("faults apply in order")
		}
		if r := a.call(http.MethodGet, "limits", nil); r.status != 403 {
			t.Fatal("faults apply in order")
		}
		inject(`{"kind":"5xx","count":5}`)
		if status, _ := simCall(t, srv, http.MethodDelete, "/__sim/faults", ""); status != 204 {
			t.Fatal("clear")
		}
		if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
			t.Fatal("cleared faults still apply")
		}
	})
	t.Run("bad fault requests", func(t *testing.T) {
		for _, body := range []string{`{"kind":"meteor"}`, `{"kind":"latency"}`, `{"kind":"5xx","status":404}`, `{"kind":"5xx","bogus":1}`, `not json`} {
			if status, _ := simCall(t, srv, http.MethodPost, "/__sim/faults", body); status != 400 {
				t.Errorf("%s: %d", body, status)
			}
		}
		if err := srv.InjectFault(Fault{Kind: "nope"}); err == nil {
			t.Error("InjectFault accepted an unknown kind")
		}
	})
}

func TestOptionsLatency(t *testing.T) {
	srv := startServer(t, Options{Latency: 5 * time.Millisecond})
	a := newAPI(t, srv, "")
	for i := 0; i < 3; i++ {
		if r := a.call(http.MethodGet, "limits", nil); r.status != 200 {
			t.Fatal(r.status)
		}
	}
}

func TestGoHelpers(t *testing.T) {
	srv := startServer(t, Options{})
	if _, err := srv.CreateRecord("Lead", map[string]any{"LastName": "x"}); err == nil {
		t.Fatal("CreateRecord must validate")
	} else if e := (*Error)(nil); !errors.As(err, &e) || e.Code != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("error %v", err)
	}
	id, err := srv.CreateRecord("Lead", map[string]any{"LastName": "x", "Company": "y"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.UpdateRecord("Lead", id, map[string]any{"Status": "Working - Contacted"}); err != nil {
		t.Fatal(err)
	}
	if r, ok := srv.Record("Lead", id[:15]); !ok || r["Status"] != "Working - Contacted" {
		t.Fatalf("Record: %v", r)
	}
	if err := srv.DeleteRecord("Lead", id); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Record("Lead", id); ok || len(srv.Records("Lead")) != 0 {
		t.Fatal("deleted record still visible")
	}
	if _, err := srv.Query("SELECT Nope FROM Lead"); err == nil {
		t.Fatal("Query must report errors")
	}
	srv.SetDailyLimit(1)
	srv.SetAPIUsage(1)
	a := newAPI(t, srv, "")
	if r := a.call(http.MethodGet, "limits", nil); r.status != 403 {
		t.Fatalf("SetDailyLimit: %d", r.status)
	}
	if got := fmt.Sprint(srv.APIUsage()); got != "1 1" {
		t.Fatalf("APIUsage %s", got)
	}
}
