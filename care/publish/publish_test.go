package publish_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/publish"
	"github.com/carebridge/carebridge/care/publish/publishtest"
	"github.com/carebridge/carebridge/connector/testworld"
)

// Replies reach the publisher signed, with the case, the customer and the
// message they answer; notes never do; the platform id answered becomes
// the message's external id.
func TestRepliesReachThePublisher(t *testing.T) {
	w := newPublishing(t, nil)
	c1, c2 := w.openCase("ann"), w.openCase("ben")
	r1 := w.reply(c1, "reply", "hello ann")
	if d := delivery(r1); d == nil || d["state"] != "pending" {
		t.Fatalf("a new reply's delivery = %v, want pending", r1["delivery"])
	}
	note := w.reply(c1, "note", "internal: ann is a VIP")
	if note["delivery"] != nil {
		t.Errorf("a note has a delivery: %v", note["delivery"])
	}
	w.reply(c2, "reply", "hello ben")
	if n := w.flush(); n != 2 {
		t.Errorf("attempts = %d, want 2 (two replies, no note)", n)
	}

	for _, d := range w.pub.Deliveries() {
		if !d.Verified {
			t.Errorf("delivery %s: signature did not verify", d.Body.DeliveryID)
		}
		if strings.Contains(d.Body.Message.Text, "internal") {
			t.Errorf("a note reached the publisher: %q", d.Body.Message.Text)
		}
	}
	taken := w.pub.Taken()
	if len(taken) != 2 {
		t.Fatalf("taken %d replies, want 2", len(taken))
	}
	b := taken[0]
	if b.CaseID != c1 { // two cases go at once: either may arrive first
		b = taken[1]
	}
	if b.CaseID != c1 || b.Message.Text != "hello ann" || b.Customer.PlatformUserID != "ann" ||
		b.ProfileID != "brand" || b.ReplyType != "public_reply" || b.InReplyTo == nil || *b.InReplyTo != "in-ann" ||
		b.Message.Author != "Alice Agent" || b.Message.ID != r1["id"] {
		t.Errorf("body = %+v", b)
	}
	msgs := w.messages(c1)
	got := msgs["hello ann"]
	if d := delivery(got); d["state"] != "sent" || d["attempts"] != 1.0 || d["error"] != "" {
		t.Errorf("delivery after success = %v", got["delivery"])
	}
	if got["external_id"] != w.pub.ExternalID(b.DeliveryID) {
		t.Errorf("external_id = %v, want the publisher's %q", got["external_id"], w.pub.ExternalID(b.DeliveryID))
	}
	if msgs["help, ann here"]["delivery"] != nil {
		t.Error("a customer message has a delivery")
	}
	if v := counter(t, w, "sent"); v != 2 {
		t.Errorf("replies_published_total{result=sent} = %v, want 2", v)
	}
	// The platform id is indexed: Community ingesting the published
	// reply finds it instead of storing it twice.
	ing := w.Must(200, "POST", "/api/v1/messages", "community", map[string]any{
		"external_id": got["external_id"], "platform": "twitter", "profile_id": "brand", "direction": "outbound",
		"customer": map[string]any{"platform_user_id": "ann"}, "text": "hello ann"})
	if ing["message"].(map[string]any)["id"] != r1["id"] {
		t.Errorf("ingesting the published reply stored another message: %v", ing["message"])
	}
}

// counter is carebridge_replies_published_total{result} as registered.
func counter(t *testing.T, w *publishing, result string) float64 {
	t.Helper()
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "carebridge_replies_published_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("carebridge_replies_published_total{result=%q} is not registered", result)
	return 0
}

// A publisher down for an hour loses nothing: every reply waits, is tried
// with backoff under one delivery_id, and once it is back each case's
// replies arrive in the order they were written.
func TestPublisherDownForAnHour(t *testing.T) {
	w := newPublishing(t, nil)
	w.pub.Fail(http.StatusServiceUnavailable, "maintenance")
	var cases []int64
	for _, who := range []string{"ann", "ben", "cat"} {
		cases = append(cases, w.openCase(who))
	}
	want := map[int64][]string{}
	for i := range 3 {
		for _, c := range cases {
			text := fmt.Sprintf("case %d reply %d", c, i)
			w.reply(c, "reply", text)
			want[c] = append(want[c], text)
		}
	}
	for range 60 {
		w.flush()
		w.Clock.Advance(time.Minute)
	}
	if n := len(w.pub.Taken()); n != 0 {
		t.Fatalf("a down publisher took %d replies", n)
	}
	w.expectOutbox("an hour down", 9, 0)
	tries := len(w.pub.Deliveries())
	if tries < 3*4 || tries > 3*40 {
		t.Errorf("%d attempts in an hour for 3 cases: the backoff is off", tries)
	}
	m := w.messages(cases[0])[want[cases[0]][0]]
	if d := delivery(m); d["state"] != "pending" || d["attempts"].(float64) < 4 || !strings.Contains(d["error"].(string), "503") {
		t.Errorf("delivery while down = %v", m["delivery"])
	}

	w.pub.Recover()
	for range 20 {
		w.flush()
		w.Clock.Advance(time.Minute)
	}
	w.expectOutbox("recovered", 0, 0)
	got := map[int64][]string{}
	for _, b := range w.pub.Taken() {
		got[b.CaseID] = append(got[b.CaseID], b.Message.Text)
	}
	for _, c := range cases {
		if fmt.Sprint(got[c]) != fmt.Sprint(want[c]) {
			t.Errorf("case %d reached the publisher as %q, want %q", c, got[c], want[c])
		}
		for text, m := range w.messages(c) {
			if d := delivery(m); d != nil && d["state"] != "sent" {
				t.Errorf("%q: delivery %v after recovery", text, d)
			}
		}
	}
	// Every attempt of one reply carried its delivery_id.
	ids := map[string]string{}
	for _, d := range w.pub.Deliveries() {
		key := d.Body.Message.ID
		if prev, ok := ids[key]; ok && prev != d.Body.DeliveryID {
			t.Errorf("message %s: delivery_id %s then %s", key, prev, d.Body.DeliveryID)
		}
		ids[key] = d.Body.DeliveryID
	}
	if v := counter(t, w, "retry"); int(v) != tries {
		t.Errorf("retry counter = %v, want %d", v, tries)
	}
}

// A 400 fails the reply with the publisher's text; later replies of the
// case still go; a retry by hand (the assignee or a supervisor) sends it
// once the publisher is fixed, under the same delivery_id.
func TestRefusedReplyFailsAndRetriesByHand(t *testing.T) {
	w := newPublishing(t, nil)
	c, r := w.refusedReply(http.StatusBadRequest, "profile brand is not connected to twitter", "first")
	m := w.messages(c)["first"]
	d := delivery(m)
	if d["state"] != "failed" || !strings.Contains(d["error"].(string), "profile brand is not connected to twitter") ||
		!strings.Contains(d["error"].(string), "400") {
		t.Fatalf("delivery after a 400 = %v", d)
	}
	w.Clock.Advance(time.Hour)
	if n := w.flush(); n != 0 {
		t.Errorf("a failed reply was tried again by itself (%d attempts)", n)
	}
	w.expectOutbox("refused", 0, 1)

	w.pub.Recover()
	w.reply(c, "reply", "second")
	w.flush()
	if got := delivery(w.messages(c)["second"])["state"]; got != "sent" {
		t.Errorf("a reply after a failed one: %v, want sent", got)
	}

	path := fmt.Sprintf("/api/v1/cases/%d/messages/%s/retry", c, r["id"])
	for user, status := range map[string]int{"bob": 403, "community": 403} {
		if a := w.Do("POST", path, user, nil); a.Status != status {
			t.Errorf("retry as %s: %d %s, want %d", user, a.Status, a.Raw, status)
		}
	}
	if a := w.Do("POST", fmt.Sprintf("/api/v1/cases/%d/messages/nope-1/retry", c), "alice", nil); a.Status != 404 {
		t.Errorf("retry of an unknown message: %d, want 404", a.Status)
	}
	got := w.Must(200, "POST", path, "alice", nil)
	if delivery(got)["state"] != "pending" {
		t.Errorf("retried delivery = %v", got["delivery"])
	}
	if a := w.Do("POST", path, "alice", nil); a.Status != 409 {
		t.Errorf("retry of a pending reply: %d, want 409", a.Status)
	}
	w.expectOutbox("retried by hand", 1, 0)
	w.flush()
	if d := delivery(w.messages(c)["first"]); d["state"] != "sent" || d["attempts"] != 2.0 {
		t.Errorf("delivery after the retry = %v", d)
	}
	deliveries := w.pub.Deliveries()
	if deliveries[0].Body.DeliveryID != deliveries[len(deliveries)-1].Body.DeliveryID {
		t.Error("the retry by hand carried another delivery_id")
	}
	sent := w.Do("POST", path, "sue", nil)
	if sent.Status != 409 {
		t.Errorf("supervisor's retry of a sent reply: %d, want 409", sent.Status)
	}
	if v := counter(t, w, "failed"); v != 1 {
		t.Errorf("failed counter = %v, want 1", v)
	}
}

// A supervisor may retry any case's failed reply.
func TestSupervisorRetries(t *testing.T) {
	w := newPublishing(t, nil)
	c, r := w.refusedReply(http.StatusUnprocessableEntity, "too long for twitter", "x")
	w.Must(200, "POST", fmt.Sprintf("/api/v1/cases/%d/messages/%s/retry", c, r["id"]), "sue", nil)
}

// The daemon dies between the POST and storing its answer: after the
// restart the reply is delivered again with the same delivery_id, the
// publisher dedups it, and the reply is sent once with the first answer's
// platform id.
func TestCrashBetweenPostAndStoringTheAnswer(t *testing.T) {
	lost := &lostAnswers{lose: true}
	w := newPublishing(t, func(s publish.Store) publish.Store { lost.Store = s; return lost })
	c := w.openCase("ann")
	w.reply(c, "reply", "hello")
	w.flush()
	if n := len(w.pub.Taken()); n != 1 {
		t.Fatalf("taken %d, want 1", n)
	}
	if d := delivery(w.messages(c)["hello"]); d["state"] != "pending" {
		t.Fatalf("delivery with its answer lost = %v, want pending", d)
	}

	w.restart(nil)
	w.flush()
	ds := w.pub.Deliveries()
	if len(ds) != 2 || ds[0].Body.DeliveryID != ds[1].Body.DeliveryID || !ds[1].Replay {
		t.Fatalf("deliveries after the restart: %+v", ds)
	}
	if n := len(w.pub.Taken()); n != 1 {
		t.Errorf("the publisher took the reply %d times", n)
	}
	m := w.messages(c)["hello"]
	if delivery(m)["state"] != "sent" || m["external_id"] != w.pub.ExternalID(ds[0].Body.DeliveryID) {
		t.Errorf("after the restart: %v", m)
	}
}

// A delivery signed with another secret is refused by the publisher and
// fails (a 4xx); Sign is HMAC-SHA256 of "<timestamp>.<body>".
func TestSignature(t *testing.T) {
	// echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
	const want = "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
	got := publish.Sign([]byte("key"), "1700000000", []byte(`{"a":1}`))
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if !publish.Verify([]byte("key"), "1700000000", []byte(`{"a":1}`), got) ||
		publish.Verify([]byte("key"), "1700000000", []byte(`{"a":2}`), got) ||
		publish.Verify([]byte("other"), "1700000000", []byte(`{"a":1}`), got) ||
		publish.Verify([]byte("key"), "1700000001", []byte(`{"a":1}`), got) {
		t.Error("Verify does not tell a good signature from a bad one")
	}

	w := newPublishing(t, nil)
	opts := w.opts
	opts.Secret, opts.Registerer = []byte("wrong"), nil
	p, err := publish.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := w.openCase("ann")
	w.reply(c, "reply", "hello")
	if _, err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ds := w.pub.Deliveries(); len(ds) != 1 || ds[0].Verified {
		t.Fatalf("deliveries = %+v", ds)
	}
	if d := delivery(w.messages(c)["hello"]); d["state"] != "failed" || !strings.Contains(d["error"].(string), "bad signature") {
		t.Errorf("delivery = %v", d)
	}
}

// Without publishing configured replies carry no delivery and nothing is
// recorded for a publisher.
func TestNoPublishingNoDelivery(t *testing.T) {
	w := testworld.New(t)
	body := w.Must(201, "POST", "/api/v1/cases", "community", map[string]any{"message": map[string]any{
		"external_id": "in-1", "platform": "twitter", "profile_id": "brand",
		"customer": map[string]any{"platform_user_id": "ann"}, "text": "hi"}})
	id := int64(body["case"].(map[string]any)["id"].(float64))
	w.Must(200, "PATCH", fmt.Sprintf("/api/v1/cases/%d", id), "alice", map[string]any{"assignee": "alice"})
	r := w.Must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/messages", id), "alice", map[string]any{"kind": "reply", "text": "x"})
	if r["delivery"] != nil {
		t.Errorf("delivery without publishing: %v", r["delivery"])
	}
	due, err := w.Store.PublishDue(context.Background(), w.Clock.Now().Add(time.Hour), 10, nil)
	if err != nil || len(due) != 0 {
		t.Errorf("due without publishing = %v, %v", due, err)
	}
}

// Run publishes a reply as soon as it is written (the store's signal),
// and stops when its context ends.
func TestRunPublishesOnSignal(t *testing.T) {
	w := newPublishing(t, nil, testworld.WithStore(func(o *bolt.Options) { o.Publishing = true; o.Clock = nil }))
	opts := w.opts
	opts.Now, opts.Registerer, opts.IdleCheck = nil, nil, time.Hour
	p, err := publish.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	taken := make(chan publish.Body, 1)
	w.pub.OnTake(func(d publishtest.Delivery) { taken <- d.Body })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	c := w.openCase("ann")
	w.reply(c, "reply", "now")
	select {
	case b := <-taken:
		if b.Message.Text != "now" {
			t.Errorf("taken %q", b.Message.Text)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the reply never reached the publisher")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := p.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A publisher that answers one case's replies with a 500 and takes the
// others': the stuck reply's age grows in
// carebridge_replies_oldest_pending_age_seconds while
// carebridge_replies_published_total{result="sent"} rises, so one case
// stuck in retries shows while the others go out. After a restart the
// counter starts again at 0 but the gauge reads the stuck reply's age at
// once, from the store; it falls to 0 once the reply is taken.
func TestOldestPendingAgeShowsOneStuckCase(t *testing.T) {
	w := newPublishing(t, nil)
	w.expectOldest("nothing written", 0)
	stuck, other := w.openCase("ann"), w.openCase("ben")
	w.pub.FailCase(stuck, http.StatusInternalServerError, "ann's platform is down")
	w.reply(stuck, "reply", "to ann")
	w.flush()
	w.expectOldest("just written", 0)
	for i := range 15 {
		w.Clock.Advance(time.Minute)
		w.reply(other, "reply", fmt.Sprintf("to ben %d", i))
		w.flush()
		w.expectOldest(fmt.Sprintf("minute %d", i+1), time.Duration(i+1)*time.Minute)
	}
	if v := counter(t, w, "sent"); v != 15 {
		t.Errorf("replies_published_total{result=sent} = %v, want 15 (ben's replies)", v)
	}
	if v := counter(t, w, "retry"); v < 4 {
		t.Errorf("replies_published_total{result=retry} = %v: ann's reply was not retried", v)
	}
	w.expectOutbox("ann's reply stuck", 1, 0)

	w.restart(nil)
	if v := counter(t, w, "sent"); v != 0 {
		t.Errorf("after the restart replies_published_total{result=sent} = %v, want 0", v)
	}
	w.expectOldest("at once after the restart", 15*time.Minute)
	w.expectOutbox("after the restart", 1, 0)
	w.Clock.Advance(5 * time.Minute)
	w.flush()
	w.expectOldest("still refused after the restart", 20*time.Minute)

	w.pub.Recover()
	for range 6 { // the backoff is at most 5 minutes
		w.Clock.Advance(time.Minute)
		w.flush()
	}
	w.expectOldest("taken", 0)
	w.expectOutbox("taken", 0, 0)
	if d := delivery(w.messages(stuck)["to ann"]); d["state"] != "sent" {
		t.Errorf("ann's reply after the recovery: %v", d)
	}
}
