package console

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/sfapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
	"github.com/chromedp/chromedp"
)

// The end-to-end test drives the console in headless Chromium against the
// real Salesforce side of the daemon, wired as cmd/carebridge/serve.go
// wires it: a simulated org (sfsim), the bbolt store with the outbox
// effects, the mapping holder, the token pool, the connect and escalation
// routes, the outbox deliverer (running) and its API, and the console.

// stack is the daemon's HTTP surface over a simulated org. Its env holds
// the store, the API server and the httptest server the tabs load.
type stack struct {
	*env
	sim     *sfsim.Server
	holder  *mapping.Holder
	mapFile string
	pool    *tokens.Pool
	log     *simtest.Logs
}

// newStack wires the daemon on the test world: the console, the connect
// and escalation routes, the outbox's routes and its deliverer. Nothing is
// connected to Salesforce yet.
func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{}
	e := &env{t: t, clock: simtest.WallClock(), users: newDirectory(testUsers)}
	budget := outbox.NewBudget(outbox.BudgetOptions{})
	w := testworld.New(t, testworld.WithClock(e.clock), testworld.WithDirectory(e.users),
		testworld.WithPool(func(o *tokens.Options) { o.Client.Metrics = budget.Observer(nil) }),
		testworld.WithAPI(func(w *testworld.World, o *httpapi.Options) {
			o.Ready = func() error {
				if !w.Holder.Ready() {
					return fmt.Errorf("mapping not loaded: %s", w.Holder.Status().LastError)
				}
				return w.Store.Ping()
			}
		}),
		testworld.WithRoutes(func(w *testworld.World, api *httpapi.Server) {
			e.dir, e.store, e.api = w.Dir, w.Store, api
			e.registerRoutes(w, api)
		}))
	s.sim, s.holder, s.mapFile, s.pool, s.log = w.Sim, w.Holder, w.MappingFile, w.Pool, w.Logs
	deliverer, err := outbox.NewDeliverer(outbox.DelivererOptions{Store: w.Store, Tokens: w.Pool, Mapping: w.Holder.Current,
		Escalator: w.Escalator, Budget: budget, Logger: w.Log})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = w.Server
	s.env = e

	// The background parts, stopped (the deliverer drained) before the
	// server and the store close.
	bg, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{s.holder.Run, s.pool.Run, deliverer.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = run(bg)
		}()
	}
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
	return s
}

// registerRoutes adds what serve adds to the API: the console, the connect
// and escalation routes, the outbox's routes and the mapping status.
func (e *env) registerRoutes(w *testworld.World, api *httpapi.Server) {
	t := e.t
	con, err := New(t.Context(), Options{Users: e.users, Key: w.Key.Derive("console session key v1"), PublicURL: w.URL,
		EmbedFrameAncestors: []string{"https://*.lightning.force.com"}, Revocations: w.Store.KV("console_sessions"),
		Logger: w.Log})
	if err != nil {
		t.Fatal(err)
	}
	con.Register(api)
	e.con = con
	syncStatus := func(ctx context.Context) sfapi.SyncStatus {
		var st sfapi.SyncStatus
		if m := w.Holder.Current(); m != nil {
			st.MessageSync = string(m.MessagesMode())
			if m.Status != nil {
				st.StatusSync = string(m.Status.Mode)
			}
			st.ContactSync = m.ContactSync
		}
		if ob, err := w.Store.OutboxStats(ctx); err == nil {
			st.Outbox = sfapi.OutboxStatus{Pending: int(ob.Pending), Failed: int(ob.Failed), OldestAge: ob.OldestAge}
		}
		return st
	}
	sf, err := sfapi.New(sfapi.Options{Pool: w.Pool, LoginURLOverride: w.Sim.LoginURL, Logger: w.Log,
		Authenticate: api.Authenticate, Sync: syncStatus})
	if err != nil {
		t.Fatal(err)
	}
	sf.Register(api)
	sfapi.NewCaseRoutes(w.Escalator).Register(api)
	outbox.NewHandler(w.Store).Register(api)
	api.HandleAPI("GET /api/v1/mapping", func(rw http.ResponseWriter, r *http.Request, u care.User) {
		if u.Role != care.RoleSupervisor {
			httpapi.WriteError(rw, http.StatusForbidden, "forbidden", "only supervisors read the mapping")
			return
		}
		httpapi.WriteJSON(rw, http.StatusOK, w.Holder.Status())
	})
}

// writeMapping replaces the mapping file at once (the holder also watches
// it, so it must never see half a file).
func (s *stack) writeMapping(t *testing.T, text string) {
	t.Helper()
	tmp := s.mapFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, s.mapFile); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, for up to 15 s.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, state)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// outboxEntries lists the outbox in state through the API, as a supervisor.
func (s *stack) outboxEntries(state string) []map[string]any {
	s.t.Helper()
	status, out := s.apiAs("sue", http.MethodGet, "/api/v1/salesforce/outbox?state="+state, nil)
	if status != http.StatusOK {
		s.t.Fatalf("GET outbox: %d %v", status, out)
	}
	var list []map[string]any
	for _, e := range out["entries"].([]any) {
		list = append(list, e.(map[string]any))
	}
	return list
}

// posts returns the simulated org's message records, by the Care
// message's external key (their upsert key, Care_Message_Id__c).
func (s *stack) posts() map[string]sfsim.Record {
	out := map[string]sfsim.Record{}
	for _, r := range s.sim.Records("Care_Social_Post__c") {
		id, _ := r["Care_Message_Id__c"].(string)
		out[id] = r
	}
	return out
}

func TestBrowserEndToEndSalesforce(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	s := newStack(t)
	contactID, err := s.sim.CreateRecord("Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe", "Email": "joe.doe@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.sim.CreateRecord("Contact", map[string]any{"FirstName": "Ann", "LastName": "Other"}); err != nil {
		t.Fatal(err)
	}
	// The Community integration escalates a mention into a Care case.
	const firstText = "My parcel never arrived"
	caseID := s.escalate("m1", "doe", "brand", firstText)

	// 1. The supervisor signs in on the settings page and connects the
	// default token: the simulated org authorizes and sends the browser
	// back through the callback.
	sup := newTab(t, s.env)
	sup.do(chromedp.Navigate(sup.base + "/settings/salesforce"))
	sup.signIn("sue")
	sup.waitJS("the settings page", `location.pathname === '/settings/salesforce'`)
	sup.waitText(".settings", "Not connected")
	sup.waitText(".settings", "Loaded and valid")
	sup.do(chromedp.Click(chromedp.ID("connect-default")))
	sup.waitJS("the way back to the console", `location.pathname === '/' && !!document.querySelector('.view-list')`)
	if got := s.pool.Status(); got.State != tokens.Connected || got.Default == nil || got.Default.Holder != "sue" ||
		got.Default.SFUsername != sfsim.DefaultUsername {
		t.Fatalf("after connecting: %+v", got)
	}
	sup.do(chromedp.Click(chromedp.CSS(`a[data-section="settings"]`)))
	sup.waitText(".settings .badge", "Connected")
	sup.waitText(".settings", sfsim.DefaultUsername+" (held by sue)")
	sup.waitText(".settings", "No failed operations.")
	sup.waitText("#conn-org", s.sim.OrgID())

	// A token of another org is refused: the browser lands on the console
	// with ?error=org_mismatch, which is said in words (with the org the
	// supervisor must use) and dropped from the address.
	if _, err := s.sim.CreateUserWith(sfsim.NewUser{Username: "eve@other.example", LastName: "Other", Org: sfsim.OrgOther}); err != nil {
		t.Fatal(err)
	}
	sup.do(chromedp.Navigate(sup.base + "/oauth/salesforce/connect?as=user&login_hint=eve@other.example"))
	sup.waitText("#connect-error", "belongs to another org than the one carebridge is connected to")
	sup.waitText("#connect-error", "account of org "+s.sim.OrgID())
	sup.waitJS("the error dropped from the address", `location.pathname === '/' && location.search === ''`)
	if got := s.pool.Status(); len(got.Users) != 0 || got.OrgID != s.sim.OrgID() {
		t.Fatalf("after a token of another org: %+v", got)
	}
	sup.shot("org-mismatch")

	// 2. An agent opens the case from the inbox, assigns it, links the
	// contact found in Salesforce and escalates it.
	agent := newTab(t, s.env)
	agent.do(chromedp.Navigate(agent.base + "/"))
	agent.signIn("alice")
	agent.waitJS("the console", `location.pathname === '/' && !!document.querySelector('.view-list a[data-view="new"]')`)
	agent.click(`.view-list a[data-view="new"]`)
	agent.waitJS("the new case in the list", fmt.Sprintf(`!!document.querySelector('#case-list a[data-case="%d"]')`, caseID))
	agent.shot("inbox")
	agent.click(fmt.Sprintf(`#case-list a[data-case="%d"]`, caseID))
	agent.waitText("#case-title", fmt.Sprintf("Case #%d", caseID))
	agent.waitText(".msg.inbound .msg-text", firstText)
	agent.do(chromedp.Click(chromedp.ID("head-assign-me")), chromedp.WaitEnabled(chromedp.ID("reply-text")))
	agent.shot("case")

	// A second window of the same agent keeps the reply box open on the
	// case while it is escalated.
	stale := newTab(t, s.env)
	stale.do(chromedp.Navigate(stale.base + fmt.Sprintf("/cases/%d", caseID)))
	stale.signIn("alice")
	stale.do(chromedp.WaitEnabled(chromedp.ID("reply-text")))

	agent.do(chromedp.Click(chromedp.ID("tab-salesforce")))
	agent.waitText("#panel-salesforce", "No Salesforce contact is linked")
	agent.do(chromedp.Click(chromedp.ID("sf-search-go"))) // the box holds the customer's name
	agent.waitText(".sf-results", "1 contact found")
	agent.waitText(".sf-contacts", "Joe Doe")
	agent.do(chromedp.Click(chromedp.ID("sf-link-res-0")))
	agent.waitText("#panel-salesforce", contactID)
	c := s.caseState(caseID)
	if c["assignee"] != "alice" || c["status"] != "open" {
		t.Fatalf("the case after assigning: %v", c)
	}
	if _, cu := s.apiAs("sue", http.MethodGet, fmt.Sprintf("/api/v1/customers/%v", c["customer_id"]), nil); cu["salesforce_contact_id"] != contactID {
		t.Fatalf("the customer after linking: %v", cu)
	}

	// The preview shows the mapped record before anything is sent.
	agent.do(chromedp.Click(chromedp.ID("sf-case-start")), chromedp.WaitVisible(chromedp.ID("sf-case-create")))
	wantSubject := fmt.Sprintf("Social case #%d: %s", caseID, firstText)
	stored, err := s.store.Case(t.Context(), testUsers[2], caseID)
	if err != nil {
		t.Fatal(err)
	}
	extKey := stored.ExternalKey
	// Every mapped field shows; the ones the mapping lets agents set are
	// editable (data-name), the external key is read-only.
	preview, editable := map[string]string{}, map[string]bool{}
	for _, name := range []string{"Subject", "Origin", "Priority", "Care_Case_Id__c", "Care_Agent_Email__c", "Description"} {
		v, err := chromedp.Run(agent.ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`(document.querySelector('.sf-escalate [data-field=%s]') || {value: '(missing)'}).value`, jsString(name))))
		if err != nil {
			t.Fatal(err)
		}
		preview[name] = v
		editable[name], err = chromedp.Run(agent.ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`(() => { const el = document.querySelector('.sf-escalate [data-field=%s]'); return !!el && !el.readOnly && el.dataset.name !== undefined; })()`, jsString(name))))
		if err != nil {
			t.Fatal(err)
		}
	}
	if preview["Subject"] != wantSubject || preview["Origin"] != "Social" || preview["Priority"] != "Medium" ||
		preview["Care_Case_Id__c"] != extKey || extKey == "" || preview["Care_Agent_Email__c"] != "alice@example.com" ||
		!strings.HasSuffix(preview["Description"], "Joe doe: "+firstText) {
		t.Fatalf("the preview: %q", preview)
	}
	if want := map[string]bool{"Subject": true, "Origin": true, "Priority": true, "Care_Case_Id__c": false,
		"Care_Agent_Email__c": true, "Description": true}; fmt.Sprint(editable) != fmt.Sprint(want) {
		t.Fatalf("editable fields %v, want %v", editable, want)
	}
	if n := len(s.sim.Records("Case")); n != 0 {
		t.Fatalf("the preview made %d Salesforce cases", n)
	}
	// Nothing was described yet: the preview says lengths are unknown.
	agent.waitText(".sf-escalate .hint", "Field lengths are not known yet")
	agent.shot("salesforce-preview")
	agent.do(chromedp.Click(chromedp.ID("sf-case-create")))
	agent.waitText("#sf-case-title + p", "Case 0")
	// Alice has no Salesforce token of her own: the page says the case was
	// created under the default token, and why.
	agent.waitText("#sf-created-as", "Created under the default token because you have no healthy Salesforce connection of your own")

	// Exactly one Salesforce case, with the mapped fields and the contact.
	cases := s.sim.Records("Case")
	if len(cases) != 1 {
		t.Fatalf("%d Salesforce cases, want 1: %v", len(cases), cases)
	}
	sfCase := cases[0]
	sfCaseID, _ := sfCase["Id"].(string)
	for field, want := range map[string]any{
		"Subject": wantSubject, "Origin": "Social", "Priority": "Medium", "Status": "New",
		"Care_Case_Id__c": extKey, "Care_Agent_Email__c": "alice@example.com", "ContactId": contactID,
	} {
		if sfCase[field] != want {
			t.Errorf("Salesforce case %s = %v, want %v", field, sfCase[field], want)
		}
	}
	if d, _ := sfCase["Description"].(string); !strings.HasPrefix(d, "[") || !strings.HasSuffix(d, "] Joe doe: "+firstText) {
		t.Errorf("Salesforce case Description = %q", d)
	}
	c = s.caseState(caseID)
	link, _ := c["salesforce"].(map[string]any)
	if link["case_id"] != sfCaseID || link["case_number"] != sfCase["CaseNumber"] || c["locked_for_reply"] != true {
		t.Fatalf("the Care case after escalating: %v", c)
	}
	// The page names the record and links to it in Salesforce.
	agent.waitText("#sf-case-title + p", fmt.Sprintf("Case %s — New", sfCase["CaseNumber"]))
	href := s.sim.InstanceURL + "/lightning/r/Case/" + sfCaseID + "/view"
	agent.waitJS("the link to the Salesforce case", fmt.Sprintf(
		`[...document.querySelectorAll('#panel-salesforce a')].some((a) => a.href === %s && a.textContent.includes('Open the case in Salesforce'))`, jsString(href)))
	agent.waitText(".case-head", fmt.Sprintf("Salesforce case %s", sfCase["CaseNumber"]))
	// The reply box is locked, and says why.
	agent.waitText(".composer .notice", "This case has been escalated to Salesforce")
	if ok, _ := chromedp.Run(agent.ctx, chromedp.Evaluate[bool](`!document.getElementById('reply-text')`)); !ok {
		t.Fatal("the reply box is still open after escalating")
	}
	agent.shot("salesforce-tab")

	// The window opened before the escalation still shows the reply box:
	// sending is refused (423) and explained in words.
	stale.do(chromedp.SendKeys(chromedp.ID("reply-text"), "We are looking into it."), chromedp.Click(chromedp.ID("reply-send")))
	stale.waitText(".composer .alert", "This case has been escalated to Salesforce: replies are written from the Care page inside Salesforce.")
	for _, m := range s.messagesOf(caseID) {
		if m["direction"] == "outbound" {
			t.Fatalf("a reply went through the lock: %v", m)
		}
	}

	// The escalation backfills the conversation to the message object.
	msgs := s.messagesOf(caseID)
	firstMsgID, _ := msgs[0]["external_key"].(string) // the upsert key of message records
	eventually(t, "the backfilled message in Salesforce", func() (bool, string) {
		p := s.posts()
		return p[firstMsgID] != nil, fmt.Sprint(p)
	})
	if p := s.posts()[firstMsgID]; p["Case__c"] != sfCaseID || p["Content__c"] != firstText || p["Direction__c"] != "Inbound" {
		t.Fatalf("the backfilled message: %v", p)
	}

	// 3. A mapping edit that Salesforce refuses: a direction the
	// restricted picklist does not have. It passes the offline check.
	good := string(mapping.Sample())
	bad := strings.Replace(good, "inbound: Inbound", "inbound: Incoming", 1)
	if bad == good {
		t.Fatal("the example mapping no longer maps inbound: Inbound")
	}
	s.writeMapping(t, bad)
	if err := s.holder.Reload(t.Context()); err != nil {
		t.Fatalf("the bad mapping was rejected offline: %v", err)
	}
	// The customer writes again: the message joins the case and its push
	// fails for good.
	const secondText = "Any news about my parcel?"
	status, out := s.apiAs("community", http.MethodPost, "/api/v1/messages", map[string]any{
		"external_id": "m2", "platform": "twitter", "profile_id": "brand",
		"customer":  map[string]any{"platform_user_id": "doe"},
		"direction": "inbound", "type": "mention", "text": secondText,
		"sent_at": time.Now().UTC().Format(time.RFC3339),
	})
	if status != http.StatusOK || out["case_id"] != float64(caseID) {
		t.Fatalf("ingest: %d %v", status, out)
	}
	secondMsg, _ := out["message"].(map[string]any)
	secondMsgID, _ := secondMsg["id"].(string)
	secondMsgKey, _ := secondMsg["external_key"].(string)
	var failed map[string]any
	eventually(t, "the failed push", func() (bool, string) {
		list := s.outboxEntries("failed")
		if len(list) != 1 || len(s.outboxEntries("pending")) != 0 {
			return false, fmt.Sprintf("failed %v, pending %v", list, s.outboxEntries("pending"))
		}
		failed = list[0]
		return true, ""
	})
	ferr, _ := failed["error"].(map[string]any)
	if failed["kind"] != string(care.OpPushMessage) || failed["message_id"] != secondMsgID || failed["case_id"] != float64(caseID) ||
		ferr["code"] != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || !strings.Contains(fmt.Sprint(ferr["message"]), "Incoming") {
		t.Fatalf("the failed entry: %v", failed)
	}
	if s.posts()[secondMsgKey] != nil {
		t.Fatal("the refused message is in Salesforce")
	}

	// The supervisor sees it on the settings page with Salesforce's words.
	failedID := fmt.Sprint(failed["id"])
	sup.do(chromedp.Navigate(sup.base + "/settings/salesforce"))
	sup.waitText(".settings table", "push message")
	sup.waitText(".settings table", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: ")
	sup.waitText(".settings table", "Incoming")
	sup.waitText(".settings table", fmt.Sprintf("#%d", caseID))
	sup.waitText(".settings", "0 pending, 1 failed")
	sup.waitJS("the message sync mode", `[...document.querySelectorAll('.settings dt')].some((dt) => dt.textContent === 'Message sync' && dt.nextElementSibling.textContent === 'continuous')`)
	sup.do(chromedp.ScrollIntoView(chromedp.ID("set-outbox")))
	sup.shot("settings")

	// The mapping is fixed, then the supervisor retries: the message
	// reaches Salesforce once.
	s.writeMapping(t, good)
	if err := s.holder.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	sup.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[aria-label="Retry operation %s"]`, failedID))))
	sup.waitJS("the retry", `document.getElementById('live').textContent.includes('requeued')`)
	sup.waitText("#set-outbox ~ p", "No failed operations.")
	// The connection card counts it again, no longer as failed.
	sup.waitJS("the outbox counts", `[...document.querySelectorAll('.settings dt')].some((dt) => dt.textContent === 'Outbox' && / 0 failed/.test(dt.nextElementSibling.textContent))`)
	eventually(t, "the retried message in Salesforce", func() (bool, string) {
		p := s.posts()
		return p[secondMsgKey] != nil, fmt.Sprint(p)
	})
	p := s.posts()
	if len(p) != 2 {
		t.Fatalf("%d message records in Salesforce, want 2: %v", len(p), p)
	}
	if r := p[secondMsgKey]; r["Case__c"] != sfCaseID || r["Content__c"] != secondText || r["Direction__c"] != "Inbound" {
		t.Fatalf("the retried message: %v", r)
	}
	eventually(t, "an empty outbox", func() (bool, string) {
		f, pe := s.outboxEntries("failed"), s.outboxEntries("pending")
		return len(f) == 0 && len(pe) == 0, fmt.Sprintf("failed %v, pending %v", f, pe)
	})
	if n := len(s.sim.Records("Case")); n != 1 {
		t.Fatalf("%d Salesforce cases at the end, want 1", n)
	}
}
