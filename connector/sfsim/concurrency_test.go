package sfsim

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestConcurrentCalls hammers one org with 50 concurrent clients mixing
// logins, creates, upserts of shared external ids, updates of one shared
// record, queries and collections, then checks the invariants: every call
// answered 2xx, upserts never duplicated a record, auto-numbers are unique.
func TestConcurrentCalls(t *testing.T) {
	srv := startServer(t, Options{})
	seed := newAPI(t, srv, "")
	shared := seed.mustCreate("Case", map[string]any{"Subject": "shared"})
	const workers, rounds, extIDs = 50, 5, 20
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*8)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newAPI(t, srv, fmt.Sprintf("user%d@example.com", w%5))
			a.hc = hc
			expect := func(r result, statuses ...int) {
				for _, s := range statuses {
					if r.status == s {
						return
					}
				}
				errs <- fmt.Sprintf("worker %d: %d %s", w, r.status, r.body)
			}
			for i := 0; i < rounds; i++ {
				ext := fmt.Sprintf("m%d", (w*rounds+i)%extIDs)
				expect(a.call(http.MethodPatch, "sobjects/Care_Social_Post__c/Care_Message_Id__c/"+ext,
					map[string]any{"Case__c": shared, "Content__c": fmt.Sprintf("w%d i%d", w, i), "Direction__c": "Inbound"}), 200, 201)
				expect(a.call(http.MethodPost, "sobjects/Case", map[string]any{"Subject": fmt.Sprintf("w%d-%d", w, i)}), 201)
				expect(a.call(http.MethodPatch, "sobjects/Case/"+shared, map[string]any{"Description": fmt.Sprint(w, i)}), 204)
				expect(a.call(http.MethodGet, "sobjects/Case/"+shared, nil), 200)
				expect(a.query("SELECT Id, Care_Message_Id__c, Case__r.Subject FROM Care_Social_Post__c ORDER BY Care_Message_Id__c"), 200)
				expect(a.call(http.MethodPatch, "composite/sobjects/Care_Social_Post__c/Care_Message_Id__c", map[string]any{"records": []any{
					rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": fmt.Sprintf("c%d", i%3), "Direction__c": "Outbound"}),
					rec("Care_Social_Post__c", map[string]any{"Care_Message_Id__c": fmt.Sprintf("c%d", (i+1)%3), "Direction__c": "Outbound"}),
				}}), 200)
				_ = srv.Stats()
				_ = srv.Records("Case")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	posts := srv.Records("Care_Social_Post__c")
	if len(posts) != extIDs+3 {
		t.Fatalf("%d message records, want %d: concurrent upserts duplicated records", len(posts), extIDs+3)
	}
	cases := srv.Records("Case")
	if len(cases) != 1+workers*rounds {
		t.Fatalf("%d cases, want %d", len(cases), 1+workers*rounds)
	}
	numbers := map[any]bool{}
	for _, c := range cases {
		if numbers[c["CaseNumber"]] {
			t.Fatalf("duplicate CaseNumber %v", c["CaseNumber"])
		}
		numbers[c["CaseNumber"]] = true
	}
	if st := srv.Stats(); st.ByOperation[opUpsert] != workers*rounds || st.ByOperation[opCollections] != workers*rounds {
		t.Fatalf("stats under concurrency: %+v", st.ByOperation)
	}
}
