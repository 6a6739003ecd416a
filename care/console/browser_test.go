package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive the console in headless Chromium. They skip when
// /usr/bin/chromium is missing, unless CAREBRIDGE_REQUIRE_CHROMIUM=1 (CI),
// which makes them fail instead. Screenshots go to a temporary directory,
// or to CAREBRIDGE_SCREENSHOT_DIR when set (to look at them).

const chromiumPath = "/usr/bin/chromium"

var browser struct {
	once    sync.Once
	ctx     context.Context
	cancels []context.CancelFunc
	userDir string
	err     error
}

// browserCtx starts the package's one browser on first use.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CAREBRIDGE_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("CAREBRIDGE_REQUIRE_CHROMIUM=1 but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s not installed; browser tests skipped", chromiumPath)
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "carebridge-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		browser.userDir = dir
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(chromiumPath),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("disable-default-apps", true),
			chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
			chromedp.Flag("password-store", "basic"),
			chromedp.WindowSize(1366, 768),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.cancels = []context.CancelFunc{bcancel, acancel}
		browser.ctx = bctx
		browser.err = chromedp.Do(bctx) // start it
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	return browser.ctx
}

// stopBrowser ends the browser (from TestMain).
func stopBrowser() {
	for _, c := range browser.cancels {
		c()
	}
	if browser.userDir != "" {
		os.RemoveAll(browser.userDir)
	}
}

// tab is one test's page, in a browser context of its own (own cookies).
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string

	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func newTab(t *testing.T, e *env) *tab {
	t.Helper()
	tctx, cancel := chromedp.NewContext(browserCtx(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	ctx, cancelT := context.WithTimeout(tctx, 60*time.Second)
	t.Cleanup(cancelT)
	tb := &tab{t: t, ctx: ctx, base: e.srv.URL, dir: os.Getenv("CAREBRIDGE_SCREENSHOT_DIR")}
	if tb.dir == "" {
		tb.dir = t.TempDir()
	}
	msgs := chromedp.Console(tctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.msgs = append(tb.msgs, m)
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(tb.checkConsole)
	return tb
}

// checkConsole fails the test on a script exception or a CSP report: the
// pages must run clean under their policy. Failed requests (a route that
// answers 404) are expected and ignored.
func (tb *tab) checkConsole() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.msgs {
		if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") ||
			strings.Contains(m.Text, "Content Security Policy") {
			tb.t.Errorf("browser console: %s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
		}
	}
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// waitJS waits until a JavaScript expression is truthy. A navigation that
// replaces the document while the poll runs restarts it in the new one.
func (tb *tab) waitJS(what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if time.Now().Before(deadline) && navigatedAway(err) {
			select {
			case <-tb.ctx.Done():
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		tb.t.Fatalf("waiting for %s: %v\npage text: %s", what, err, tb.text("body"))
	}
}

func navigatedAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "navigated or closed") || strings.Contains(msg, "context was destroyed") ||
		strings.Contains(msg, "Cannot find context")
}

// click clicks the element sel as soon as it is there, finding and clicking
// it in one step: lists that re-render (counts, refreshed views) would
// otherwise swap the node between a find and a click.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.waitJS("a click on "+sel, fmt.Sprintf(
		`(() => { const el = document.querySelector(%s); if (!el) return false; el.click(); return true; })()`, jsString(sel)))
}

// waitText waits until the element sel contains s.
func (tb *tab) waitText(sel, s string) {
	tb.t.Helper()
	tb.waitJS(fmt.Sprintf("%q in %s", s, sel), fmt.Sprintf(
		`[...document.querySelectorAll(%s)].some((el) => el.textContent.includes(%s))`, jsString(sel), jsString(s)))
}

func (tb *tab) text(sel string) string {
	s, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(document.querySelector(%s) || {innerText: ''}).innerText`, jsString(sel))))
	return s
}

// choose picks an option of a <select> as a user does (change event).
func (tb *tab) choose(sel, value string) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const el = document.querySelector(%s); el.focus(); el.value = %s; el.dispatchEvent(new Event('change', {bubbles: true})); })()`,
		jsString(sel), jsString(value))))
}

// shot saves a screenshot and checks it is not blank.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(tb.dir, strings.ReplaceAll(tb.t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	if err := checkNotBlank(buf); err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
}

// checkNotBlank decodes a PNG and checks it shows something: many colours,
// no single colour covering nearly all of it.
func checkNotBlank(buf []byte) error {
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		return fmt.Errorf("not a PNG: %w", err)
	}
	b := img.Bounds()
	if b.Dx() < 800 || b.Dy() < 500 {
		return fmt.Errorf("only %dx%d", b.Dx(), b.Dy())
	}
	// Every other pixel of every other row is enough to tell, at a
	// quarter of the cost (the tests run under the race detector).
	var hist [1 << 12]int
	total := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			hist[(r>>12)<<8|(g>>12)<<4|bl>>12]++
			total++
		}
	}
	most, colours := 0, 0
	for _, n := range hist {
		most = max(most, n)
		if n > 0 {
			colours++
		}
	}
	// A blank page is one colour; even the sparse sign-in page has a few
	// percent of its pixels off the background, in dozens of colours.
	if colours < 12 || float64(total-most)/float64(total) < 0.01 {
		return fmt.Errorf("looks blank: %d colours, the commonest covers %.1f%%", colours, 100*float64(most)/float64(total))
	}
	return nil
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signIn fills the sign-in form (the page must show it).
func (tb *tab) signIn(user string) {
	tb.t.Helper()
	tb.do(
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token(user)),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
}

// openSalesforceTab opens case id as user (signing in) on its Salesforce tab.
func (tb *tab) openSalesforceTab(id int64, user string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d", id)))
	tb.signIn(user)
	tb.waitText("#case-title", fmt.Sprintf("Case #%d", id))
	tb.do(chromedp.Click(chromedp.ID("tab-salesforce")))
}

// caseState reads a case through the API.
func (e *env) caseState(id int64) map[string]any {
	e.t.Helper()
	status, c := e.apiAs("sue", http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET case %d: %d", id, status)
	}
	return c
}

func (e *env) messagesOf(id int64) []map[string]any {
	e.t.Helper()
	_, out := e.apiAs("sue", http.MethodGet, fmt.Sprintf("/api/v1/cases/%d/messages", id), nil)
	var msgs []map[string]any
	for _, m := range out["messages"].([]any) {
		msgs = append(msgs, m.(map[string]any))
	}
	return msgs
}

func TestBrowserAgentWorksACase(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	c1 := e.escalate("m1", "joe", "brand", "My parcel never arrived")
	c2 := e.escalate("m2", "ann", "brand", "Wrong size delivered")
	c3 := e.escalate("m3", "max", "", "Listening mention without a profile")
	tb := newTab(t, e)

	// Sign in: the console sends an anonymous visitor to the form.
	tb.do(chromedp.Navigate(tb.base + "/"))
	tb.waitJS("the sign-in page", `location.pathname === '/login'`)
	tb.shot("login")
	tb.signIn("alice")
	tb.waitJS("the console", `location.pathname === '/' && !!document.querySelector('.view-list a[data-view="new"]')`)

	// The views, with counts; agents have no spam view.
	tb.waitText(`.view-list a[data-view="new"] .count`, "3")
	if got := tb.text(".view-list"); strings.Contains(got, "Spam") {
		t.Fatalf("an agent sees the spam view: %q", got)
	}
	tb.click(`.view-list a[data-view="new"]`)
	tb.waitJS("the new-cases list", `location.search === '?view=new' && document.querySelectorAll('#case-list a[data-case]').length === 3`)
	tb.waitText("#list-title", "New cases")
	tb.waitText("#case-list", "Joe joe") // customer names filled in
	tb.shot("case-list")

	// Sorting changes the order: newest first puts case 3 on top.
	tb.choose("#sort", "created_desc")
	tb.waitJS("sorted list", fmt.Sprintf(`(document.querySelector('#case-list a[data-case]') || {}).dataset?.case === '%d'`, c3))

	// Open a case: the conversation shows the customer's message.
	tb.click(fmt.Sprintf(`#case-list a[data-case="%d"]`, c1))
	tb.waitText("#case-title", fmt.Sprintf("Case #%d", c1))
	tb.waitText(".msg.inbound .msg-text", "My parcel never arrived")
	tb.shot("case")
	// Not assigned: the reply box says why it is closed.
	tb.waitText(".composer", "Only the assignee can reply")

	// Assign to me.
	tb.do(chromedp.Click(chromedp.ID("head-assign-me")), chromedp.WaitEnabled(chromedp.ID("reply-text")))
	if c := e.caseState(c1); c["assignee"] != "alice" || c["status"] != "open" {
		t.Fatalf("after assigning: %v %v", c["assignee"], c["status"])
	}

	// Reply.
	const replyText = "Sorry about that! Could you send us your order number?"
	tb.do(chromedp.SendKeys(chromedp.ID("reply-text"), replyText), chromedp.Click(chromedp.ID("reply-send")))
	tb.waitText(".msg.outbound .msg-text", replyText)
	msgs := e.messagesOf(c1)
	last := msgs[len(msgs)-1]
	if last["direction"] != "outbound" || last["kind"] != "message" || last["text"] != replyText || last["via"] != "care" || last["reply_type"] != "public_reply" {
		t.Fatalf("the reply as stored: %v", last)
	}

	// A note mentioning Bob.
	tb.do(chromedp.Click(chromedp.ID("tab-note")), chromedp.WaitVisible(chromedp.ID("note-text")),
		chromedp.SendKeys(chromedp.ID("note-text"), "@bob can you check with the courier?"))
	tb.waitText("#note-notifies", "Bob Agent")
	tb.do(chromedp.Click(chromedp.ID("note-add")))
	tb.waitText(".msg.note .msg-text", "check with the courier")
	tb.waitText(".msg.note .msg-label", "Internal note")
	msgs = e.messagesOf(c1)
	last = msgs[len(msgs)-1]
	if last["kind"] != "note" || fmt.Sprint(last["mentions"]) != "[bob]" {
		t.Fatalf("the note as stored: %v", last)
	}

	// Change the status.
	tb.choose("#prop-status", "on_hold")
	tb.waitText(".case-head .badge", "On hold")
	if c := e.caseState(c1); c["status"] != "on_hold" {
		t.Fatalf("status %v, want on_hold", c["status"])
	}
	tb.shot("case-worked")

	// Keyboard: arrow keys move between the property tabs.
	tb.do(chromedp.Focus(chromedp.ID("tab-case")), chromedp.KeyEvent(kb.ArrowRight))
	tb.waitJS("the customer tab", `document.getElementById('tab-customer').getAttribute('aria-selected') === 'true' && document.activeElement.id === 'tab-customer'`)
	tb.waitText("#panel-customer", "Platform user id")

	// Customer details.
	tb.do(chromedp.SendKeys(chromedp.ID("cust-email"), "joe@example.com"), chromedp.Click(chromedp.ID("cust-save")))
	tb.waitText("#panel-customer .ok", "saved")
	_, cu := e.apiAs("sue", http.MethodGet, fmt.Sprintf("/api/v1/customers/%v", e.caseState(c1)["customer_id"]), nil)
	if cu["email"] != "joe@example.com" {
		t.Fatalf("customer email %v", cu["email"])
	}

	// History: the customer's cases.
	tb.do(chromedp.Click(chromedp.ID("tab-history")))
	tb.waitText("#panel-history", "(this case)")

	// A custom field.
	tb.do(chromedp.Click(chromedp.ID("tab-case")), chromedp.WaitVisible(chromedp.ID("cf-new-name")),
		chromedp.SendKeys(chromedp.ID("cf-new-name"), "Order"), chromedp.SendKeys(chromedp.ID("cf-new-value"), "A-1001"),
		chromedp.Click(chromedp.ID("cf-save")))
	tb.waitJS("the saved field", `!!document.querySelector('#panel-case input[data-name="Order"]')`)
	if c := e.caseState(c1); fmt.Sprint(c["fields"]) != "map[Order:A-1001]" {
		t.Fatalf("fields %v", c["fields"])
	}

	// A name edited on the case page shows in the case list beside it.
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d?view=my_on_hold", c1)))
	tb.waitJS("the on-hold list", fmt.Sprintf(`!!document.querySelector('#case-list a[data-case="%d"]')`, c1))
	tb.waitText("#case-list", "Joe joe")
	tb.click("#tab-customer")
	tb.do(chromedp.WaitVisible(chromedp.ID("cust-first_name")), chromedp.Clear(chromedp.ID("cust-first_name")),
		chromedp.SendKeys(chromedp.ID("cust-first_name"), "Joseph"), chromedp.Click(chromedp.ID("cust-save")))
	tb.waitText("#panel-customer .ok", "saved")
	tb.waitText("#case-list", "Joseph joe")

	// An API refusal is explained in words: done needs an assignee.
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d?view=new", c2)))
	tb.waitText("#case-title", fmt.Sprintf("Case #%d", c2))
	tb.choose("#prop-status", "done")
	tb.waitText("#panel-case .alert", "must be assigned before it can be marked done")
	if c := e.caseState(c2); c["status"] != "new" {
		t.Fatalf("a refused change went through: %v", c["status"])
	}

	// A case without a profile asks for one before the first reply.
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d", c3)))
	tb.do(chromedp.WaitVisible(chromedp.ID("head-assign-me")), chromedp.Click(chromedp.ID("head-assign-me")))
	tb.do(chromedp.WaitVisible(chromedp.ID("reply-profile")), chromedp.SendKeys(chromedp.ID("reply-profile"), "brand_uk\n"))
	tb.do(chromedp.WaitEnabled(chromedp.ID("reply-text")))
	if c := e.caseState(c3); c["profile_id"] != "brand_uk" {
		t.Fatalf("profile %v", c["profile_id"])
	}
	// A direct message that marks the case pending.
	tb.choose("#reply-type", "direct_message")
	tb.do(chromedp.SendKeys(chromedp.ID("reply-text"), "We sent you a DM."), chromedp.Click(chromedp.ID("reply-pending")),
		chromedp.Click(chromedp.ID("reply-send")))
	tb.waitText(".case-head .badge", "Pending")
	if c := e.caseState(c3); c["status"] != "pending" {
		t.Fatalf("status %v, want pending", c["status"])
	}
	msgs = e.messagesOf(c3)
	if last := msgs[len(msgs)-1]; last["reply_type"] != "direct_message" {
		t.Fatalf("reply type %v", last["reply_type"])
	}

	// The settings page, for an agent: only their own connection.
	tb.do(chromedp.Click(chromedp.CSS(`a[data-section="settings"]`)))
	tb.waitText(".settings", "Your Salesforce account")
	if strings.Contains(tb.text(".settings"), "Failed deliveries") {
		t.Fatal("an agent sees the supervisor's settings")
	}
	tb.shot("settings-agent")

	// Sign out: back to the form, and the session is gone.
	tb.do(chromedp.Click(chromedp.CSS(`.who button[type="submit"]`)))
	tb.waitJS("the sign-in page", `location.pathname === '/login'`)
	tb.do(chromedp.Navigate(tb.base + "/"))
	tb.waitJS("a redirect to sign-in", `location.pathname === '/login'`)
}

func TestBrowserEmbedRepliesViaSalesforce(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	id := e.escalateAssigned("m1", "joe", "brand", "Is the store open on Sunday?", "alice")
	tb := newTab(t, e)
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/embed/cases/%d", id)))
	tb.waitJS("the embed sign-in", `location.pathname === '/login' && location.search.includes('embed')`)
	tb.signIn("alice")
	tb.waitJS("the embed page", fmt.Sprintf(`location.pathname === '/embed/cases/%d'`, id))
	tb.waitText(".msg.inbound", "open on Sunday")
	if tb.text(".views") != "" || tb.text(".sections") != "" {
		t.Fatal("the embed page shows the console's navigation")
	}
	tb.do(chromedp.WaitEnabled(chromedp.ID("reply-text")),
		chromedp.SendKeys(chromedp.ID("reply-text"), "Yes, 10 to 4."),
		chromedp.Click(chromedp.ID("reply-send")))
	tb.waitText(".msg.outbound", "from Salesforce")
	msgs := e.messagesOf(id)
	if last := msgs[len(msgs)-1]; last["via"] != "salesforce" || last["text"] != "Yes, 10 to 4." {
		t.Fatalf("the embed reply as stored: %v", last)
	}
	tb.shot("embed")
}

// sfStub serves the Salesforce routes of SPEC §4 with canned answers in the
// real routes' shapes, for what the real stack (e2e_test.go) does not
// readily show: a create refused once with 503, a field shortened in the
// preview, an unhealthy user token, a failed status update.
type sfStub struct {
	mu            sync.Mutex
	linked        bool
	linkedID      string
	created       bool
	createTries   int
	retried       []string
	contactFields map[string]any
	// caseRefusals answer the next case creates, one each, in order.
	caseRefusals []stubRefusal
	// createdAs and reason go into the 201 of case and contact creates.
	createdAs, reason string
	// contactDuplicates, when set, refuse the next contact create as a
	// blocking duplicate of these contacts; leadDuplicates every lead create.
	contactDuplicates, leadDuplicates []string
	// connection, when set, is merged over the connection answer; forgets
	// counts DELETE /api/v1/salesforce/connection, which clears the org.
	connection map[string]any
	forgets    int
	backups    []string // who took a backup
}

// stubRefusal is an error answer of the stub.
type stubRefusal struct {
	status        int
	code, message string
	fields        []string
}

func (r stubRefusal) write(w http.ResponseWriter) {
	httpapi.WriteJSON(w, r.status, map[string]any{"error": map[string]any{"code": r.code, "message": r.message, "fields": r.fields}})
}

// stubBackup is what the stub's backup route streams.
const stubBackup = "bolt snapshot bytes"

func (s *sfStub) register(api *httpapi.Server) {
	contact := map[string]any{"id": "003000000000001AAA", "name": "Joe Doe", "first_name": "Joe", "last_name": "Doe", "email": "joe@example.com"}
	api.HandleAPI("GET /api/v1/cases/{id}/salesforce", func(w http.ResponseWriter, r *http.Request, u care.User) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := map[string]any{"contact": nil, "case": nil, "lead": nil, "escalated_without_contact": false, "suggested_contacts": []any{}}
		if s.linked {
			out["contact"] = contact
		}
		if s.created {
			out["case"] = map[string]any{"id": "500000000000001AAA", "number": "00001001", "status": "New", "url": "https://sfsim.example/lightning/r/Case/500000000000001AAA/view"}
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
	})
	api.HandleAPI("GET /api/v1/salesforce/contacts", func(w http.ResponseWriter, r *http.Request, u care.User) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"contacts": []any{contact}})
	})
	api.HandleAPI("PUT /api/v1/customers/{id}/salesforce-contact", func(w http.ResponseWriter, r *http.Request, u care.User) {
		var in struct {
			ContactID string `json:"contact_id"`
		}
		if !httpapi.Decode(w, r, &in) {
			return
		}
		s.mu.Lock()
		s.linked, s.linkedID = in.ContactID != "", in.ContactID
		s.mu.Unlock()
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"contact": contact})
	})
	api.HandleAPI("DELETE /api/v1/customers/{id}/salesforce-contact", func(w http.ResponseWriter, r *http.Request, u care.User) {
		s.mu.Lock()
		s.linked = false
		s.mu.Unlock()
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"contact": nil})
	})
	api.HandleAPI("POST /api/v1/customers/{id}/salesforce-contact", func(w http.ResponseWriter, r *http.Request, u care.User) {
		var in struct {
			Fields map[string]any `json:"fields"`
		}
		if !httpapi.Decode(w, r, &in) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.contactFields = in.Fields
		if dup := s.contactDuplicates; dup != nil {
			s.contactDuplicates = nil
			httpapi.WriteJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{
				"code": "salesforce_duplicate", "message": "Use one of these records?", "matches": dup}})
			return
		}
		s.linked, s.linkedID = true, contact["id"].(string)
		httpapi.WriteJSON(w, http.StatusCreated, s.creation(map[string]any{"contact": contact}))
	})
	api.HandleAPI("GET /api/v1/cases/{id}/salesforce/preview", func(w http.ResponseWriter, r *http.Request, u care.User) {
		if r.URL.Query().Get("object") == "contact" {
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"object": "Contact", "fields": map[string]any{
				"FirstName": "Joe", "LastName": "joe", "Email": nil, "AccountId": "001000000000001AAA"}, "shortened": []string{}, "described": true,
				"overridable": []string{"FirstName", "LastName", "Email"}})
			return
		}
		if r.URL.Query().Get("object") == "lead" {
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"object": "Lead", "fields": map[string]any{
				"LastName": "joe", "Company": "Social customer", "Email": "joe@example.com"}, "shortened": []string{}, "described": true,
				"overridable": []string{"LastName", "Company", "Email"}})
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"object": "Case", "fields": map[string]any{
			"Subject": "Social case #1: Hi", "Origin": "Social", "Description": "[2026-03-01T09:00:00Z] Joe: Hi"},
			"shortened": []string{"Description"}, "described": true, "overridable": []string{"Subject", "Origin"}})
	})
	api.HandleAPI("POST /api/v1/cases/{id}/salesforce/case", func(w http.ResponseWriter, r *http.Request, u care.User) {
		var in struct {
			Fields map[string]string `json:"fields"`
		}
		if !httpapi.Decode(w, r, &in) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.createTries++
		if len(s.caseRefusals) > 0 {
			s.caseRefusals[0].write(w)
			s.caseRefusals = s.caseRefusals[1:]
			return
		}
		if len(in.Fields) != 1 || in.Fields["Subject"] != "Parcel lost" {
			httpapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "override not sent")
			return
		}
		s.created = true
		httpapi.WriteJSON(w, http.StatusCreated, s.creation(map[string]any{"case": map[string]any{"id": "500000000000001AAA", "number": "00001001", "url": ""}}))
	})
	api.HandleAPI("POST /api/v1/cases/{id}/salesforce/lead", func(w http.ResponseWriter, r *http.Request, u care.User) {
		s.mu.Lock()
		defer s.mu.Unlock()
		httpapi.WriteJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{
			"code": "salesforce_duplicate", "message": "Use one of these records?", "matches": s.leadDuplicates}})
	})
	api.HandleAPI("DELETE /api/v1/salesforce/connection", func(w http.ResponseWriter, r *http.Request, u care.User) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.forgets++
		if s.connection == nil {
			s.connection = map[string]any{}
		}
		s.connection["org_id"] = nil
		w.WriteHeader(http.StatusNoContent)
	})
	// The real backup route (care/httpapi) wins where it is registered.
	func() {
		defer func() { _ = recover() }()
		api.HandleAPI("GET /api/v1/admin/backup", func(w http.ResponseWriter, r *http.Request, u care.User) {
			s.mu.Lock()
			s.backups = append(s.backups, u.ID)
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="carebridge-backup-test.db"`)
			w.Write([]byte(stubBackup))
		})
	}()
	api.HandleAPI("GET /api/v1/salesforce/connection", func(w http.ResponseWriter, r *http.Request, u care.User) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := map[string]any{
			"state": "connected", "environment": "sandbox", "instance_url": "https://acme.sandbox.my.salesforce.com",
			"default_token": map[string]any{"holder": "sue", "user_id": "sue", "flow": "web", "sf_username": "sue@acme.test", "healthy": true},
			"users": []any{map[string]any{"user_id": "alice", "sf_user_id": "005000000000001AAA", "sf_username": "alice@acme.test",
				"healthy": false, "last_refreshed_at": "2026-03-01T08:00:00Z", "error": "refresh token revoked"}},
			"status_sync": "bidirectional", "message_sync": "continuous", "contact_sync": "on",
			"outbox": map[string]any{"pending": 2, "failed": 1, "oldest_age_seconds": 12}, "last_poll_at": "2026-03-01T08:59:30Z",
			"org_id": "00D000000000001AAA", "error": nil,
		}
		for k, v := range s.connection {
			out[k] = v
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
	})
	api.HandleAPI("GET /api/v1/salesforce/outbox", func(w http.ResponseWriter, r *http.Request, u care.User) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"entries": []any{map[string]any{
			"id": 41, "kind": "set_status", "case_id": 1, "value": "Closed", "state": "failed", "attempts": 1,
			"error":      map[string]any{"code": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "Status: bad value for restricted picklist field: Closed"},
			"created_at": "2026-03-01T08:30:00Z"}}})
	})
	api.HandleAPI("POST /api/v1/salesforce/outbox/{id}/retry", func(w http.ResponseWriter, r *http.Request, u care.User) {
		s.mu.Lock()
		s.retried = append(s.retried, r.PathValue("id"))
		s.mu.Unlock()
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "state": "pending"})
	})
}

// creation adds the stub's created_as (and reason) to a 201 answer.
func (s *sfStub) creation(answer map[string]any) map[string]any {
	if s.createdAs != "" {
		answer["created_as"] = s.createdAs
	}
	if s.reason != "" {
		answer["reason"] = s.reason
	}
	return answer
}

func TestBrowserSalesforceNotAvailable(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	id := e.escalate("m1", "joe", "brand", "Hello")
	tb := newTab(t, e)
	tb.openSalesforceTab(id, "sue")
	tb.waitText("#panel-salesforce", "not available on this server")
	tb.do(chromedp.Navigate(tb.base + "/settings/salesforce"))
	tb.waitText(".settings", "The connection status: not available")
	tb.waitText(".settings", "The outbox: not available")
	tb.waitText(".settings", "The mapping: not available")
	// A supervisor sees the spam view.
	tb.do(chromedp.Navigate(tb.base + "/"))
	tb.waitText(".view-list", "Spam")
}

func TestBrowserSalesforceTabAndSettings(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	stub := &sfStub{caseRefusals: []stubRefusal{{http.StatusServiceUnavailable, "salesforce_connection_expired", "no healthy token", nil}}}
	stub.register(e.api)
	id := e.escalate("m1", "joe", "brand", "My parcel never arrived")
	tb := newTab(t, e)
	tb.openSalesforceTab(id, "sue")
	tb.waitText("#panel-salesforce", "No Salesforce contact is linked")

	// Search and link a contact.
	tb.do(chromedp.Click(chromedp.ID("sf-search-go")))
	tb.waitText(".sf-results", "1 contact found")
	tb.do(chromedp.Click(chromedp.ID("sf-link-res-0")))
	tb.waitText("#panel-salesforce", "003000000000001AAA")

	// Unlink, then create a contact from the mapping's record: only the
	// field the agent filled in is sent as an override.
	tb.do(chromedp.Click(chromedp.ID("sf-unlink")))
	tb.waitText("#panel-salesforce", "No Salesforce contact is linked")
	tb.do(chromedp.Click(chromedp.ID("sf-contact-start")), chromedp.WaitVisible(chromedp.ID("sf-contact-f2")))
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector('.sf-escalate [data-name="Email"]'); el.value = 'joe@example.com'; })()`))
	tb.do(chromedp.Click(chromedp.ID("sf-contact-create")))
	tb.waitText("#panel-salesforce", "003000000000001AAA")
	stub.mu.Lock()
	got := fmt.Sprint(stub.contactFields)
	stub.mu.Unlock()
	if got != "map[Email:joe@example.com]" {
		t.Fatalf("contact overrides sent: %s", got)
	}

	// Create the Salesforce case from the preview, overriding the subject.
	tb.do(chromedp.Click(chromedp.ID("sf-case-start")))
	tb.do(chromedp.WaitVisible(chromedp.ID("sf-case-f2")))
	tb.waitText(".sf-escalate", "shortened to fit")
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const el = [...document.querySelectorAll('.sf-escalate [data-name]')].find((x) => x.dataset.name === 'Subject'); el.value = 'Parcel lost'; })()`))
	tb.do(chromedp.Click(chromedp.ID("sf-case-create")))
	tb.waitText("#sf-messages .alert", "Salesforce connection has expired")
	tb.do(chromedp.Click(chromedp.ID("sf-case-create")))
	tb.waitText("#panel-salesforce", "Case 00001001")
	tb.shot("salesforce-tab")

	// The settings page with the connection, failed deliveries and retry.
	tb.do(chromedp.Navigate(tb.base + "/settings/salesforce"))
	tb.waitText(".settings", "Connected")
	tb.waitText(".settings table", "refresh token revoked")
	tb.waitText(".settings table", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Status: bad value")
	tb.waitText(".settings table", "set status → Closed")
	tb.waitText(".settings", "2 pending, 1 failed")
	tb.waitText(".settings", "held by sue")
	tb.shot("settings-supervisor")
	tb.do(chromedp.Click(chromedp.CSS(`button[aria-label="Retry operation 41"]`)))
	tb.waitJS("the retry", `document.getElementById('live').textContent.includes('requeued')`)
	stub.mu.Lock()
	defer stub.mu.Unlock()
	if len(stub.retried) != 1 || stub.retried[0] != "41" || stub.createTries != 2 {
		t.Fatalf("retried %v, create tries %d", stub.retried, stub.createTries)
	}
}

// TestBrowserRealOrgAnswers: what a production org answers, in the
// Salesforce tab: only overridable fields are editable, a refused
// override names its fields, a blocking duplicate offers its matches (a
// contact to link in one click), a record created under the default
// token says why, and a Salesforce case deleted there unlocks replies.
func TestBrowserRealOrgAnswers(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	const dupA, dupB = "003000000000002AAA", "003000000000003AAA"
	const leadDup = "00Q000000000001AAA"
	stub := &sfStub{
		contactDuplicates: []string{dupA, dupB}, leadDuplicates: []string{leadDup},
		caseRefusals: []stubRefusal{{http.StatusBadRequest, "field_not_overridable", "the case mapping does not let callers set Subject", []string{"Subject"}}},
		createdAs:    "default", reason: "Salesforce user alice@acme.test may not create Case Care_Agent_Email__c",
	}
	stub.register(e.api)
	id := e.escalateAssigned("m1", "joe", "brand", "My parcel never arrived", "alice")
	tb := newTab(t, e)
	tb.openSalesforceTab(id, "alice")
	tb.waitText("#panel-salesforce", "No Salesforce contact is linked")

	// The contact form: the lookup the mapping fills in is read-only and
	// never sent.
	tb.click("#sf-contact-start")
	tb.waitJS("the contact form", `!!document.querySelector('.sf-escalate [data-field="AccountId"]')`)
	tb.waitJS("AccountId read-only, the overridable fields editable", `(() => {
		const f = (n) => document.querySelector('.sf-escalate [data-field="' + n + '"]');
		return f('AccountId').readOnly && f('AccountId').dataset.name === undefined &&
			['FirstName', 'LastName', 'Email'].every((n) => !f(n).readOnly && f(n).dataset.name === n);
	})()`)
	tb.waitText(".sf-escalate", "from the mapping")
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => {
		document.querySelector('.sf-escalate [data-field="AccountId"]').value = '001999999999999AAA';
		document.querySelector('.sf-escalate [data-name="Email"]').value = 'joe@example.com';
	})()`))
	tb.click("#sf-contact-create")
	// A blocking duplicate rule: Salesforce's words and its matches, each
	// linkable at once.
	tb.waitText("#sf-duplicate", "Salesforce refused the record as a duplicate")
	tb.waitText("#sf-duplicate", "Use one of these records?")
	tb.waitText("#sf-duplicate", dupA)
	tb.waitText("#sf-duplicate", dupB)
	stub.mu.Lock()
	sent := fmt.Sprint(stub.contactFields)
	stub.mu.Unlock()
	if sent != "map[Email:joe@example.com]" {
		t.Fatalf("contact overrides sent: %s (a read-only field must not be)", sent)
	}
	tb.shot("duplicate-contact")
	tb.click("#sf-link-match-1")
	tb.waitText("#sf-contact-title ~ dl", "003000000000001AAA") // the stub answers with its contact
	stub.mu.Lock()
	linked := stub.linkedID
	stub.mu.Unlock()
	if linked != dupB {
		t.Fatalf("linked %q, want the second match %s", linked, dupB)
	}

	// The case form: Description is filled in by the mapping. An override
	// the server refuses is named and marked.
	tb.click("#sf-case-start")
	tb.waitJS("the case form", `!!document.querySelector('.sf-escalate [data-field="Description"]')`)
	tb.waitJS("Description read-only", `(() => { const d = document.querySelector('.sf-escalate [data-field="Description"]'); return d.readOnly && d.dataset.name === undefined; })()`)
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => { document.querySelector('.sf-escalate [data-name="Subject"]').value = 'Parcel lost'; })()`))
	tb.click("#sf-case-create")
	tb.waitText("#sf-messages .alert", "The mapping does not let you set these fields: Subject")
	tb.waitJS("Subject marked", `document.querySelector('.sf-escalate [data-field="Subject"]').getAttribute('aria-invalid') === 'true'`)
	// Created under the default token: the page says why.
	tb.click("#sf-case-create")
	tb.waitText("#sf-created-as", "Created under the default token because Salesforce user alice@acme.test may not create Case Care_Agent_Email__c.")
	tb.waitText("#panel-salesforce", "Case 00001001")

	// A lead refused as a duplicate lists the matching records, linked in
	// Salesforce where the org's address is known (from the case's link).
	stub.mu.Lock()
	stub.createdAs = ""
	stub.mu.Unlock()
	tb.click("#sf-lead-start")
	tb.waitJS("the lead form", `!!document.querySelector('#sf-lead-create')`)
	tb.click("#sf-lead-create")
	tb.waitText("#sf-duplicate", leadDup)
	tb.waitJS("the match linked in Salesforce", `!!document.querySelector('#sf-duplicate a[href="https://sfsim.example/`+leadDup+`"]')`)
	if got := tb.text("#sf-duplicate"); strings.Contains(got, "Link this contact") {
		t.Fatalf("a lead's matches offered as contacts to link: %q", got)
	}

	// The Care case is linked to a Salesforce case: replies are locked.
	if _, err := e.store.SetSalesforceLink(t.Context(), id, func(l *care.SalesforceLink) {
		l.CaseID, l.CaseNumber = "500000000000001AAA", "00001001"
	}); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d", id)))
	tb.waitText(".composer .notice", "This case has been escalated to Salesforce")
	// Deleted in Salesforce: the tab says when, the reply box is back.
	deleted := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	if _, err := e.store.SetSalesforceLink(t.Context(), id, func(l *care.SalesforceLink) { l.DeletedAt = &deleted }); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(tb.base + fmt.Sprintf("/cases/%d", id)))
	tb.do(chromedp.WaitEnabled(chromedp.ID("reply-text")))
	tb.waitText(".case-head", "deleted in Salesforce")
	tb.click("#tab-salesforce")
	tb.waitText("#sf-case-deleted", "deleted in Salesforce on")
	tb.waitJS("the deletion time", `document.querySelector('#sf-case-deleted time').getAttribute('datetime') === '2026-03-02T10:30:00Z'`)
	tb.waitJS("the case can be created again", `!!document.querySelector('#sf-case-start')`)
	if got := tb.text("#panel-salesforce"); strings.Contains(got, "Replies to the customer are now written from the Care page inside") {
		t.Fatalf("a deleted Salesforce case still claims replies are locked: %q", got)
	}
	tb.shot("deleted-in-salesforce")
	const replyText = "Your case continues here."
	tb.do(chromedp.SendKeys(chromedp.ID("reply-text"), replyText), chromedp.Click(chromedp.ID("reply-send")))
	tb.waitText(".msg.outbound .msg-text", replyText)
}

// TestBrowserLimits: the inputs carry the API's default limits, a reply
// over the byte limit is refused before it is sent (maxlength counts
// characters), and a 400 too_large is shown with its message.
func TestBrowserLimits(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	id := e.escalateAssigned("m1", "joe", "brand", "Hello", "alice")
	tb := newTab(t, e)
	tb.openCase(id, "alice")
	tb.do(chromedp.WaitEnabled(chromedp.ID("reply-text")))
	tb.waitJS("maxlength on the reply", `document.getElementById('reply-text').maxLength === 65536`)

	// 40,000 two-byte characters: within maxlength, over 65,536 bytes.
	tb.replyOverBytes(e, id, 40000, 65536)
	tb.click("#tab-note")
	tb.waitJS("maxlength on the note", `document.getElementById('note-text').maxLength === 65536`)

	tb.click("#tab-customer")
	tb.waitJS("maxlength on the customer's names", `['username', 'first_name', 'last_name'].every((n) => document.getElementById('cust-' + n).maxLength === 255) && document.getElementById('cust-email').maxLength === 254`)
	// A script (or an old page) can still send too much: the API's
	// too_large is shown with its message.
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('cust-first_name').value = 'x'.repeat(300); })()`))
	tb.click("#cust-save")
	tb.waitText("#panel-customer .alert", "That is more than carebridge accepts: ")
	tb.waitText("#panel-customer .alert", "at most 255")
	tb.shot("too-large")
}

// TestBrowserSettingsConnectionSafety: the settings page shows the org,
// a connection that is not connected or misconfigured with its reason,
// forgets the connection after asking, and downloads a backup; an agent
// sees none of it, and the connect's ?error= is said in words.
func TestBrowserSettingsConnectionSafety(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newEnv(t, envOpts{})
	stub := &sfStub{connection: map[string]any{"state": "not_connected", "error": "secret key changed: reconnect",
		"default_token": nil, "users": []any{}, "changes": "polling", "changes_reason": "no healthy Salesforce token"}}
	stub.register(e.api)
	tb := newTab(t, e)
	tb.do(chromedp.Navigate(tb.base + "/settings/salesforce"))
	tb.signIn("sue")
	tb.waitText(".settings .badge", "Not connected")
	tb.waitText("#conn-reason", "Reason: secret key changed: reconnect")
	tb.waitText("#conn-org", "00D000000000001AAA")
	tb.waitText("#conn-changes", "changes: polling (no healthy Salesforce token)")
	tb.shot("not-connected")

	// Forget asks first; Cancel does nothing.
	tb.click("#conn-forget")
	tb.waitText(".settings", "Every token (the default token and every user's) is revoked at Salesforce and forgotten")
	tb.click("#conn-forget-cancel")
	tb.waitJS("the button back", `!!document.getElementById('conn-forget')`)
	tb.click("#conn-forget")
	tb.click("#conn-forget-confirm")
	tb.waitText("#set-conn ~ .form-errors .ok", "The Salesforce connection is forgotten")
	tb.waitText("#conn-org", "none yet")
	stub.mu.Lock()
	forgets := stub.forgets
	stub.mu.Unlock()
	if forgets != 1 {
		t.Fatalf("%d forgets, want 1 (Cancel must not forget)", forgets)
	}

	// Misconfigured, with the reason.
	stub.mu.Lock()
	stub.connection["state"], stub.connection["error"] = "misconfigured", "invalid_client: the connected app's secret is wrong"
	stub.mu.Unlock()
	tb.do(chromedp.Navigate(tb.base + "/settings/salesforce"))
	tb.waitText(".settings .badge", "Misconfigured")
	tb.waitText("#conn-reason", "invalid_client: the connected app's secret is wrong")

	// A backup, fetched with the console's session and saved as a file.
	tb.click("#backup-download")
	tb.waitText("#backup-messages .ok", "Backup saved as ")
	stub.mu.Lock()
	backups := fmt.Sprint(stub.backups)
	stub.mu.Unlock()
	if backups == "[sue]" {
		tb.waitText("#backup-messages .ok", fmt.Sprintf("Backup saved as carebridge-backup-test.db (%d bytes).", len(stubBackup)))
	} else if backups != "[]" {
		t.Fatalf("backups taken by %s", backups)
	}
	tb.shot("settings-safety")

	// The connect came back refused for another org: said in words, with
	// the org to use, and gone from the address.
	tb.do(chromedp.Navigate(tb.base + "/settings/salesforce?error=org_mismatch"))
	tb.waitText("#connect-error", "That Salesforce account belongs to another org")
	tb.waitJS("the error dropped from the address", `location.pathname === '/settings/salesforce' && location.search === ''`)
	tb.click("#connect-error button")
	tb.waitJS("dismissed", `!document.getElementById('connect-error')`)

	// An agent: no connection, no backup; another code is still said.
	agent := newTab(t, e)
	agent.do(chromedp.Navigate(agent.base + "/?view=new&error=access_denied"))
	agent.signIn("alice")
	agent.waitText("#connect-error", "not approved in Salesforce")
	agent.waitJS("only the error dropped", `location.search === '?view=new'`)
	agent.do(chromedp.Navigate(agent.base + "/settings/salesforce"))
	agent.waitText(".settings", "Your Salesforce account")
	if got := agent.text(".settings"); strings.Contains(got, "Download a backup") || strings.Contains(got, "Forget the connection") {
		t.Fatalf("an agent is offered supervisor actions: %q", got)
	}
}

// The screenshot check tells a blank page from one that shows something.
func TestCheckNotBlank(t *testing.T) {
	encode := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	img := image.NewRGBA(image.Rect(0, 0, 1000, 600))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	if err := checkNotBlank(encode(img)); err == nil || !strings.Contains(err.Error(), "looks blank") {
		t.Fatalf("a white page: %v", err)
	}
	// Lines of text in a few dozen colours over a tenth of the page.
	for i := range 30 {
		c := color.RGBA{uint8(i * 8), uint8(255 - i*8), uint8(i * 5), 255}
		draw.Draw(img, image.Rect(40, 20+i*18, 700, 22+i*18), image.NewUniform(c), image.Point{}, draw.Src)
	}
	if err := checkNotBlank(encode(img)); err != nil {
		t.Fatalf("a page with text: %v", err)
	}
	if err := checkNotBlank(encode(image.NewRGBA(image.Rect(0, 0, 300, 200)))); err == nil {
		t.Fatal("a 300×200 screenshot passed")
	}
}
