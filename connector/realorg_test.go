package connector_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/tokens"
)

// What a production org does to escalation (SPEC §11, §12 "Overrides").

// An org's assignment rule never moves the owner of what we create, unless
// the mapping section asks for it on create; its alert-only Contact rule
// does not fail a contact create.
func TestStrictOrgAssignmentAndAlerts(t *testing.T) {
	w := newWorldWith(t, exampleMapping(t), sfsim.Options{Strict: true})
	w.connect("sue", "default", holderSF)
	queue := w.sim.Org().SupportQueueID

	c := w.escalate("a1", "joe", "Joe", "Doe", "Hi", false)
	cu := num(c["customer_id"])
	// The same contact twice: the Contact rule only alerts, allowSave saves.
	for range 2 {
		w.must(201, "POST", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", cu), "alice",
			map[string]any{"fields": map[string]any{"Email": "joe@example.com"}})
	}
	b := w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), "alice", nil)
	rec, _ := w.sim.Record("Case", b["case"].(map[string]any)["id"].(string))
	if rec["OwnerId"] == queue {
		t.Fatalf("the assignment rule moved the new case to the queue")
	}

	// assignment_rules: true lets the rule run on create.
	w.reloadMapping(strings.Replace(exampleMapping(t), "case:\n  object: Case\n", "case:\n  object: Case\n  assignment_rules: true\n", 1))
	c2 := w.escalate("a2", "ann", "Ann", "Lee", "Hello", false)
	w.linkContact(c2["customer_id"], rec["ContactId"].(string))
	b = w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c2["id"])), "alice", nil)
	if rec, _ := w.sim.Record("Case", b["case"].(map[string]any)["id"].(string)); rec["OwnerId"] != queue {
		t.Fatalf("assignment_rules: true, owner %v, want the queue %s", rec["OwnerId"], queue)
	}
}

// A blocking duplicate rule answers 409 salesforce_duplicate with the
// records it matched, and nothing is made.
func TestBlockingDuplicateLead(t *testing.T) {
	yaml := strings.Replace(exampleMapping(t), "    Company: { value: \"Social customer\" }\n",
		"    Company: { value: \"Social customer\" }\n  overridable: [LastName, Company, Email]\n", 1)
	w := newWorldWith(t, yaml, sfsim.Options{Strict: true})
	w.connect("sue", "default", holderSF)
	existing, err := w.sim.CreateRecord("Lead", map[string]any{"LastName": "Doe", "Company": "Acme", "Email": "joe@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	c := w.escalate("d1", "joe", "Joe", "Doe", "Hi", false)
	a := w.do("POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/lead", num(c["id"])), "alice",
		map[string]any{"fields": map[string]any{"Email": "JOE@example.com"}})
	e, _ := a.Body["error"].(map[string]any)
	if a.Status != 409 || a.Code() != "salesforce_duplicate" || !slices.Equal(toStrings(e["matches"]), []string{existing}) || e["message"] == "" {
		t.Fatalf("duplicate lead: %d %s", a.Status, a.Raw)
	}
	if n := len(w.sim.Records("Lead")); n != 1 {
		t.Fatalf("%d leads after a blocked duplicate", n)
	}
	if got := w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d", num(c["id"])), "alice", nil); got["salesforce"].(map[string]any)["lead_id"] != nil {
		t.Fatalf("blocked lead recorded: %v", got["salesforce"])
	}
	// Another email goes through.
	w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/lead", num(c["id"])), "alice",
		map[string]any{"fields": map[string]any{"Email": "joe.doe@example.com"}})
}

// Overrides of fields the mapping does not let callers set are refused
// with 400 field_not_overridable naming them, before any Salesforce call.
func TestOverridesRefused(t *testing.T) {
	w := connectedWorld(t)
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe"})
	c := w.escalate("o1", "joe", "Joe", "Doe", "Hi", false)
	w.linkContact(c["customer_id"], contact)
	w.sim.ResetStats()
	for _, tc := range []struct {
		path   string
		fields map[string]any
		want   []string
	}{
		{fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), map[string]any{"Care_Case_Id__c": "01JOTHERCUSTOMERSKEY000000", "Subject": "ok"}, []string{"Care_Case_Id__c"}},
		{fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), map[string]any{"OwnerId": "005000000000000AAA", "ContactId": "003000000000000AAA"}, []string{"ContactId", "OwnerId"}},
		{fmt.Sprintf("/api/v1/cases/%d/salesforce/lead", num(c["id"])), map[string]any{"Id": "00Q000000000000AAA"}, []string{"Id"}},
		{fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", num(c["customer_id"])), map[string]any{"AccountId": "001000000000000AAA"}, []string{"AccountId"}},
	} {
		a := w.do("POST", tc.path, "alice", map[string]any{"fields": tc.fields})
		e, _ := a.Body["error"].(map[string]any)
		if a.Status != 400 || a.Code() != "field_not_overridable" || !slices.Equal(toStrings(e["fields"]), tc.want) {
			t.Errorf("%s %v: %d %s", tc.path, tc.fields, a.Status, a.Raw)
		}
	}
	// Overrides are bounded like case fields (SPEC §12): too long a value,
	// too many fields — 400 too_large naming the field, never its value.
	many := map[string]any{}
	for i := range 51 {
		many[fmt.Sprintf("F%02d__c", i)] = "x"
	}
	for _, tc := range []struct {
		path   string
		fields map[string]any
		want   string
	}{
		{fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), map[string]any{"Subject": strings.Repeat("s", 4097)}, `fields[\"Subject\"]`},
		{fmt.Sprintf("/api/v1/cases/%d/salesforce/lead", num(c["id"])), many, "fields: 51"},
		{fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", num(c["customer_id"])), map[string]any{"Email": map[string]any{"deep": strings.Repeat("e", 5000)}}, `fields[\"Email\"]`},
	} {
		a := w.do("POST", tc.path, "alice", map[string]any{"fields": tc.fields})
		if a.Status != 400 || a.Code() != "too_large" || !strings.Contains(string(a.Raw), tc.want) || strings.Contains(string(a.Raw), "sssss") || strings.Contains(string(a.Raw), "eeeee") {
			t.Errorf("%s: %d %s", tc.path, a.Status, a.Raw)
		}
	}
	if st := w.sim.Stats(); st.Total != 0 || len(w.sim.Records("Case")) != 0 {
		t.Fatalf("refused overrides called Salesforce: %+v", st)
	}
	// Refused even while no token is healthy: the request is wrong, not
	// the connection.
	w.sim.RevokeUser(holderSF)
	if a := w.do("POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), "alice",
		map[string]any{"fields": map[string]any{"OwnerId": "005000000000000AAA"}}); a.Status != 400 || a.Code() != "field_not_overridable" {
		t.Fatalf("without a token: %d %s", a.Status, a.Raw)
	}
}

// A personal token whose user may not create a mapped field creates
// nothing as that user: the record is made under the default token and the
// answer says why. The user's describe is cached, and dropped by a mapping
// reload and after an hour.
func TestRightsPerToken(t *testing.T) {
	w := connectedWorld(t)
	if _, err := w.sim.CreateUserWith(sfsim.NewUser{Username: aliceSF, LastName: "Agent", Profile: sfsim.ProfileRestricted}); err != nil {
		t.Fatal(err)
	}
	w.connect("alice", "user", aliceSF)
	w.sim.CreateUser("bob@acme.test", "Bob", "Agent", "bob@acme.test")
	w.connect("bob", "user", "bob@acme.test")
	holder, _ := w.sim.User(holderSF)
	bob, _ := w.sim.User("bob@acme.test")
	alice, _ := w.sim.User(aliceSF)
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe"})

	escalate := func(ext, user string) (map[string]any, map[string]any) {
		t.Helper()
		c := w.escalate(ext, "cust-"+ext, "Cust", ext, "Hi", false)
		w.linkContact(c["customer_id"], contact)
		b := w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", num(c["id"])), user, nil)
		rec, _ := w.sim.Record("Case", b["case"].(map[string]any)["id"].(string))
		return b, rec
	}
	b, rec := escalate("r1", "alice")
	if b["created_as"] != "default" || !strings.Contains(fmt.Sprint(b["reason"]), "Care_Agent_Email__c") ||
		rec["CreatedById"] != holder.ID || rec["Care_Agent_Email__c"] != "alice@example.com" {
		t.Fatalf("restricted user's case: %v, created by %v", b, rec["CreatedById"])
	}
	if b, rec := escalate("r2", "bob"); b["created_as"] != "user" || b["reason"] != nil || rec["CreatedById"] != bob.ID {
		t.Fatalf("standard user's case: %v, created by %v", b, rec["CreatedById"])
	}
	// Alice may create every field of a lead and a contact: as herself.
	c := w.escalate("r3", "lead", "", "", "Hi", false)
	lb := w.must(201, "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/lead", num(c["id"])), "alice", nil)
	if lead, _ := w.sim.Record("Lead", lb["lead"].(map[string]any)["id"].(string)); lb["created_as"] != "user" || lead["CreatedById"] != alice.ID {
		t.Fatalf("restricted user's lead: %v", lb)
	}
	cb := w.must(201, "POST", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", num(c["customer_id"])), "alice", map[string]any{})
	if cb["created_as"] != "user" {
		t.Fatalf("restricted user's contact: %v", cb)
	}
	// Sue has no token of her own: the default token, and the reason.
	if b, _ := escalate("r4", "sue"); b["created_as"] != "default" || b["reason"] == nil {
		t.Fatalf("unconnected user's case: %v", b)
	}

	describes := func() int64 { return w.sim.Stats().ByOperation["describe"] }
	n := describes()
	if b, _ := escalate("r5", "alice"); b["created_as"] != "default" || describes() != n {
		t.Fatalf("second case of alice: %v, %d describes (cached: want none)", b, describes()-n)
	}
	w.clock.Advance(61 * time.Minute)
	if escalate("r6", "alice"); describes() == n {
		t.Fatal("an hour later the user's describe was not read again")
	}
	n = describes()
	w.reloadMapping(exampleMapping(t) + "\n")
	if escalate("r7", "alice"); describes() == n {
		t.Fatal("after a mapping reload the user's describe was not read again")
	}
}

// faultOnCall injects a Salesforce fault right before the nth piece of work
// the escalator hands the token pool, so that one chosen call fails.
type faultOnCall struct {
	connector.Tokens
	sim   *sfsim.Server
	n, at atomic.Int32
	fault sfsim.Fault
}

func (f *faultOnCall) DoForUser(ctx context.Context, userID string, fn func(*tokens.Conn) error) error {
	if f.n.Add(1) == f.at.Load() {
		f.sim.InjectFault(f.fault)
	}
	return f.Tokens.DoForUser(ctx, userID, fn)
}

// Linking (or creating) a contact for the customer of cases escalated
// without one gives their Salesforce cases the contact and clears the
// marker; a case Salesforce refuses keeps it, and linking again retries.
func TestLateContact(t *testing.T) {
	w := newWorld(t, strings.Replace(exampleMapping(t), "contact_sync: true", "contact_sync: false", 1))
	w.connect("sue", "default", holderSF)
	c1 := w.escalate("l1", "joe", "Joe", "Doe", "first", true)
	if errs := w.runEscalations(); len(errs) > 0 {
		t.Fatal(errs)
	}
	view := func(c map[string]any) map[string]any {
		return w.must(200, "GET", fmt.Sprintf("/api/v1/cases/%d", num(c["id"])), "alice", nil)["salesforce"].(map[string]any)
	}
	sf1 := view(c1)
	if sf1["escalated_without_contact"] != true || sf1["case_id"] == nil {
		t.Fatalf("escalated: %v", sf1)
	}
	// Salesforce refuses the first case update: the link stands, the
	// case keeps its marker.
	contact, _ := w.sim.CreateRecord("Contact", map[string]any{"FirstName": "Joe", "LastName": "Doe"})
	faulty := &faultOnCall{Tokens: w.pool, sim: w.sim, fault: sfsim.Fault{Kind: sfsim.FaultUnableToLockRow, Count: 1}}
	faulty.at.Store(2) // 1: read the contact, 2: update the case
	w.escalator.Tokens = faulty
	b := w.linkContact(c1["customer_id"], contact)
	late := b["late_contact"].(map[string]any)
	if !slices.Equal(toStrings(late["pending"]), []string{fmt.Sprint(num(c1["id"]))}) || len(toStrings(late["updated"])) != 0 {
		t.Fatalf("late contact after a refusal: %v", late)
	}
	if sf := view(c1); sf["escalated_without_contact"] != true {
		t.Fatalf("marker cleared though Salesforce refused: %v", sf)
	}
	if rec, _ := w.sim.Record("Case", sf1["case_id"].(string)); rec["ContactId"] != nil {
		t.Fatalf("Salesforce case has contact %v", rec["ContactId"])
	}
	w.escalator.Tokens = w.pool

	// Linking again retries.
	b = w.linkContact(c1["customer_id"], contact)
	if !slices.Equal(toStrings(b["late_contact"].(map[string]any)["updated"]), []string{fmt.Sprint(num(c1["id"]))}) {
		t.Fatalf("late contact on retry: %v", b["late_contact"])
	}
	if rec, _ := w.sim.Record("Case", sf1["case_id"].(string)); rec["ContactId"] != contact {
		t.Fatalf("Salesforce case contact %v, want %s", rec["ContactId"], contact)
	}
	if sf := view(c1); sf["escalated_without_contact"] != false || sf["contact_id"] != contact {
		t.Fatalf("Care case after the late contact: %v", sf)
	}

	// Creating a contact does the same.
	w.must(200, "DELETE", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", num(c1["customer_id"])), "alice", nil)
	c2 := w.escalate("l2", "ann", "Ann", "Lee", "second", true)
	if errs := w.runEscalations(); len(errs) > 0 {
		t.Fatal(errs)
	}
	sf2 := view(c2)
	b = w.must(201, "POST", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", num(c2["customer_id"])), "alice", map[string]any{})
	made := b["contact"].(map[string]any)["id"].(string)
	if rec, _ := w.sim.Record("Case", sf2["case_id"].(string)); rec["ContactId"] != made {
		t.Fatalf("Salesforce case contact %v, want the new %s", rec["ContactId"], made)
	}
	if sf := view(c2); sf["escalated_without_contact"] != false {
		t.Fatalf("marker kept after a contact was created: %v", sf)
	}
}
