package salesforce

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/testlog"
)

// fixtureDir holds the reference Salesforce bodies (CI has /work/shared
// beside the clone).
const fixtureDir = "../../../shared/sf-fixtures"

const (
	testAccess  = "00Dx0000000BV7z!AR8AQtestaccesstokenSECRET"
	testRefresh = "5Aep861testrefreshtokenSECRET"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// serve answers with status and body byte for byte, as Salesforce would,
// with a Sforce-Limit-Info header.
func serve(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Sforce-Limit-Info", "api-usage=113/5000000")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// seen records the requests a fake org received.
type seen struct {
	mu   sync.Mutex
	reqs []seenRequest
}

type seenRequest struct {
	Method, Path, RawQuery, Auth string
	Header                       http.Header
	Body                         []byte
}

func (s *seen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.reqs = append(s.reqs, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Clone(), body})
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (s *seen) all() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.reqs...)
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// newOrg starts a fake instance serving mux and a client whose static token
// points at it.
func newOrg(t *testing.T, mux *http.ServeMux, opts Options) (*Client, *seen, *httptest.Server) {
	t.Helper()
	rec := &seen{}
	srv := httptest.NewServer(rec.wrap(mux))
	t.Cleanup(srv.Close)
	tok := Token{AccessToken: testAccess, InstanceURL: srv.URL, ID: "https://login.salesforce.com/id/00Dx0000000BV7zEAG/005x00000012Q9PAAU"}
	c := New(testHTTPClient(), StaticSession{T: tok}, opts)
	return c, rec, srv
}

func testHTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// logBuffer is a concurrency-safe sink for a debug-level JSON logger.
type logBuffer = testlog.Logs
