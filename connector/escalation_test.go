package connector_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/mapping"
)

const (
	holderSF = "admin@sfsim.test"
	aliceSF  = "alice@acme.test"
)

func TestContacts(t *testing.T) {
	w := connectedWorld(t)
	joeID, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe", "Email": "joe@example.com"})
	w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Jane", "LastName": "Roe"})
	c := w.escalate("t1", "joe", "Joe", "Doe", "Hi", false)
	cust := num(c["customer_id"])

	found := w.must(200, "GET", "/api/v1/salesforce/contacts?q=Doe", "alice", nil)["contacts"].([]any)
	if len(found) != 1 || found[0].(map[string]any)["id"] != joeID || found[0].(map[string]any)["email"] != "joe@example.com" {
		t.Fatalf("search: %v", found)
	}
	if a := w.do("GET", "/api/v1/salesforce/contacts?q=x", "alice", nil); a.Status != 400 {
		t.Errorf("one-letter search: %d", a.Status)
	}
	if a := w.do("GET", "/api/v1/salesforce/contacts?q=Doe", "community", nil); a.Status != 403 {
		t.Errorf("integration search: %d", a.Status)
	}
	// Link: checked in Salesforce.
	for _, bad := range []string{"not-an-id", "003000000000000AAA", "500000000000000AAA"} {
		if a := w.do("PUT", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", cust), "alice", map[string]any{"contact_id": bad}); a.Status != 404 || a.Code() != "contact_not_found" {
			t.Errorf("link %s: %d %s", bad, a.Status, a.Raw)
		}
	}
	b := w.must(200, "PUT", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", cust), "alice", map[string]any{"contact_id": joeID})
	if b["customer"].(map[string]any)["salesforce_contact_id"] != joeID || b["contact"].(map[string]any)["name"] != "Joe Doe" {
		t.Fatalf("link: %v", b)
	}
	view := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d/salesforce", num(c["id"])), "alice", nil)
	if view["contact"].(map[string]any)["id"] != joeID || view["case"] != nil || view["lead"] != nil {
		t.Fatalf("case salesforce view: %v", view)
	}
	// Unlink, then create a contact through the mapping plus overrides.
	b = w.must(200, "DELETE", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", cust), "alice", nil)
	if b["customer"].(map[string]any)["salesforce_contact_id"] != nil {
		t.Fatalf("unlink: %v", b)
	}
	b = w.must(201, "POST", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", cust), "bob", map[string]any{"fields": map[string]any{"Email": "joe.doe@example.com"}})
	newID := b["contact"].(map[string]any)["id"].(string)
	rec, ok := w.sim.Record("Contact", newID)
	if !ok || rec["FirstName"] != "Joe" || rec["LastName"] != "Doe" || rec["Email"] != "joe.doe@example.com" {
		t.Fatalf("created contact: %v", rec)
	}
	if b["customer"].(map[string]any)["salesforce_contact_id"] != newID {
		t.Fatalf("created contact not linked: %v", b)
	}
}

func TestCreateCaseByHand(t *testing.T) {
	w := connectedWorld(t)
	t0 := w.clock.Now()
	c := w.escalate("m1", "joe", "Joe", "Doe", "Hi, does your new perfume have hibiscus in it?", false)
	id := num(c["id"])
	mustExternalKey(t, c)
	w.clock.Advance(time.Minute)
	w.ingest("m2", "joe", "")
	w.clock.Advance(time.Minute)
	w.ingest("m3", "joe", "Still waiting 🌺")
	w.must(200, "PATCH", fmt.Sprintf("/api/v1/cases/%d", id), "alice", map[string]any{"assignee": "alice", "priority": "urgent", "profile_id": "brand"})
	w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/messages", id), "alice", map[string]any{"kind": "note", "text": "internal, never sent"})
	casePath := fmt.Sprintf("/api/v1/cases/%d/salesforce/case", id)

	if a := w.do("POST", casePath, "alice", nil); a.Status != 409 || a.Code() != "contact_not_linked" {
		t.Fatalf("without contact: %d %s", a.Status, a.Raw)
	}
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe"})
	w.linkContact(c["customer_id"], contact)
	if a := w.do("POST", casePath, "community", nil); a.Status != 403 {
		t.Fatalf("integration escalating by hand: %d", a.Status)
	}
	b := w.must(201, "POST", casePath, "alice", nil)
	sfCase := b["case"].(map[string]any)
	sfID := sfCase["id"].(string)
	if !strings.HasPrefix(sfID, "500") || sfCase["number"] == "" || !strings.Contains(sfCase["url"].(string), sfID) {
		t.Fatalf("created: %v", b)
	}
	rec, ok := w.sim.Record("Case", sfID)
	if !ok {
		t.Fatal("no case in Salesforce")
	}
	digest := fmt.Sprintf("[%s] Joe Doe: Hi, does your new perfume have hibiscus in it?\n[%s] Joe Doe: \n[%s] Joe Doe: Still waiting 🌺",
		t0.Format("2006-01-02T15:04:05Z"), t0.Add(time.Minute).Format("2006-01-02T15:04:05Z"), t0.Add(2*time.Minute).Format("2006-01-02T15:04:05Z"))
	holder, _ := w.sim.User(holderSF)
	for field, want := range map[string]any{
		"Subject":             fmt.Sprintf("Social case #%d: Hi, does your new perfume have hibiscus in it?", id),
		"Origin":              "Social",
		"Priority":            "High",
		"Description":         digest,
		"Care_Case_Id__c":     c["external_key"], // upserted by the case's external key
		"Care_Agent_Email__c": "alice@example.com",
		"ContactId":           contact,
		"CreatedById":         holder.ID, // alice has no token of her own: the holder's
	} {
		if rec[field] != want {
			t.Errorf("Salesforce %s = %q, want %q", field, rec[field], want)
		}
	}
	got := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d", id), "alice", nil)
	sf := got["salesforce"].(map[string]any)
	if sf["case_id"] != sfID || sf["case_number"] != sfCase["number"] || sf["status"] != "New" || sf["contact_id"] != contact || got["locked_for_reply"] != true {
		t.Fatalf("Care case after escalation: %v", got)
	}
	if stored, err := w.store.Case(context.Background(), care.User{}, int64(id)); err != nil || stored.Salesforce.ExternalIDField != "Care_Case_Id__c" {
		t.Fatalf("the link does not say which external id field was written (the poller names the case by it): %+v %v", stored.Salesforce, err)
	}
	// Care replies are locked; replies from the embed page still go.
	msgs := fmt.Sprintf("/api/v1/cases/%d/messages", id)
	if a := w.do("POST", msgs, "alice", map[string]any{"kind": "reply", "text": "hi"}); a.Status != 423 || a.Code() != "locked_to_salesforce" {
		t.Fatalf("care reply: %d %s", a.Status, a.Raw)
	}
	w.must(201, "POST", msgs, "alice", map[string]any{"kind": "reply", "text": "hi", "via": "salesforce"})
	if a := w.do("POST", casePath, "alice", nil); a.Status != 409 || a.Code() != "already_escalated" {
		t.Fatalf("second escalation: %d %s", a.Status, a.Raw)
	}
	view := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d/salesforce", id), "bob", nil)
	if view["case"].(map[string]any)["id"] != sfID || view["escalated_without_contact"] != false {
		t.Fatalf("salesforce view: %v", view)
	}
	// The backfill waits in the outbox (continuous mode).
	due, _ := w.store.OutboxDue(context.Background(), w.clock.Now(), 10, nil)
	if len(due) == 0 || due[0].Kind != care.OpBackfill {
		t.Fatalf("outbox after escalation: %+v", due)
	}

	// Now alice connects her own token: her escalations are hers.
	w.sim.CreateUser(aliceSF, "Alice", "Agent", "alice@acme.test")
	w.connect("alice", "user", aliceSF)
	c2 := w.escalate("n1", "ann", "Ann", "Lee", "Hello", false)
	w.linkContact(c2["customer_id"], contact)
	b = w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c2["id"])), "alice", map[string]any{"fields": map[string]any{"Subject": "Custom subject"}})
	rec, _ = w.sim.Record("Case", b["case"].(map[string]any)["id"].(string))
	alice, _ := w.sim.User(aliceSF)
	if rec["CreatedById"] != alice.ID || rec["Subject"] != "Custom subject" {
		t.Fatalf("alice's case: created by %v (alice is %s), subject %v", rec["CreatedById"], alice.ID, rec["Subject"])
	}
}

func TestEscalationErrors(t *testing.T) {
	w := connectedWorld(t)
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Old", "LastName": "Timer"})

	// 90 days without a customer message: too old.
	old := w.escalate("o1", "old", "Old", "Timer", "ancient", false)
	w.linkContact(old["customer_id"], contact)
	w.clock.Advance(90 * 24 * time.Hour)
	if a := w.do("POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(old["id"])), "alice", nil); a.Status != 409 || a.Code() != "conversation_too_old" {
		t.Fatalf("old conversation: %d %s", a.Status, a.Raw)
	}
	// A fresh message makes it young again.
	w.ingest("o2", "old", "back again")

	// Salesforce refuses a value: 422 with its errors inside.
	a := w.do("POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(old["id"])), "alice",
		map[string]any{"fields": map[string]any{"Care_Agent_Email__c": "not an email"}})
	if a.Status != 422 || a.Code() != "salesforce_rejected" || !strings.Contains(string(a.Raw), "INVALID_EMAIL_ADDRESS") {
		t.Fatalf("rejected: %d %s", a.Status, a.Raw)
	}
	if n := len(w.sim.Records("Case")); n != 0 {
		t.Fatalf("%d Salesforce cases after a rejection", n)
	}
	// No healthy token: 503.
	w.sim.RevokeUser(holderSF)
	a = w.do("POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(old["id"])), "alice", nil)
	if a.Status != 503 || a.Code() != "salesforce_connection_expired" {
		t.Fatalf("no token: %d %s", a.Status, a.Raw)
	}
	// Reconnect: it works, and the case was never half-made.
	w.connect("sue", "default", holderSF)
	w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(old["id"])), "alice", nil)
	if a := w.do("POST", "/api/v1/cases/999/salesforce/case", "alice", nil); a.Status != 404 {
		t.Fatalf("unknown case: %d", a.Status)
	}
}

// A create whose answer is lost after Salesforce committed, then retried,
// leaves exactly one Salesforce case (upsert by Care_Case_Id__c).
func TestLostAnswerMakesOneCase(t *testing.T) {
	w := connectedWorld(t)
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe"})
	warm := w.escalate("w1", "warm", "Warm", "Up", "warm the describe cache", false)
	w.linkContact(warm["customer_id"], contact)
	w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(warm["id"])), "alice", nil)

	c := w.escalate("l1", "joe", "Joe", "Doe", "lost", false)
	mustExternalKey(t, c)
	w.linkContact(c["customer_id"], contact)
	if err := w.sim.InjectFault(sfsim.Fault{Kind: sfsim.FaultDrop, Count: 1, AfterCommit: true}); err != nil {
		t.Fatal(err)
	}
	b := w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), "alice", nil)
	recs, err := w.sim.Query(fmt.Sprintf("SELECT Id FROM Case WHERE Care_Case_Id__c = '%s'", c["external_key"]))
	if err != nil || len(recs) != 1 || recs[0]["Id"] != b["case"].(map[string]any)["id"] {
		t.Fatalf("Salesforce cases for the Care case: %v %v (answer %v)", recs, err, b)
	}
	if n := w.sim.Stats().ByOperation["upsert"]; n < 3 {
		t.Fatalf("%d upserts: the dropped one was not retried", n)
	}
}

func TestCreateLead(t *testing.T) {
	w := connectedWorld(t)
	c := w.escalate("ld1", "prospect", "", "", "Do you ship to Iceland?", false)
	b := w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/lead", num(c["id"])), "bob", nil)
	lead := b["lead"].(map[string]any)
	rec, ok := w.sim.Record("Lead", lead["id"].(string))
	if !ok || rec["LastName"] != "@prospect" || rec["Company"] != "Social customer" || !strings.Contains(lead["url"].(string), lead["id"].(string)) {
		t.Fatalf("lead: %v %v", lead, rec)
	}
	if got := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d", num(c["id"])), "bob", nil); got["salesforce"].(map[string]any)["lead_id"] != lead["id"] {
		t.Fatalf("lead not recorded: %v", got)
	}
	if a := w.do("POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/lead", num(c["id"])), "bob", nil); a.Code() != "already_escalated" {
		t.Fatalf("second lead: %s", a.Raw)
	}
	// The body of a create is optional: blank means no overrides, but a
	// body that is there must be valid JSON.
	c2 := w.escalate("ld2", "prospect2", "", "", "And to Greenland?", false)
	for _, tc := range []struct {
		body string
		want int
	}{{"{", 400}, {`{"fields":{"Company":"Ice Co"},"extra":1}`, 400}, {" \n", 201}} {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/cases/%d/salesforce/lead", w.srv.URL, num(c2["id"])), strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+userToken("bob"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Fatalf("lead with body %q: %d, want %d", tc.body, res.StatusCode, tc.want)
		}
	}
}

func TestAutomaticEscalationContactSync(t *testing.T) {
	w := connectedWorld(t)
	unique, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Una", "LastName": "Unique"})
	w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Sam", "LastName": "Same"})
	w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Sam", "LastName": "Same", "Email": "other@example.com"})
	handle, _ := w.sim.CreateRecord("Contact", map[string]any{"LastName": "handleonly"})

	cUnique := w.escalate("a1", "una", "Una", "Unique", "hi", true)
	cNone := w.escalate("a2", "nora", "Nora", "Nobody", "hi", true)
	cSeveral := w.escalate("a3", "sam", "Sam", "Same", "hi", true)
	cHandle := w.escalate("a4", "handleonly", "", "", "hi", true)
	if errs := w.runEscalations(); len(errs) != 0 {
		t.Fatal(errs)
	}
	check := func(c map[string]any, wantContact string, without bool) map[string]any {
		t.Helper()
		got := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d", num(c["id"])), "sue", nil)
		sf := got["salesforce"].(map[string]any)
		rec, ok := w.sim.Record("Case", fmt.Sprint(sf["case_id"]))
		if !ok {
			t.Fatalf("case %d not in Salesforce: %v", num(c["id"]), got)
		}
		if wantContact != "" && (rec["ContactId"] != wantContact || sf["contact_id"] != wantContact) {
			t.Errorf("case %d: contact %v / %v, want %s", num(c["id"]), rec["ContactId"], sf["contact_id"], wantContact)
		}
		if sf["escalated_without_contact"] != without {
			t.Errorf("case %d: escalated_without_contact %v", num(c["id"]), sf["escalated_without_contact"])
		}
		return sf
	}
	check(cUnique, unique, false)
	check(cHandle, handle, false)
	sf := check(cNone, "", false)
	created, ok := w.sim.Record("Contact", sf["contact_id"].(string))
	if !ok || created["FirstName"] != "Nora" || created["LastName"] != "Nobody" {
		t.Fatalf("contact made for nobody: %v", created)
	}
	check(cSeveral, "", true)
	view := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d/salesforce", num(cSeveral["id"])), "sue", nil)
	if sugg := view["suggested_contacts"].([]any); len(sugg) != 2 || view["escalated_without_contact"] != true || view["contact"] != nil {
		t.Fatalf("suggestions: %v", view)
	}
	// Replays of the outbox entry do nothing more.
	for _, id := range []int64{num(cUnique["id"]), num(cNone["id"])} {
		if err := w.escalator.EscalateAutomatically(context.Background(), id, "community"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.sim.Records("Case")); n != 4 {
		t.Fatalf("%d Salesforce cases, want 4", n)
	}
}

func TestAutomaticEscalationWithoutContactSync(t *testing.T) {
	w := newWorld(t, strings.Replace(exampleMapping(t), "contact_sync: true", "contact_sync: false", 1))
	w.connect("sue", "default", holderSF)
	w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Una", "LastName": "Unique"})
	c := w.escalate("b1", "una", "Una", "Unique", "hi", true)
	if errs := w.runEscalations(); len(errs) != 0 {
		t.Fatal(errs)
	}
	got := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d", num(c["id"])), "sue", nil)
	sf := got["salesforce"].(map[string]any)
	if sf["case_id"] == nil || sf["escalated_without_contact"] != true || sf["contact_id"] != nil {
		t.Fatalf("without contact sync: %v", sf)
	}
	if n := len(w.sim.Records("Contact")); n != 1 {
		t.Fatalf("contact sync off made contacts: %d", n)
	}
	view := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d/salesforce", num(c["id"])), "sue", nil)
	if len(view["suggested_contacts"].([]any)) != 1 {
		t.Fatalf("suggestions: %v", view)
	}
}

func TestPreviewCallsNoSalesforce(t *testing.T) {
	w := connectedWorld(t)
	long := strings.Repeat("perfume ", 60) // longer than Subject's 255
	c := w.escalate("p1", "joe", "Joe", "Doe", long, false)
	path := fmt.Sprintf("/api/v1/cases/%d/salesforce/preview?object=case", num(c["id"]))
	before := w.sim.Stats().Total
	p := w.must(200, "GET", path, "alice", nil)
	if w.sim.Stats().Total != before {
		t.Fatal("preview called Salesforce")
	}
	if p["described"] != false || p["object"] != "Case" {
		t.Fatalf("preview before any describe: %v", p)
	}
	// Once the Case object was described (by another case's escalation),
	// previews shorten like the real thing.
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"LastName": "Doe"})
	c2 := w.escalate("p2", "zed", "Zed", "Doe", "short", false)
	w.linkContact(c2["customer_id"], contact)
	w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c2["id"])), "alice", nil)
	before = w.sim.Stats().Total
	p = w.must(200, "GET", path, "alice", nil)
	if w.sim.Stats().Total != before {
		t.Fatal("preview called Salesforce")
	}
	fields := p["fields"].(map[string]any)
	subject := fields["Subject"].(string)
	if p["described"] != true || !slices.Contains(toStrings(p["shortened"]), "Subject") || len([]rune(subject)) != 255 || !strings.HasSuffix(subject, "…") {
		t.Fatalf("preview after describe: %v (subject %d runes)", p, len([]rune(subject)))
	}
	if a := w.do("GET", fmt.Sprintf("/api/v1/cases/%d/salesforce/preview?object=account", num(c["id"])), "alice", nil); a.Status != 400 {
		t.Fatalf("bad object: %d", a.Status)
	}
	if p := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d/salesforce/preview?object=contact", num(c["id"])), "alice", nil); p["fields"].(map[string]any)["LastName"] != "Doe" {
		t.Fatalf("contact preview: %v", p)
	}
}

func TestOneTimeModeCarriesDigestOnly(t *testing.T) {
	w := newWorld(t, strings.Replace(exampleMapping(t), "mode: continuous", "mode: one_time", 1))
	w.connect("sue", "default", holderSF)
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"LastName": "Doe"})
	c := w.escalate("ot1", "joe", "Joe", "Doe", "first", false)
	w.ingest("ot2", "joe", "second")
	w.linkContact(c["customer_id"], contact)
	b := w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), "alice", nil)
	w.ingest("ot3", "joe", "after creation")
	rec, _ := w.sim.Record("Case", b["case"].(map[string]any)["id"].(string))
	desc := rec["Description"].(string)
	if !strings.Contains(desc, "first") || !strings.Contains(desc, "second") || strings.Contains(desc, "after creation") {
		t.Fatalf("one_time digest: %q", desc)
	}
	due, _ := w.store.OutboxDue(context.Background(), w.clock.Now(), 100, nil)
	for _, e := range due {
		if e.Kind == care.OpPushMessage || e.Kind == care.OpBackfill {
			t.Fatalf("one_time mode queued a message push: %+v", e)
		}
	}
}

// mustExternalKey checks that a Care case carries its external key, the
// value its Salesforce record is upserted by.
func mustExternalKey(t *testing.T, c map[string]any) {
	t.Helper()
	if k, _ := c["external_key"].(string); len(k) != care.ExternalKeyLen {
		t.Fatalf("case %v has no external key: %q", c["id"], c["external_key"])
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func TestDescriberUnknownObject(t *testing.T) {
	w := connectedWorld(t)
	conn, err := w.pool.Background(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := connector.Describer{Client: conn.Client}
	if _, err := d.Describe(context.Background(), "Nope__c"); !errors.Is(err, mapping.ErrObjectNotFound) {
		t.Fatalf("unknown object: %v", err)
	}
	info, err := d.Describe(context.Background(), "Case")
	if err != nil || info.Fields["Subject"].Length != 255 || !info.Fields["Care_Case_Id__c"].ExternalID {
		t.Fatalf("Case: %v %+v", err, info)
	}
}

// A Salesforce case deleted there (found by the poller: deleted_at) may be
// made again by hand: a new record upserted by the same external key, the
// link moved to it, deleted_at cleared and replies locked again; while the
// record lives, a second create is already_escalated.
func TestEscalateAgainAfterDeleteInSalesforce(t *testing.T) {
	w := connectedWorld(t)
	c := w.escalate("d1", "dana", "Dana", "Doe", "Where is my parcel?", false)
	id := num(c["id"])
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Dana", "LastName": "Doe"})
	w.linkContact(c["customer_id"], contact)
	casePath := fmt.Sprintf("/api/v1/cases/%d/salesforce/case", id)
	first := w.must(201, "POST", casePath, "alice", nil)["case"].(map[string]any)["id"].(string)
	if a := w.do("POST", casePath, "alice", nil); a.Status != 409 || a.Code() != "already_escalated" {
		t.Fatalf("second create while the record lives: %d %s", a.Status, a.Raw)
	}
	if err := w.sim.DeleteRecord("Case", first); err != nil {
		t.Fatal(err)
	}
	deleted := w.clock.Now()
	if _, err := w.store.SetSalesforceLink(context.Background(), int64(id), func(l *care.SalesforceLink) { l.DeletedAt = &deleted }); err != nil {
		t.Fatal(err)
	}
	again := w.must(201, "POST", casePath, "alice", nil)["case"].(map[string]any)["id"].(string)
	if again == first {
		t.Fatalf("made again as the deleted record %s", again)
	}
	rec, ok := w.sim.Record("Case", again)
	if !ok || rec["Care_Case_Id__c"] != c["external_key"] {
		t.Fatalf("new record: %v", rec)
	}
	got := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d", id), "alice", nil)
	sf := got["salesforce"].(map[string]any)
	if sf["case_id"] != again || sf["deleted_at"] != nil || got["locked_for_reply"] != true {
		t.Fatalf("Care case after escalating again: %v", got)
	}
}

// TestCaseCreatedWithoutExternalIDField: a mapping without the case
// external id field creates the case without an upsert, and the link says
// no field was written: the status poller names such a case by Id, even
// where another field of the mapping holds the key.
func TestCaseCreatedWithoutExternalIDField(t *testing.T) {
	w := newWorld(t, strings.Replace(exampleMapping(t), "  external_id_field: Care_Case_Id__c", "", 1))
	w.connect("sue", "default", holderSF)
	c := w.escalate("x1", "xia", "Xia", "Xu", "hi", true)
	if errs := w.runEscalations(); len(errs) != 0 {
		t.Fatal(errs)
	}
	stored, err := w.store.Case(context.Background(), care.User{}, int64(num(c["id"])))
	if err != nil || stored.Salesforce.CaseID == "" || stored.Salesforce.ExternalIDField != "" {
		t.Fatalf("created without the external id field: %+v %v", stored.Salesforce, err)
	}
}
