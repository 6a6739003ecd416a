package publish_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/publish"
	"github.com/carebridge/carebridge/care/publish/publishtest"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/testworld"
)

var secret = []byte("publisher-secret-for-tests")

// publishing is a test world whose store records replies for the
// publisher, with a reference publisher and a Publisher on the world's
// clock.
type publishing struct {
	*testworld.World
	pub  *publishtest.Publisher
	p    *publish.Publisher
	opts publish.Options
}

// newPublishing builds the world (extra options after the store's) and
// the publisher; wrap, when set, wraps the store the Publisher uses.
func newPublishing(t *testing.T, wrap func(publish.Store) publish.Store, opts ...testworld.Option) *publishing {
	t.Helper()
	opts = append([]testworld.Option{testworld.WithStore(func(o *bolt.Options) { o.Publishing = true })}, opts...)
	w := &publishing{World: testworld.New(t, opts...), pub: publishtest.New(secret)}
	t.Cleanup(w.pub.Close)
	w.start(wrap)
	return w
}

// start builds the Publisher over the world's store.
func (w *publishing) start(wrap func(publish.Store) publish.Store) {
	w.T.Helper()
	var st publish.Store = w.Store
	if wrap != nil {
		st = wrap(st)
	}
	w.opts = publish.Options{Store: st, URL: w.pub.URL, Secret: secret, Now: w.Clock.Now, Logger: w.Log,
		Registerer: w.Registry, BaseBackoff: time.Second, MaxBackoff: 5 * time.Minute}
	p, err := publish.New(w.opts)
	if err != nil {
		w.T.Fatal(err)
	}
	w.p = p
}

// restart closes the world and opens it again on its directory (a crash
// and restart of the daemon): a new store and Publisher, the same
// reference publisher.
func (w *publishing) restart(wrap func(publish.Store) publish.Store) {
	w.T.Helper()
	w.Close()
	w.World = testworld.New(w.T, testworld.WithDir(w.Dir), testworld.WithClock(w.Clock),
		testworld.WithStore(func(o *bolt.Options) { o.Publishing = true }))
	w.start(wrap)
}

// flush runs the publisher once over what is due now.
func (w *publishing) flush() int {
	w.T.Helper()
	n, err := w.p.Flush(context.Background())
	if err != nil {
		w.T.Fatal(err)
	}
	return n
}

// openCase escalates a customer's message to a case assigned to alice and
// answers the case id.
func (w *publishing) openCase(customer string) int64 {
	w.T.Helper()
	body := w.Must(201, "POST", "/api/v1/cases", "community", map[string]any{"message": map[string]any{
		"external_id": "in-" + customer, "platform": "twitter", "profile_id": "brand",
		"customer": map[string]any{"platform_user_id": customer, "username": "@" + customer},
		"text":     "help, " + customer + " here",
	}})
	id := int64(body["case"].(map[string]any)["id"].(float64))
	w.Must(200, "PATCH", fmt.Sprintf("/api/v1/cases/%d", id), "alice", map[string]any{"assignee": "alice"})
	return id
}

// reply writes alice's reply (kind "reply") or note (kind "note") and
// answers the message JSON.
func (w *publishing) reply(caseID int64, kind, text string) map[string]any {
	w.T.Helper()
	return w.Must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/messages", caseID), "alice",
		map[string]any{"kind": kind, "text": text})
}

// refusedReply is alice's reply (text) on a new case that the publisher
// refused with status and why; it answers the case id and the reply.
func (w *publishing) refusedReply(status int, why, text string) (int64, map[string]any) {
	w.T.Helper()
	c := w.openCase("ann")
	w.pub.Fail(status, why)
	r := w.reply(c, "reply", text)
	w.flush()
	return c, r
}

// messages answers a case's messages by text.
func (w *publishing) messages(caseID int64) map[string]map[string]any {
	w.T.Helper()
	body := w.Must(200, "GET", fmt.Sprintf("/api/v1/cases/%d/messages", caseID), "alice", nil)
	out := map[string]map[string]any{}
	for _, m := range body["messages"].([]any) {
		mm := m.(map[string]any)
		out[mm["text"].(string)] = mm
	}
	return out
}

// outbox is what the gauges carebridge_replies_pending and
// carebridge_replies_failed read at a scrape of the world's registry.
func (w *publishing) outbox() (pending, failed float64) {
	w.T.Helper()
	pending, okP := simtest.Metric(w.T, w.Registry, "carebridge_replies_pending", nil)
	failed, okF := simtest.Metric(w.T, w.Registry, "carebridge_replies_failed", nil)
	if !okP || !okF {
		w.T.Fatal("carebridge_replies_pending or carebridge_replies_failed is not exported")
	}
	return pending, failed
}

// expectOutbox fails the test unless the gauges read pending and failed.
func (w *publishing) expectOutbox(when string, pending, failed float64) {
	w.T.Helper()
	if p, f := w.outbox(); p != pending || f != failed {
		w.T.Errorf("%s: replies pending %v, failed %v; want %v, %v", when, p, f, pending, failed)
	}
}

// expectOldest fails the test unless the gauge
// carebridge_replies_oldest_pending_age_seconds reads want at a scrape of
// the world's registry.
func (w *publishing) expectOldest(when string, want time.Duration) {
	w.T.Helper()
	got, ok := simtest.Metric(w.T, w.Registry, "carebridge_replies_oldest_pending_age_seconds", nil)
	if !ok {
		w.T.Fatal("carebridge_replies_oldest_pending_age_seconds is not exported")
	}
	if got != want.Seconds() {
		w.T.Errorf("%s: oldest pending reply %vs old, want %vs", when, got, want.Seconds())
	}
}

// delivery is a message's delivery object (nil when it has none).
func delivery(m map[string]any) map[string]any {
	d, _ := m["delivery"].(map[string]any)
	return d
}

// lostAnswers is a publish store whose PublishSent fails while lose is
// set: the daemon dies between the POST and storing its answer.
type lostAnswers struct {
	publish.Store
	lose bool
}

func (l *lostAnswers) PublishSent(ctx context.Context, id uint64, externalID string) error {
	if l.lose {
		return fmt.Errorf("crashed before storing the answer")
	}
	return l.Store.PublishSent(ctx, id, externalID)
}
