package console

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// openEmbed signs user in to the embed page of case id and waits for it.
func (tb *tab) openEmbed(id int64, user, text string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/embed/cases/%d", id)))
	tb.signIn(user)
	tb.waitJS("the embed page", fmt.Sprintf(`location.pathname === '/embed/cases/%d'`, id))
	tb.waitText(".msg.inbound", text)
}

// TestBrowserEmbedFollowsItsCase: the case page inside Salesforce follows
// its case live, also when it is assigned to someone else: a customer
// message ingested through the API, the assignee's reply and a status
// change show without a reload; hidden, it lets its stream go (streams
// are capped per user) and catches up when shown again.
func TestBrowserEmbedFollowsItsCase(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newLiveEnv(t)
	id := e.escalateAssigned("m1", "joe", "brand", "Where is my order?", "bob")
	tb := newTab(t, e)
	tb.openEmbed(id, "alice", "Where is my order?")
	tb.waitJS("the case's live feed", `document.documentElement.dataset.live === 'open'`)
	tb.do(chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`))

	e.ingest("m2", "joe", "It has been a week now")
	tb.waitText(".msg.inbound .msg-text", "It has been a week now")
	if s, out := e.apiAs("bob", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/messages", id),
		map[string]any{"kind": "reply", "reply_type": "public_reply", "text": "It ships tomorrow.", "mark_pending": true}); s != http.StatusCreated {
		t.Fatalf("bob's reply: %d %v", s, out)
	}
	tb.waitText(".msg.outbound .msg-text", "It ships tomorrow.")
	tb.waitText(".case-head", "Pending")
	tb.waitText("#prop-profile-hint", "a reply has been sent from it")

	// Hidden (another Salesforce tab in front), the page lets its stream
	// go; shown again, it resumes and catches up on what came meanwhile.
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => {
		window.__visibility = 'hidden';
		Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => window.__visibility });
		document.dispatchEvent(new Event('visibilitychange'));
	})()`))
	tb.waitJS("the stream let go", `document.documentElement.dataset.live === 'paused'`)
	e.ingest("m3", "joe", "Thanks, waiting for it")
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => { window.__visibility = 'visible'; document.dispatchEvent(new Event('visibilitychange')); })()`))
	tb.waitJS("the stream back", `document.documentElement.dataset.live === 'open'`)
	tb.waitText(".msg.inbound .msg-text", "Thanks, waiting for it")
	tb.waitText(".case-head", "Open")
	tb.waitJS("no reload", `window.__notReloaded === true`)
	if tb.text("#live-off") != "" {
		t.Fatal("the embed page says live updates are off")
	}
	tb.shot("embed-live")
}

// TestBrowserEmbedWithoutLiveFeed: where the stream cannot open (here the
// daemon serves no event stream: 404, as a refused 401 or 403 does), the
// embed page says discreetly that live updates are off and keeps working.
func TestBrowserEmbedWithoutLiveFeed(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	id := e.escalateAssigned("m1", "joe", "brand", "Is the store open on Sunday?", "alice")
	tb := newTab(t, e)
	tb.openEmbed(id, "alice", "open on Sunday")
	tb.waitJS("the feed off", `document.documentElement.dataset.live === 'off'`)
	tb.waitText(".topbar #live-off", "Live updates off")
}
