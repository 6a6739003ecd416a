package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/care/live"
)

// liveEventsResult is the console's live feed: how long a committed change
// takes to reach every connected subscriber of GET /api/v1/events.
type liveEventsResult struct {
	Subscribers int `json:"subscribers"`
	Changes     int `json:"changes"`
	// Delivered counts (change, subscriber) pairs that arrived; every one
	// should.
	Delivered int     `json:"delivered"`
	P50Millis float64 `json:"p50_millis"`
	P95Millis float64 `json:"p95_millis"`
	P99Millis float64 `json:"p99_millis"`
	// CommitP50Millis and CommitP95Millis are how long the writes took
	// (their commit is part of every delivery time).
	CommitP50Millis float64 `json:"commit_p50_millis"`
	CommitP95Millis float64 `json:"commit_p95_millis"`
	// GoalP95Millis is the goal for P95Millis.
	GoalP95Millis float64 `json:"goal_p95_millis"`
}

// feedSubscriber is one open event stream and when each case's event
// reached it.
type feedSubscriber struct {
	mu   sync.Mutex
	seen map[int64]time.Time
}

func (s *feedSubscriber) read(res *http.Response) {
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		at := time.Now()
		var ev struct {
			CaseID int64 `json:"case_id"`
		}
		if json.Unmarshal([]byte(data), &ev) != nil || ev.CaseID == 0 {
			continue
		}
		s.mu.Lock()
		if _, dup := s.seen[ev.CaseID]; !dup {
			s.seen[ev.CaseID] = at
		}
		s.mu.Unlock()
	}
}

func (s *feedSubscriber) has(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seen[id]
	return ok
}

// benchLiveEvents opens subscribers event streams (supervisors: each sees
// every case) over real HTTP, then makes changes new cases one after the
// other and times each case.created from the moment its write was asked
// for (so the commit itself counts) to its arrival at each subscriber.
func benchLiveEvents(ctx context.Context, subscribers, changes int, progress func(string)) (liveEventsResult, error) {
	res := liveEventsResult{Subscribers: subscribers, Changes: changes, GoalP95Millis: 50}
	broker := live.New(live.Options{MaxPerUser: subscribers, MaxStreams: subscribers})
	st, _, cleanup, err := tempStore("feed", bolt.Options{OnCommit: broker.Publish})
	if err != nil {
		return res, err
	}
	defer cleanup()
	var creds []httpapi.Credential
	for _, u := range benchUsers {
		sum := sha256.Sum256([]byte("feed-" + u.ID))
		creds = append(creds, httpapi.Credential{User: u, TokenSHA256: hex.EncodeToString(sum[:])})
	}
	api, err := httpapi.New(httpapi.Options{Service: st, Credentials: creds, Policy: benchPolicy, Events: broker})
	if err != nil {
		return res, err
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer broker.Close() // first: the streams end, so the server can close

	progress(fmt.Sprintf("feed: %d subscribers", subscribers))
	subs := make([]*feedSubscriber, subscribers)
	for i := range subs {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer feed-sue")
		r, err := srv.Client().Do(req)
		if err != nil {
			return res, err
		}
		if r.StatusCode != http.StatusOK {
			r.Body.Close()
			return res, fmt.Errorf("subscriber %d: GET /api/v1/events: %s", i, r.Status)
		}
		subs[i] = &feedSubscriber{seen: map[int64]time.Time{}}
		go subs[i].read(r)
	}
	for broker.Stats().Streams < subscribers {
		time.Sleep(time.Millisecond)
	}

	progress(fmt.Sprintf("feed: %d changes", changes))
	community, _ := benchDirectory.User("community")
	asked := map[int64]time.Time{}
	var last int64
	var commits []time.Duration
	now := time.Now().UTC()
	for i := range changes {
		at := time.Now()
		r, err := st.Escalate(ctx, community, care.EscalateInput{Message: incoming(fmt.Sprintf("feed-%d", i), i, now)})
		if err != nil {
			return res, err
		}
		asked[r.Case.ID], last = at, r.Case.ID
		commits = append(commits, time.Since(at))
	}
	res.CommitP50Millis, res.CommitP95Millis = millis(percentile(commits, .5)), millis(percentile(commits, .95))
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range subs {
		for !s.has(last) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	var lat []time.Duration
	for _, s := range subs {
		s.mu.Lock()
		for id, at := range asked {
			if got, ok := s.seen[id]; ok {
				lat = append(lat, got.Sub(at))
			}
		}
		s.mu.Unlock()
	}
	res.Delivered = len(lat)
	res.P50Millis, res.P95Millis, res.P99Millis = millis(percentile(lat, .5)), millis(percentile(lat, .95)), millis(percentile(lat, .99))
	if res.Delivered != changes*subscribers {
		return res, fmt.Errorf("feed: %d of %d events delivered", res.Delivered, changes*subscribers)
	}
	return res, nil
}

func printLiveEvents(tw *tabwriter.Writer, r *liveEventsResult) {
	if r == nil {
		return
	}
	fmt.Fprintf(tw, "feed\tevent delivery, %d subscribers: p50/p95/p99\t%.1f / %.1f / %.1f ms (goal p95 < %.0f ms; %d changes, %d events)\n",
		r.Subscribers, r.P50Millis, r.P95Millis, r.P99Millis, r.GoalP95Millis, r.Changes, r.Delivered)
	fmt.Fprintf(tw, "feed\tof which the commit p50/p95\t%.1f / %.1f ms\n", r.CommitP50Millis, r.CommitP95Millis)
}
