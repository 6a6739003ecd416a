package console

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/publish"
	"github.com/carebridge/carebridge/care/publish/publishtest"
	"github.com/chromedp/chromedp"
)

// A reply shows its way to the customer without a reload: sending, then
// not sent with the publisher's reason and a Retry button, then sent once
// the retry went through.
func TestBrowserReplyDelivery(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newLiveEnv(t, func(o *bolt.Options) { o.Publishing = true })
	pub := publishtest.New([]byte("console-secret"))
	defer pub.Close()
	p, err := publish.New(publish.Options{Store: e.store, URL: pub.URL, Secret: []byte("console-secret"), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	flush := func() {
		if _, err := p.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	id := e.escalateAssigned("m1", "joe", "brand", "Where is my parcel?", "alice")
	pub.Fail(http.StatusBadRequest, "profile brand is not connected")

	tb := newTab(t, e)
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d", id)))
	tb.signIn("alice")
	tb.waitJS("the live feed", `document.documentElement.dataset.live === 'open'`)
	if s, out := e.apiAs("alice", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/messages", id),
		map[string]any{"kind": "reply", "text": "It is on its way"}); s != http.StatusCreated {
		t.Fatalf("reply: %d %v", s, out)
	}
	tb.waitText(".msg.outbound .msg-delivery", "Sending")
	flush()
	tb.waitText(".msg.outbound .msg-delivery.delivery-failed", "profile brand is not connected")
	tb.shot("delivery-failed")

	pub.Recover()
	tb.click(".msg.outbound .retry-delivery")
	tb.waitText(".msg.outbound .msg-delivery", "Sending")
	flush()
	tb.waitText(".msg.outbound .msg-delivery.delivery-sent", "Sent to the customer")
	if n := len(pub.Taken()); n != 1 {
		t.Errorf("the publisher took %d replies, want 1", n)
	}
}
