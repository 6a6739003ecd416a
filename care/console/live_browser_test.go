package console

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/care/live"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/chromedp/chromedp"
)

// newLiveEnv is the console's world with the live feed: the store's
// commits go to a broker that serves GET /api/v1/events. store adds to
// the store's options.
func newLiveEnv(t *testing.T, store ...func(*bolt.Options)) *env {
	t.Helper()
	e := &env{t: t, clock: testworld.NewClock(), users: newDirectory(testUsers)}
	b := live.New(live.Options{Clock: e.clock})
	var policy care.Policy // the store's, for the API too (as serve.go does)
	w := testworld.New(t, testworld.WithClock(e.clock), testworld.WithDirectory(e.users),
		testworld.WithStore(func(o *bolt.Options) {
			o.OnCommit = b.Publish
			for _, fn := range store {
				fn(o)
			}
			policy = o.Policy
		}),
		testworld.WithAPI(func(_ *testworld.World, o *httpapi.Options) { o.Events, o.Policy = b, policy }),
		testworld.WithRoutes(func(w *testworld.World, api *httpapi.Server) {
			e.dir, e.store, e.api = w.Dir, w.Store, api
			e.con = e.newConsole(envOpts{})
			e.con.Register(api)
		}))
	t.Cleanup(b.Close) // open streams end before the server closes
	e.srv = w.Server
	return e
}

// ingest sends an inbound message of customer on profile "brand", as the
// Community side does.
func (e *env) ingest(ext, customer, text string) {
	e.t.Helper()
	status, out := e.apiAs("community", http.MethodPost, "/api/v1/messages", map[string]any{
		"external_id": ext, "platform": "twitter", "profile_id": "brand",
		"customer": map[string]any{"platform_user_id": customer}, "text": text,
		"sent_at": e.clock.Now().Format(time.RFC3339),
	})
	if status != http.StatusOK {
		e.t.Fatalf("ingest %s: %d %v", ext, status, out)
	}
}

// count is the count a view's link shows.
func (tb *tab) count(view string) string {
	return tb.text(fmt.Sprintf(`.view-list a[data-view=%s] .count`, jsString(view)))
}

// Two agents signed in: a message ingested through the API shows in the
// assigned agent's open case and moves the counts without a reload, and
// never in the other agent's console; search finds a case by a word of a
// message; a saved view lists what its filter says.
func TestBrowserLiveConsole(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newLiveEnv(t)
	mine := e.escalateAssigned("m1", "joe", "brand", "My parcel never arrived", "alice")
	other := e.escalateAssigned("m2", "ann", "brand", "Wrong size delivered", "alice")
	bobs := e.escalateAssigned("m3", "max", "brand", "Hello from Max", "bob")
	for id, patch := range map[int64]map[string]any{mine: {"status": "pending"}, other: {"priority": "urgent"}} {
		if s, out := e.apiAs("alice", http.MethodPatch, fmt.Sprintf("/api/v1/cases/%d", id), patch); s != http.StatusOK {
			t.Fatalf("patch %d: %d %v", id, s, out)
		}
	}

	alice, bob := newTab(t, e), newTab(t, e)
	alice.do(chromedp.Navigate(alice.base + fmt.Sprintf("/cases/%d", mine)))
	alice.signIn("alice")
	alice.waitText(".msg.inbound .msg-text", "My parcel never arrived")
	bob.do(chromedp.Navigate(bob.base + fmt.Sprintf("/cases/%d", bobs)))
	bob.signIn("bob")
	bob.waitText(".msg.inbound .msg-text", "Hello from Max")
	for _, tb := range []*tab{alice, bob} {
		tb.waitJS("the live feed", `document.documentElement.dataset.live === 'open'`)
		// Marks that a reload would wipe out.
		tb.do(chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true; document.querySelector('.conversation').dataset.kept = '1'`))
	}
	alice.waitText(`.view-list a[data-view="my_pending"] .count`, "1")
	alice.waitText(`.view-list a[data-view="my_open"] .count`, "1")

	// The customer writes again: the pending case reopens.
	e.ingest("m4", "joe", "Any news about my refund?")
	alice.waitText(".conversation[data-kept] .msg.inbound .msg-text", "Any news about my refund?")
	alice.waitText(`.view-list a[data-view="my_open"] .count`, "2")
	alice.waitText(`.view-list a[data-view="my_pending"] .count`, "0")
	alice.waitText("#case-list", "Open")
	alice.waitJS("no reload", `window.__notReloaded === true`)
	alice.shot("live-message")

	// Bob hears of a new unassigned case, never of alice's message.
	fresh := e.escalate("m5", "kim", "brand", "New here")
	bob.waitText(`.view-list a[data-view="new"] .count`, "1")
	alice.waitText(`.view-list a[data-view="new"] .count`, "1")
	bob.waitJS("no reload", `window.__notReloaded === true && !!document.querySelector('.conversation[data-kept]')`)
	if body := bob.text("body"); strings.Contains(body, "refund") || strings.Contains(body, fmt.Sprintf("#%d", mine)) {
		t.Fatalf("bob's console shows alice's case: %q", body)
	}

	// Search within the inbox by a word of a message.
	alice.click(`.view-list a[data-view="inbox"]`)
	alice.waitJS("the inbox", fmt.Sprintf(`!!document.querySelector('#case-list a[data-case="%d"]')`, other))
	alice.do(chromedp.SendKeys(chromedp.ID("search-q"), "refund"), chromedp.Click(chromedp.ID("search-go")))
	alice.waitJS("search results", fmt.Sprintf(
		`location.search.includes('q=refund') && document.querySelectorAll('#case-list a[data-case]').length === 1 && !!document.querySelector('#case-list a[data-case="%d"]')`, mine))

	// A saved view of the urgent cases lists exactly those.
	alice.click(`.view-list a[data-view="inbox"]`)
	alice.waitJS("the inbox again", `!location.search.includes('q=') && document.querySelectorAll('#case-list a[data-case]').length === 2`)
	alice.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('f-priority').closest('details').open = true`))
	alice.choose("#f-priority", "urgent")
	alice.click(`.filters button[type="submit"]`)
	alice.waitJS("the filtered list", `location.search.includes('priority=urgent')`)
	alice.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('sv-name').closest('details').open = true`),
		chromedp.SendKeys(chromedp.ID("sv-name"), "Urgent ones"), chromedp.Click(chromedp.ID("sv-save")))
	alice.waitText("#list-title", "Urgent ones")
	alice.waitJS("the saved view's cases", fmt.Sprintf(
		`document.querySelectorAll('#case-list a[data-case]').length === 1 && !!document.querySelector('#case-list a[data-case="%d"]')`, other))
	alice.waitText(".saved-views", "Urgent ones")
	alice.waitText(".saved-views .count", "1")
	alice.shot("saved-view")
	_ = fresh

	// A long conversation opens on its latest messages; the earlier ones
	// load on demand above them.
	for i := range 120 {
		e.ingest(fmt.Sprintf("long-%d", i), "ann", fmt.Sprintf("Follow-up number %d", i))
	}
	alice.click(fmt.Sprintf(`#case-list a[data-case="%d"]`, other))
	alice.waitText(".conversation", "Follow-up number 119")
	if strings.Contains(alice.text(".conversation"), "Wrong size delivered") {
		t.Fatal("the first message shows before loading earlier ones")
	}
	alice.click("#load-earlier")
	alice.waitText(".conversation .msg-text", "Wrong size delivered")
	alice.waitJS("every message once", `document.querySelectorAll('.conversation li.msg').length === 121 && !document.getElementById('load-earlier')`)
}
