package sfsim

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks of simple calls over real HTTP on loopback, in parallel with
// keep-alive connections. Each reports calls/s.
//
//	go test -run XXX -bench . -benchtime 3s ./connector/sfsim/

func benchServer(b *testing.B) (*Server, *api, *http.Client) {
	b.Helper()
	srv := startServer(b, Options{})
	a := newAPI(b, srv, "")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
	return srv, a, hc
}

func runParallel(b *testing.B, hc *http.Client, token string, req func(i int64) (*http.Request, int)) {
	b.Helper()
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, want := req(n.Add(1))
			r.Header.Set("Authorization", "Bearer "+token)
			resp, err := hc.Do(r)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				b.Errorf("status %d, want %d", resp.StatusCode, want)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkGetRecord(b *testing.B) {
	srv, a, hc := benchServer(b)
	id := a.mustCreate("Contact", map[string]any{"LastName": "Bench", "Email": "b@example.com"})
	u := srv.InstanceURL + "/services/data/v62.0/sobjects/Contact/" + id
	runParallel(b, hc, a.token, func(int64) (*http.Request, int) {
		r, _ := http.NewRequest(http.MethodGet, u, nil)
		return r, 200
	})
}

func BenchmarkUpsert(b *testing.B) {
	srv, a, hc := benchServer(b)
	caseID := a.mustCreate("Case", map[string]any{"Subject": "bench"})
	base := srv.InstanceURL + "/services/data/v62.0/sobjects/Care_Social_Post__c/Care_Message_Id__c/"
	runParallel(b, hc, a.token, func(i int64) (*http.Request, int) {
		body := fmt.Sprintf(`{"Case__c":%q,"Content__c":"message %d","Direction__c":"Inbound"}`, caseID, i)
		r, _ := http.NewRequest(http.MethodPatch, base+fmt.Sprint("m", i), strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r, 201
	})
}

func BenchmarkQuery(b *testing.B) {
	srv, a, hc := benchServer(b)
	for i := 0; i < 100; i++ {
		mustSeed(b, srv, "Case", map[string]any{"Subject": fmt.Sprint("case ", i), "Status": []string{"New", "Working"}[i%2]})
	}
	u := srv.InstanceURL + "/services/data/v62.0/query?q=" + url.QueryEscape("SELECT Id, CaseNumber, Status, SystemModstamp FROM Case WHERE Status = 'Working' ORDER BY SystemModstamp, Id LIMIT 20")
	runParallel(b, hc, a.token, func(int64) (*http.Request, int) {
		r, _ := http.NewRequest(http.MethodGet, u, nil)
		return r, 200
	})
}

func BenchmarkCollectionsUpsert200(b *testing.B) {
	srv, a, hc := benchServer(b)
	u := srv.InstanceURL + "/services/data/v62.0/composite/sobjects/Care_Social_Post__c/Care_Message_Id__c"
	runParallel(b, hc, a.token, func(i int64) (*http.Request, int) {
		var sb strings.Builder
		sb.WriteString(`{"allOrNone":false,"records":[`)
		for j := 0; j < 200; j++ {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"attributes":{"type":"Care_Social_Post__c"},"Care_Message_Id__c":"b%d-%d","Content__c":"x","Direction__c":"Outbound"}`, i, j)
		}
		sb.WriteString(`]}`)
		r, _ := http.NewRequest(http.MethodPatch, u, strings.NewReader(sb.String()))
		r.Header.Set("Content-Type", "application/json")
		return r, 200
	})
}
