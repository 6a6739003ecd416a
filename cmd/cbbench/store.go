package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/bolt/bolttest"
	"github.com/carebridge/carebridge/care/httpapi"
)

// storeResult is the store section of the report.
type storeResult struct {
	Messages        int     `json:"messages"`
	IngestPerSecond float64 `json:"ingest_messages_per_second"`
	Cases           int     `json:"cases"`
	InboxP50Millis  float64 `json:"inbox_p50_ms"`
	InboxP95Millis  float64 `json:"inbox_p95_ms"`
	AgentInboxP95   float64 `json:"agent_inbox_p95_ms"`
	FileBytes       int64   `json:"bbolt_file_bytes"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	// After the ingest alone (before the store grows to Cases cases).
	IngestFileBytes    int64 `json:"ingest_bbolt_file_bytes"`
	IngestPeakRSSBytes int64 `json:"ingest_peak_rss_bytes"`
	IngestConcurrent   int   `json:"ingest_concurrency"`
	// The largest page of messages (SPEC §12): 100 messages each at every
	// default limit, asked for with limit=500.
	LargestPage largestPage `json:"largest_message_page"`
}

// largestPage is what one request for the heaviest messages costs.
type largestPage struct {
	Messages       int   `json:"messages_answered"`
	AnswerBytes    int64 `json:"answer_bytes"`
	AllocatedBytes int64 `json:"allocated_bytes"`
}

var benchUsers = []care.User{
	{ID: "sue", Name: "Sue", Email: "sue@example.com", Role: care.RoleSupervisor},
	{ID: "alice", Name: "Alice", Email: "alice@example.com", Role: care.RoleAgent},
	{ID: "community", Name: "Community", Email: "community@example.com", Role: care.RoleIntegration},
}

// benchDirectory is benchUsers as a directory (read only, so shared).
var benchDirectory = care.NewDirectory(benchUsers)

// benchPolicy keeps a case open a day after its last message.
var benchPolicy = care.Policy{Grace: 24 * time.Hour}

// tempStore opens a section's store in a new temporary directory (dir):
// benchPolicy and, unless opts names its own, benchDirectory's users.
// cleanup closes the store and removes the directory.
func tempStore(section string, opts bolt.Options) (st *bolt.Store, dir string, cleanup func(), err error) {
	if dir, err = os.MkdirTemp("", "cbbench-"+section+"-"); err != nil {
		return nil, "", nil, err
	}
	opts.Policy = benchPolicy
	if opts.Users == nil {
		opts.Users = benchDirectory
	}
	if st, err = bolt.Open(dir, opts); err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	return st, dir, func() { st.Close(); os.RemoveAll(dir) }, nil
}

// incoming is customer n's mention, as the store's benchmarks send it.
var incoming = bolttest.Incoming

// runConcurrently calls fn(i) for i in [0,n) on workers goroutines.
func runConcurrently(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	return nil
}

// benchStore measures ingest into 1,000 open cases, then the inbox view
// over HTTP with the store grown to cases cases.
func benchStore(ctx context.Context, messages, cases, workers int, progress func(string)) (storeResult, error) {
	res := storeResult{Messages: messages, Cases: cases, IngestConcurrent: workers}
	st, dir, cleanup, err := tempStore("store", bolt.Options{})
	if err != nil {
		return res, err
	}
	defer cleanup()
	users := benchDirectory
	community, _ := users.User("community")
	now := time.Now().UTC()

	const openCases = 1000
	progress(fmt.Sprintf("store: %d open cases", openCases))
	if err := runConcurrently(openCases, workers, func(i int) error {
		_, err := st.Escalate(ctx, community, care.EscalateInput{Message: incoming(fmt.Sprintf("open-%d", i), i, now)})
		return err
	}); err != nil {
		return res, err
	}
	progress(fmt.Sprintf("store: ingesting %d messages", messages))
	start := time.Now()
	if err := runConcurrently(messages, workers, func(i int) error {
		r, err := st.Ingest(ctx, community, incoming(fmt.Sprintf("m-%d", i), i%openCases, now.Add(time.Duration(i)*time.Millisecond)))
		if err == nil && r.CaseID == 0 {
			err = fmt.Errorf("message %d found no case", i)
		}
		return err
	}); err != nil {
		return res, err
	}
	res.IngestPerSecond = float64(messages) / time.Since(start).Seconds()
	res.IngestPeakRSSBytes = peakRSS()
	if fi, err := os.Stat(filepath.Join(dir, bolt.FileName)); err == nil {
		res.IngestFileBytes = fi.Size()
	}

	progress(fmt.Sprintf("store: growing to %d cases", cases))
	sue, _ := users.User("sue")
	if err := runConcurrently(max(cases-openCases, 0), workers, func(i int) error {
		c, err := st.Escalate(ctx, community, care.EscalateInput{Message: incoming(fmt.Sprintf("case-%d", i), openCases+i, now)})
		if err != nil || i%3 != 0 {
			return err
		}
		// A third of the cases get worked: assigned, some done.
		p := care.CasePatch{Assignee: care.Optional[string]{Set: true, Value: "alice"}}
		if i%9 == 0 {
			p.Status = care.Optional[care.Status]{Set: true, Value: care.StatusDone}
		}
		_, err = st.PatchCase(ctx, sue, c.Case.ID, p)
		return err
	}); err != nil {
		return res, err
	}

	var creds []httpapi.Credential
	for _, u := range benchUsers {
		sum := sha256.Sum256([]byte("bench-" + u.ID))
		creds = append(creds, httpapi.Credential{User: u, TokenSHA256: hex.EncodeToString(sum[:])})
	}
	api, err := httpapi.New(httpapi.Options{Service: st, Credentials: creds, Policy: benchPolicy})
	if err != nil {
		return res, err
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	progress("store: timing GET /api/v1/cases?view=inbox")
	if res.InboxP50Millis, res.InboxP95Millis, err = timeView(ctx, srv.URL, "sue", 500); err != nil {
		return res, err
	}
	if _, res.AgentInboxP95, err = timeView(ctx, srv.URL, "alice", 500); err != nil {
		return res, err
	}
	progress("store: the largest page of messages")
	if res.LargestPage, err = benchLargestPage(ctx, srv.URL); err != nil {
		return res, err
	}
	if fi, err := os.Stat(filepath.Join(dir, bolt.FileName)); err == nil {
		res.FileBytes = fi.Size()
	}
	res.PeakRSSBytes = peakRSS()
	return res, nil
}

// timeView requests the inbox view n times as user and returns p50 and p95
// in milliseconds.
func timeView(ctx context.Context, base, user string, n int) (p50, p95 float64, err error) {
	client := &http.Client{Timeout: 30 * time.Second}
	lat := make([]time.Duration, 0, n)
	for range n {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/cases?view=inbox", nil)
		req.Header.Set("Authorization", "Bearer bench-"+user)
		t := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, err = drain(res)
		lat = append(lat, time.Since(t))
		if err != nil {
			return 0, 0, err
		}
		if res.StatusCode != 200 {
			return 0, 0, fmt.Errorf("inbox view: %d", res.StatusCode)
		}
	}
	return millis(percentile(lat, 0.50)), millis(percentile(lat, 0.95)), nil
}

// benchLargestPage writes 100 messages each at every default limit (text,
// author, 20 attachments of the longest URL) into one case through the
// API, then asks for 500 of them and measures the answer and the bytes
// the process allocated serving it (the server runs in this process).
func benchLargestPage(ctx context.Context, base string) (largestPage, error) {
	var res largestPage
	lim := care.DefaultLimits()
	url := "https://cdn.example.com/" + strings.Repeat("a", lim.AttachmentURLChars-len("https://cdn.example.com/"))
	atts := make([]string, lim.Attachments)
	for i := range atts {
		atts[i] = url
	}
	client := &http.Client{Timeout: time.Minute}
	call := func(method, path string, body any) (*http.Response, error) {
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return nil, err
			}
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, r)
		req.Header.Set("Authorization", "Bearer bench-sue")
		return client.Do(req)
	}
	var caseID int64
	for i := range 100 {
		msg := map[string]any{"external_id": fmt.Sprintf("heavy-%d", i), "platform": "twitter", "profile_id": "brand",
			"customer": map[string]any{"platform_user_id": "heavy-customer"}, "author": strings.Repeat("h", lim.NameChars),
			"text": strings.Repeat("t", lim.MessageTextBytes), "attachments": atts,
			"sent_at": time.Now().Add(time.Duration(i-200) * time.Second).UTC().Format(time.RFC3339)}
		path, body := "/api/v1/messages", any(msg)
		if i == 0 {
			path, body = "/api/v1/cases", map[string]any{"message": msg}
		}
		r, err := call("POST", path, body)
		if err != nil {
			return res, err
		}
		if i == 0 {
			var out struct {
				Case struct {
					ID int64 `json:"id"`
				} `json:"case"`
			}
			err = json.NewDecoder(r.Body).Decode(&out)
			caseID = out.Case.ID
		}
		drain(r)
		if err != nil || r.StatusCode >= 300 {
			return res, fmt.Errorf("writing heavy message %d: %d %v", i, r.StatusCode, err)
		}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := call("GET", fmt.Sprintf("/api/v1/cases/%d/messages?limit=500", caseID), nil)
	if err != nil {
		return res, err
	}
	var page struct {
		Messages []json.RawMessage `json:"messages"`
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || r.StatusCode != 200 || json.Unmarshal(b, &page) != nil {
		return res, fmt.Errorf("largest page: %d %v", r.StatusCode, err)
	}
	res.Messages, res.AnswerBytes = len(page.Messages), int64(len(b))
	// What reading the answer here allocated is counted too; it is the
	// answer's size again, taken off.
	res.AllocatedBytes = int64(after.TotalAlloc-before.TotalAlloc) - res.AnswerBytes
	return res, nil
}
