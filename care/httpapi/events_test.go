package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/live"
)

const (
	created = live.TypeCaseCreated
	updated = live.TypeCaseUpdated
	added   = live.TypeMessageAdded
	reset   = live.TypeReset
)

// ingest sends one inbound message of customer on profile "brand".
func (e *liveEnv) ingest(ext, customer string) {
	e.t.Helper()
	e.must(http.StatusOK, "POST", "/api/v1/messages", "community", msg(ext, customer, "brand", e.clock.Now()))
}

// Each caller sees the events of the cases it may see: supervisors all,
// agents their own and the new unassigned ones, also the change that
// takes a case away from them.
func TestEventsFilteredPerCaller(t *testing.T) {
	e := newLiveEnv(t, live.Options{})
	alice, bob, sue := e.openStream("alice", ""), e.openStream("bob", ""), e.openStream("sue", "")

	one := int(e.escalate("m1", "c1", "brand")) // new, unassigned: everyone
	for _, s := range []*stream{alice, bob, sue} {
		ev := s.expect(created, one)[0]
		if ev.data["status"] != "new" || ev.data["assignee"] != nil || ev.data["updated_at"] == nil || ev.id == "" {
			t.Fatalf("case.created event: %+v", ev)
		}
	}
	e.must(200, "PATCH", path("/api/v1/cases/%d", one), "alice", map[string]any{"assignee": "alice"})
	// Bob saw it new and unassigned: he learns it left the new view.
	for _, s := range []*stream{alice, bob, sue} {
		if ev := s.expect(updated, one)[0]; ev.data["assignee"] != "alice" || ev.data["status"] != "open" {
			t.Fatalf("assign event: %v", ev.data)
		}
	}
	e.ingest("m2", "c1") // alice's case: bob no longer hears of it
	alice.expect(added, one)
	sue.expect(added, one)
	e.must(200, "PATCH", path("/api/v1/cases/%d", one), "sue", map[string]any{"assignee": "bob"})
	for _, s := range []*stream{alice, bob, sue} { // the old assignee is told too
		s.expect(updated, one)
	}
	e.ingest("m3", "c1") // bob's now
	bob.expect(added, one)
	sue.expect(added, one)
	two := int(e.escalate("m4", "c2", "brand"))
	// Alice's next event is the new case: nothing of bob's case came first.
	alice.expect(created, two)
	bob.expect(created, two)
	sue.expect(created, two)
}

// Integration users read no views and so no events; without a token the
// stream is refused.
func TestEventsRoles(t *testing.T) {
	e := newLiveEnv(t, live.Options{})
	for _, tc := range []struct {
		user string
		want int
	}{{"community", http.StatusForbidden}, {"", http.StatusUnauthorized}} {
		res, cancel := e.streamRequest(tc.user, "")
		cancel()
		if res.StatusCode != tc.want {
			t.Errorf("events as %q: %d, want %d", tc.user, res.StatusCode, tc.want)
		}
	}
	r := e.do("GET", "/api/v1/events", "", nil)
	if r.status != http.StatusUnauthorized || r.errCode() != "unauthenticated" {
		t.Fatalf("no token: %d %s", r.status, r.raw)
	}
}

// A client that comes back with Last-Event-ID gets what it missed, in
// order, and nothing twice.
func TestEventsResume(t *testing.T) {
	e := newLiveEnv(t, live.Options{})
	s := e.openStream("sue", "")
	one := int(e.escalate("m1", "c1", "brand"))
	first := s.expect(created, one)[0]
	s.close()
	e.ingest("m2", "c1")
	two := int(e.escalate("m3", "c2", "brand"))
	again := e.openStream("sue", first.id)
	got := again.expect(added, one, created, two)
	if !(idOf(first) < idOf(got[0]) && idOf(got[0]) < idOf(got[1])) {
		t.Fatalf("ids not increasing: %s %s %s", first.id, got[0].id, got[1].id)
	}
	e.ingest("m4", "c2") // then the live stream
	again.expect(added, two)
	// Resuming from the latest id replays nothing.
	latest := e.openStream("sue", strconv.FormatUint(e.broker.LastID(), 10))
	three := int(e.escalate("m5", "c3", "brand"))
	latest.expect(created, three)
}

// A client asking for events the buffer no longer keeps, or for an id
// this daemon never gave, is told to reset, then gets the live stream.
func TestEventsResetWhenBehind(t *testing.T) {
	e := newLiveEnv(t, live.Options{Buffer: 3})
	s := e.openStream("sue", "")
	one := int(e.escalate("m1", "c1", "brand"))
	first := s.expect(created, one)[0]
	for i := range 4 {
		e.ingest(path("m%d", i+2), "c1")
	}
	s.expect(added, one, added, one, added, one, added, one)
	var made []int
	for _, last := range []string{first.id, "12345", strconv.FormatUint(e.broker.LastID()+10, 10), "not-a-number"} {
		r := e.openStream("sue", last)
		ev := r.expect(reset, 0)[0]
		if idOf(ev) != e.broker.LastID() {
			t.Fatalf("reset id %s, want the latest %d", ev.id, e.broker.LastID())
		}
		two := int(e.escalate("n"+last, "x"+last, "brand"))
		r.expect(created, two)
		r.close()
		made = append(made, two)
	}
	// From the oldest id still kept, it resumes.
	kept := strconv.FormatUint(e.broker.LastID()-2, 10)
	e.openStream("sue", kept).expect(created, made[2], created, made[3])
}

// The stream sends a comment line at the keepalive interval.
func TestEventsKeepalive(t *testing.T) {
	e := newLiveEnv(t, live.Options{Keepalive: 20 * time.Millisecond})
	s := e.openStream("alice", "")
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.comment == "keepalive" {
				return
			}
		case <-deadline:
			t.Fatal("no keepalive comment within 5s")
		}
	}
}

// A stream outlives the server's read and write timeouts (serve sets both
// for every request): each write gets its own deadline instead, and the
// stream keeps sending until the client goes.
func TestEventsOutliveServerTimeouts(t *testing.T) {
	e := newLiveEnv(t, live.Options{Keepalive: 10 * time.Millisecond}, func(s *http.Server) {
		s.ReadTimeout, s.WriteTimeout = 50*time.Millisecond, 50*time.Millisecond
	})
	s := e.openStream("alice", "")
	start := time.Now()
	for n := 0; n < 20 || time.Since(start) < 300*time.Millisecond; {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended after %d keepalives (%s)", n, time.Since(start))
			}
			if ev.comment == "keepalive" {
				n++
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no keepalive within 5s")
		}
	}
}

// A client that stops reading never holds up a write: a thousand
// messages are ingested while it is connected, a reading subscriber still
// gets the last of them, and the stuck client is dropped.
func TestEventsStuckClientIsDropped(t *testing.T) {
	e := newLiveEnv(t, live.Options{Queue: 64, WriteDeadline: time.Second})
	stuck := e.stuckClient("sue")
	waitFor(t, "the stuck stream to open", func() bool { return e.broker.Stats().Streams == 1 })
	reader := e.openStream("sue", "")
	one := int(e.escalate("m0", "c0", "brand"))
	reader.expect(created, one)

	const n = 1000
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if r := e.do("POST", "/api/v1/messages", "community", msg(path("s%d", i), "c0", "brand", e.clock.Now())); r.status != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("ingest did not finish with a stuck subscriber connected")
	}
	if failed.Load() > 0 {
		t.Fatalf("%d ingests failed", failed.Load())
	}
	for i := range n {
		if ev := reader.next(); ev.typ != added {
			t.Fatalf("reader event %d: %s", i, ev.typ)
		}
	}
	waitFor(t, "the stuck client to be dropped", func() bool {
		st := e.broker.Stats()
		return st.Dropped >= 1 && st.Streams == 1
	})
	stuck.Close()
}

// Streams are capped per user and in all (429); a closed one frees its place.
func TestEventsStreamCaps(t *testing.T) {
	e := newLiveEnv(t, live.Options{MaxPerUser: 2, MaxStreams: 3})
	a1 := e.openStream("alice", "")
	e.openStream("alice", "")
	refused := func(user string) {
		t.Helper()
		res, cancel := e.streamRequest(user, "")
		defer cancel()
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("stream as %s over the cap: %d, want 429", user, res.StatusCode)
		}
	}
	refused("alice")
	e.openStream("bob", "")
	refused("sue")
	a1.close()
	waitFor(t, "the closed stream to be let go", func() bool { return e.broker.Stats().Streams == 2 })
	e.openStream("sue", "")
}

// Shutting the server down ends open streams at once (the broker closes
// on shutdown), instead of waiting out the drain deadline.
func TestEventsEndOnShutdown(t *testing.T) {
	e := newLiveEnv(t, live.Options{})
	s := e.openStream("alice", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	if !s.ended() {
		t.Fatal("the stream did not end on shutdown")
	}
}
