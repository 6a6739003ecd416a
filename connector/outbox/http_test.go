package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/testworld"
)

func bearer(id string) string { return testworld.Token(id) }

// api serves the Care API with the outbox routes.
func (w *world) api() *httptest.Server { return w.tw.Server }

// call makes an API request as user and decodes the answer into out.
func call(t *testing.T, ts *httptest.Server, method, path, user string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer(user))
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

type entryList struct {
	Entries []EntryJSON `json:"entries"`
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

func TestRefusedRecordsFailAloneAndRetryByHand(t *testing.T) {
	good := exampleMapping(t)
	bad := bytes.Replace(good, []byte("inbound: Inbound"), []byte("inbound: Sideways"), 1)
	if bytes.Equal(good, bad) {
		t.Fatal("mapping not changed")
	}
	w := newWorld(t, worldOptions{mapping: bad})
	w.connect()
	ts := w.api()
	c, sf := w.linkedCase(1) // a backfill of the first (inbound) message
	out := w.store
	outbound := message("out-1", 1)
	outbound.Direction = care.Outbound
	res, err := out.Ingest(context.Background(), community, outbound)
	if err != nil {
		t.Fatal(err)
	}
	in := w.ingest(1, "in-1")
	w.runDeliverer()
	eventually(t, 10*time.Second, "deliveries settle", w.drained)

	// The outbound record went; the entries with an inbound message failed
	// with Salesforce's error, in the same batch.
	recs := w.messageRecords()
	if _, ok := recs[res.Message.ExternalKey]; !ok || len(recs) != 1 {
		t.Fatalf("records: %v", recs)
	}
	if n := w.calls("collections"); n != 1 {
		t.Fatalf("%d collections calls", n)
	}
	if st := w.stats(); st.Failed != 2 {
		t.Fatalf("stats %+v, want 2 failed", st)
	}
	if v, _ := metricValue(t, w.reg, "carebridge_outbox_failed", nil); v != 2 {
		t.Fatalf("outbox_failed gauge %v", v)
	}

	var list entryList
	if code := call(t, ts, "GET", "/api/v1/salesforce/outbox?state=failed", "sue", &list); code != 200 || len(list.Entries) != 2 {
		t.Fatalf("list: %d %+v", code, list)
	}
	kinds := map[string]EntryJSON{}
	for _, e := range list.Entries {
		kinds[e.Kind] = e
		if e.State != "failed" || e.CaseID != c.ID || e.Error == nil ||
			e.Error.Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || e.Error.Message == "" || e.Attempts != 1 {
			t.Fatalf("entry %+v (error %+v)", e, e.Error)
		}
	}
	if _, ok := kinds["backfill"]; !ok || kinds["push_message"].MessageID != in.ID {
		t.Fatalf("failed entries: %+v", list.Entries)
	}

	for _, tc := range []struct {
		name, method, path, user string
		status                   int
		code, message            string
	}{
		{"agents may not list", "GET", "/api/v1/salesforce/outbox", "alice", 403, "forbidden", "only supervisors see the Salesforce outbox"},
		{"agents may not retry", "POST", fmt.Sprintf("/api/v1/salesforce/outbox/%d/retry", list.Entries[0].ID), "alice", 403, "forbidden", "only supervisors see the Salesforce outbox"},
		{"bad state", "GET", "/api/v1/salesforce/outbox?state=gone", "sue", 400, "invalid_argument", "state must be failed or pending"},
		{"bad limit", "GET", "/api/v1/salesforce/outbox?limit=0", "sue", 400, "invalid_argument", "limit must be a number from 1 to 1000"},
		{"unknown id", "POST", "/api/v1/salesforce/outbox/999999/retry", "sue", 404, "not_found", "outbox entry 999999 not found"},
		{"not an id", "POST", "/api/v1/salesforce/outbox/abc/retry", "sue", 404, "not_found", "no such outbox entry: abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e apiError
			if code := call(t, ts, tc.method, tc.path, tc.user, &e); code != tc.status || e.Error.Code != tc.code || e.Error.Message != tc.message {
				t.Fatalf("%d %+v, want %d %s %q", code, e, tc.status, tc.code, tc.message)
			}
		})
	}

	// A pending entry is not failed: 409.
	w.stop()
	w.careSet(c.ID, care.StatusOnHold)
	var pending entryList
	if code := call(t, ts, "GET", "/api/v1/salesforce/outbox?state=pending", "sue", &pending); code != 200 || len(pending.Entries) != 1 {
		t.Fatalf("pending: %d %+v", code, pending)
	}
	var e apiError
	if code := call(t, ts, "POST", fmt.Sprintf("/api/v1/salesforce/outbox/%d/retry", pending.Entries[0].ID), "sue", &e); code != 409 || e.Error.Code != "conflict" {
		t.Fatalf("retry pending: %d %+v", code, e)
	}

	// The mapping is fixed; a supervisor retries both, and they go.
	w.setMapping(good)
	for _, f := range list.Entries {
		var got EntryJSON
		if code := call(t, ts, "POST", fmt.Sprintf("/api/v1/salesforce/outbox/%d/retry", f.ID), "sue", &got); code != 200 ||
			got.ID != f.ID || got.State != "pending" || got.Attempts != 0 {
			t.Fatalf("retry: %d %+v", code, got)
		}
	}
	w.restartDeliverer()
	eventually(t, 10*time.Second, "retried entries delivered", w.drained)
	recs = w.messageRecords()
	if len(recs) != 3 || recs[in.ExternalKey]["Direction__c"] != "Inbound" {
		t.Fatalf("records after retry: %v", recs)
	}
	if st := w.stats(); st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	if w.sfStatus(sf) != "Escalated" {
		t.Fatalf("status %s", w.sfStatus(sf))
	}
}
