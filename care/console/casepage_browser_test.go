package console

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/chromedp/chromedp"
)

// openCase opens case id in the console as user, signing in.
func (tb *tab) openCase(id int64, user string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d", id)))
	tb.signIn(user)
	tb.waitText("#case-title", fmt.Sprintf("Case #%d", id))
}

// replyOverBytes types chars two-byte characters into the reply box
// (within its maxlength, over limit bytes) and checks that the page
// refuses to send them, saying why, and nothing reaches case id.
func (tb *tab) replyOverBytes(e *env, id int64, chars, limit int) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const t = document.getElementById('reply-text'); t.value = 'é'.repeat(%d); t.dispatchEvent(new Event('input', {bubbles: true})); })()`, chars)))
	tb.click("#reply-send")
	tb.waitText(".composer .alert", fmt.Sprintf("The reply is %d bytes long; at most %d bytes can be sent.", 2*chars, limit))
	if n := len(e.messagesOf(id)); n != 1 {
		tb.t.Fatalf("%d messages, want the customer's only", n)
	}
}

// TestBrowserProfileLockOnALongConversation: the reply that fixes the
// profile is older than the 100 messages the case page loads, and the
// page still says the profile is fixed (the case JSON's profile_locked),
// where a count over the loaded messages would offer to change it.
func TestBrowserProfileLockOnALongConversation(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	id := e.escalateAssigned("m1", "joe", "brand", "My parcel never arrived", "alice")
	if s, out := e.apiAs("alice", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/messages", id),
		map[string]any{"kind": "reply", "reply_type": "public_reply", "text": "Sorry, we are looking into it."}); s != http.StatusCreated {
		t.Fatalf("reply: %d %v", s, out)
	}
	for i := range 150 {
		e.clock.Advance(time.Second)
		e.ingest(fmt.Sprintf("later-%d", i), "joe", fmt.Sprintf("Still waiting, day %d", i))
	}
	tb := newTab(t, e)
	tb.openCase(id, "alice")
	tb.waitText(".conversation", "Still waiting, day 149")
	if strings.Contains(tb.text(".conversation"), "looking into it") {
		t.Fatal("the reply is among the loaded messages: the test needs it older")
	}
	tb.waitJS("the profile fixed", `document.getElementById('prop-profile').disabled && document.getElementById('prop-profile-hint').dataset.lock === 'outbound_message'`)
	tb.waitText("#prop-profile-hint", "The profile is fixed: a reply has been sent from it.")
}

// TestBrowserConfiguredLimits: with lower limits in the config, the page's
// inputs carry those (served in the boot data), so the agent cannot type
// past them; the byte counter says where the reply stands, and a text
// within maxlength but over the bytes is refused before it is sent.
func TestBrowserConfiguredLimits(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{limits: care.Limits{MessageTextBytes: 40, NameChars: 20, FieldValueBytes: 30}})
	id := e.escalateAssigned("m1", "joe", "brand", "Hello", "alice")
	tb := newTab(t, e)
	tb.openCase(id, "alice")
	tb.do(chromedp.WaitEnabled(chromedp.ID("reply-text")))
	tb.waitJS("the configured maxlength", `document.getElementById('reply-text').maxLength === 40 && document.getElementById('cf-new-value').maxLength === 30`)
	tb.waitText("#reply-text-count", "0 / 40 bytes")

	tb.do(chromedp.SendKeys(chromedp.ID("reply-text"), strings.Repeat("x", 50)))
	tb.waitJS("typing stops at the limit", `document.getElementById('reply-text').value.length === 40`)
	tb.waitText("#reply-text-count", "40 / 40 bytes")

	tb.replyOverBytes(e, id, 30, 40)
	tb.waitJS("the counter over", `document.getElementById('reply-text-count').classList.contains('over')`)

	tb.click("#tab-note")
	tb.waitJS("the note's maxlength", `document.getElementById('note-text').maxLength === 40`)
	tb.waitText("#note-text-count", "0 / 40 bytes")
	tb.click("#tab-customer")
	tb.waitJS("the names' maxlength", `['username', 'first_name', 'last_name'].every((n) => document.getElementById('cust-' + n).maxLength === 20)`)
	tb.shot("configured-limits")
}
