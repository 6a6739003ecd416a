package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/care/live"
	"github.com/carebridge/carebridge/connector/testworld"
)

// liveEnv is env with the store's commits feeding an event broker and the
// API serving GET /api/v1/events from it.
type liveEnv struct {
	*env
	broker *live.Broker
}

// newLiveEnv builds the world of newEnv with a broker of opts fed by the
// store's commits; server adjusts the HTTP server before it starts. Its
// connections have small socket buffers, so a client that stops reading
// holds up the server's writes to it after a few KB.
func newLiveEnv(t *testing.T, opts live.Options, server ...func(*http.Server)) *liveEnv {
	t.Helper()
	clk := testworld.NewClock()
	opts.Clock = clk
	b := live.New(opts)
	w := testworld.New(t, testworld.WithClock(clk),
		testworld.WithStore(func(o *bolt.Options) { o.OnCommit = b.Publish }),
		testworld.WithAPI(func(_ *testworld.World, o *httpapi.Options) { o.Events = b }),
		testworld.WithRoutes(func(w *testworld.World, _ *httpapi.Server) {
			w.Server.Listener = smallBufferListener{w.Server.Listener}
			w.Server.Config.RegisterOnShutdown(b.Close)
			for _, fn := range server {
				fn(w.Server.Config)
			}
		}))
	t.Cleanup(b.Close) // before the world closes: open streams end, so the server can close
	e := &env{t: t, dir: w.Dir, clock: clk, world: w, store: w.Store, srv: w.Server, reg: w.Registry}
	return &liveEnv{env: e, broker: b}
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// sseEvent is one event read from a stream ("" type for a comment).
type sseEvent struct {
	id, typ, comment string
	data             map[string]any
}

func (ev sseEvent) caseID() int64 {
	f, _ := ev.data["case_id"].(float64)
	return int64(f)
}

// stream is an open GET /api/v1/events.
type stream struct {
	t      *testing.T
	res    *http.Response
	cancel context.CancelFunc
	events chan sseEvent
}

// openStream opens the event stream as user (lastID "" sends no
// Last-Event-ID) and fails unless it answers 200 text/event-stream.
func (e *liveEnv) openStream(user, lastID string) *stream {
	e.t.Helper()
	return e.openStreamAt("", user, lastID)
}

// openStreamAt is openStream with a query (e.g. "?case_id=1").
func (e *liveEnv) openStreamAt(query, user, lastID string) *stream {
	e.t.Helper()
	res, cancel := e.streamRequestAt(query, user, lastID)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		e.t.Fatalf("events as %s: %d %s", user, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{t: e.t.(*testing.T), res: res, cancel: cancel, events: make(chan sseEvent, 10_000)}
	go s.read()
	e.t.Cleanup(s.close)
	return s
}

// streamRequest sends GET /api/v1/events; the caller closes the answer by
// the cancel function.
func (e *liveEnv) streamRequest(user, lastID string) (*http.Response, context.CancelFunc) {
	e.t.Helper()
	return e.streamRequestAt("", user, lastID)
}

// streamRequestAt is streamRequest with a query.
func (e *liveEnv) streamRequestAt(query, user, lastID string) (*http.Response, context.CancelFunc) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events"+query, nil)
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(user))
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	return res, func() { cancel(); res.Body.Close() }
}

func (s *stream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.res.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if ev.typ != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case field == "":
			s.events <- sseEvent{comment: value}
		case field == "id":
			ev.id = value
		case field == "event":
			ev.typ = value
		case field == "data":
			json.Unmarshal([]byte(value), &ev.data)
		}
	}
}

func (s *stream) close() { s.cancel() }

// next returns the next event (comments skipped), failing after a few
// seconds without one.
func (s *stream) next() sseEvent {
	s.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatal("event stream ended")
			}
			if ev.typ != "" {
				return ev
			}
		case <-deadline:
			s.t.Fatal("no event within 5s")
		}
	}
}

// expect reads the next events and fails unless they are these
// (type, case id) pairs in order.
func (s *stream) expect(want ...any) []sseEvent {
	s.t.Helper()
	var got []sseEvent
	for i := 0; i < len(want); i += 2 {
		ev := s.next()
		if ev.typ != want[i].(string) || (ev.typ != live.TypeReset && ev.caseID() != int64(want[i+1].(int))) {
			s.t.Fatalf("event %d: %s for case %d (%v), want %s for case %v", i/2, ev.typ, ev.caseID(), ev.data, want[i], want[i+1])
		}
		got = append(got, ev)
	}
	return got
}

// ended reports whether the stream ends within a few seconds (events
// before the end are skipped).
func (s *stream) ended() bool {
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// waitFor polls cond until it holds, failing after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func idOf(ev sseEvent) uint64 {
	n, _ := strconv.ParseUint(ev.id, 10, 64)
	return n
}

// stuckClient opens the event stream as user on a connection with a small
// receive buffer and never reads from it.
func (e *liveEnv) stuckClient(user string) net.Conn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	c.(*net.TCPConn).SetReadBuffer(4096)
	req := "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token(user) + "\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}
