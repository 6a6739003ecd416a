package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func msg(id string, sent string, dir care.Direction, author, text string) care.Message {
	return care.Message{ID: id, ExternalKey: "key-" + id, ExternalID: "x-" + id, CaseID: 42, Platform: "twitter", Direction: dir,
		Kind: care.KindMessage, Type: care.TypeDirectMessage, Author: author, Text: text, SentAt: at(sent)}
}

// sampleInput is a case of Joe Doe with messages out of order, a note and
// a non-UTC timestamp.
func sampleInput() Input {
	note := msg("m-note", "2025-07-31T12:30:00Z", care.Outbound, "Alice Agent", "internal: check stock")
	note.Kind = care.KindNote
	return Input{
		Case: care.Case{ID: 42, ExternalKey: "01J4ZK6V8QW2E9ZX0C3B5N7M1D", Status: care.StatusOpen, Priority: care.PriorityUrgent, Sentiment: care.SentimentNegative,
			Platform: "twitter", ProfileID: "brand-1", CreatedAt: at("2025-07-31T12:00:05Z"),
			Fields: map[string]string{"Team ownership": "Salesforce"}},
		Customer: care.Customer{CustomerIdentity: care.CustomerIdentity{ID: 7, Platform: "twitter", PlatformUserID: "u-77", Username: "joedoe", FirstName: "Joe", LastName: "Doe"}, Email: "joe@example.com"},
		Agent:    care.User{ID: "alice", Name: "Alice Agent", Email: "alice@example.com", Role: care.RoleAgent},
		Messages: []care.Message{
			msg("m-2", "2025-07-31T14:05:00+02:00", care.Outbound, "Brand", "Yes! Hibiscus and vanilla 🌺"),
			msg("m-1", "2025-07-31T12:00:00Z", care.Inbound, "Joe Doe", "Hi, does your new perfume have hibiscus in it?"),
			note,
			msg("m-3", "2025-07-31T12:10:00Z", care.Inbound, "Joe Doe", "Great, thanks!\nOrdering now."),
		},
		CaseURL: "https://care.example.com/cases/42",
	}
}

// digestMapping maps every digest form into unconstrained fields.
const digestMapping = `version: 1
case:
  object: Case
  fields:
    First: messages.first
    Latest: messages.latest
    Last10: messages.last_10
    FirstText: messages.first.text
    LatestText: messages.latest.text
    Subject: { template: "Social case #{case.id}: {messages.first.text}" }
`

// shortMapping writes long values into short fields.
const shortMapping = `version: 1
case:
  object: Ticket__c
  overridable: [Subject__c, Tiny__c, Amount__c, note__c]
  fields:
    Subject__c: { template: "Social case #{case.id}: {messages.first.text}" }
    Digest__c: messages.last_10
    Tiny__c: messages.latest
    Emoji__c: messages.latest.text
    Family__c: { value: "ab👨‍👩‍👧‍👦cd" }
    Flags__c: { value: "x🇫🇷🇩🇪🇮🇹" }
    Accent__c: { value: "cafe\u0301s" }
    Spaces__c: { value: "abc     def" }
`

func shortInfo() *ObjectInfo {
	text := func(n int) FieldInfo {
		return FieldInfo{Type: "string", Length: n, Createable: true, Updateable: true, Nillable: true}
	}
	return &ObjectInfo{Name: "Ticket__c", Fields: map[string]FieldInfo{
		"Subject__c": text(24),
		"Digest__c":  {Type: "textarea", Length: 110, Createable: true, Nillable: true},
		"Tiny__c":    text(20),
		"Emoji__c":   text(6),
		"Family__c":  text(8),
		"Flags__c":   text(5),
		"Accent__c":  text(5),
		"Spaces__c":  text(8),
		"Note__c":    text(10),
		"Amount__c":  {Type: "currency", Createable: true, Nillable: true},
		"Locked__c":  {Type: "string", Length: 10},
	}}
}

// typesMapping writes sources into every field type.
const typesMapping = `version: 1
case:
  object: Types__c
  fields:
    Created_Date__c: case.created_at
    Created_DT__c: case.created_at
    Created_Text__c: case.created_at
    Id_Double__c: case.id
    Id_Int__c: case.id
    Id_Text__c: case.id
    Flag__c: { value: true }
    Flag_Text__c: { value: true }
    Count__c: { value: "17" }
    Ratio__c: { value: 0.25 }
    Hot__c: { from: case.priority, map: { urgent: true, high: true }, default: "false" }
    Due__c: { value: "2025-08-01" }
    Due_DT__c: { value: "2025-08-01T10:00:00+02:00" }
    Team__c: case.field.Team ownership
    Missing__c: case.field.Nope
    Sentiment__c: { from: case.sentiment, map: { positive: Good } }
    Link__c: case.url
`

func typesInfo() *ObjectInfo {
	f := func(typ string) FieldInfo {
		return FieldInfo{Type: typ, Createable: true, Updateable: true, Nillable: true}
	}
	return &ObjectInfo{Name: "Types__c", Fields: map[string]FieldInfo{
		"Created_Date__c": f("date"), "Created_DT__c": f("datetime"), "Created_Text__c": f("string"),
		"Id_Double__c": f("double"), "Id_Int__c": f("int"), "Id_Text__c": f("string"),
		"Flag__c": f("boolean"), "Flag_Text__c": f("string"), "Count__c": f("int"), "Ratio__c": f("percent"),
		"Hot__c": f("boolean"), "Due__c": f("date"), "Due_DT__c": f("datetime"), "Team__c": f("picklist"),
		"Missing__c": f("string"), "Sentiment__c": f("picklist"), "Link__c": f("url"),
	}}
}

func exampleMapping(t testing.TB) *Mapping {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, "example.yaml", string(data))
}

func TestRenderGolden(t *testing.T) {
	sf := sfsim(t)
	ex := exampleMapping(t)
	noLast := sampleInput()
	noLast.Customer.LastName = ""
	empty := sampleInput()
	empty.Messages = nil
	unicode := sampleInput()
	unicode.Messages = []care.Message{
		msg("u-1", "2025-07-31T09:00:00Z", care.Inbound, "Zoë Ünal", "Grüße aus München — 日本語もOK"),
		msg("u-2", "2025-07-31T09:00:00Z", care.Inbound, "Zoë Ünal", ""),
		msg("u-3", "2025-07-31T09:00:00Z", care.Outbound, "Brand 🌺", "👨‍👩‍👧‍👦 🇫🇷 👍🏽"),
		msg("u-4", "2025-07-31T08:59:59.999Z", care.Inbound, "", "\r\nline\rbreaks\u2028too"),
	}
	many := sampleInput()
	many.Messages = nil
	for i := 12; i >= 1; i-- {
		many.Messages = append(many.Messages, msg("n-"+string(rune('a'+i)), at("2025-07-31T10:00:00Z").Add(time.Duration(i)*time.Minute).Format(time.RFC3339), care.Inbound, "Joe Doe", strings.Repeat("x", i)))
	}
	overrides := sampleInput()
	overrides.Overrides = map[string]any{"Subject__c": "An agent's own subject that is far too long", "Amount__c": 12.5, "Tiny__c": nil, "note__c": "short"}

	for _, tc := range []struct {
		name string
		m    *Mapping
		obj  Object
		in   Input
		info *ObjectInfo
	}{
		{"case_example", ex, ObjectCase, sampleInput(), sf["Case"]},
		{"case_no_describe", ex, ObjectCase, sampleInput(), nil},
		{"case_no_messages", ex, ObjectCase, empty, sf["Case"]},
		{"contact_example", ex, ObjectContact, sampleInput(), sf["Contact"]},
		{"contact_default_username", ex, ObjectContact, noLast, sf["Contact"]},
		{"lead_example", ex, ObjectLead, noLast, sf["Lead"]},
		{"digests", mustParse(t, "d.yaml", digestMapping), ObjectCase, sampleInput(), nil},
		{"digests_unicode", mustParse(t, "d.yaml", digestMapping), ObjectCase, unicode, nil},
		{"digests_last_10_of_12", mustParse(t, "d.yaml", digestMapping), ObjectCase, many, nil},
		{"digests_empty", mustParse(t, "d.yaml", digestMapping), ObjectCase, empty, nil},
		{"shortening", mustParse(t, "s.yaml", shortMapping), ObjectCase, sampleInput(), shortInfo()},
		{"shortening_unicode", mustParse(t, "s.yaml", shortMapping), ObjectCase, unicode, shortInfo()},
		{"shortening_overrides", mustParse(t, "s.yaml", shortMapping), ObjectCase, overrides, shortInfo()},
		{"types", mustParse(t, "t.yaml", typesMapping), ObjectCase, sampleInput(), typesInfo()},
		{"types_no_describe", mustParse(t, "t.yaml", typesMapping), ObjectCase, sampleInput(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.m.Render(tc.obj, tc.in, tc.info)
			if err != nil {
				t.Fatal(err)
			}
			checkFits(t, r, tc.info)
			golden(t, filepath.Join("render", tc.name+".golden"), marshal(t, r))
		})
	}
}

func TestRenderMessageGolden(t *testing.T) {
	sf := sfsim(t)
	ex := exampleMapping(t)
	in := sampleInput()
	for _, m := range in.Messages {
		if m.Kind == care.KindNote {
			continue
		}
		t.Run(m.ID, func(t *testing.T) {
			r, err := ex.RenderMessage(m, "500000000000001AAA", sf["Care_Social_Post__c"])
			if err != nil {
				t.Fatal(err)
			}
			if r.Fields["Case__c"] != "500000000000001AAA" || r.Fields["Care_Message_Id__c"] != m.ExternalKey || r.ExternalID != m.ExternalKey {
				t.Errorf("parent or external id not set: %v", r.Fields)
			}
			golden(t, filepath.Join("render", "message_"+m.ID+".golden"), marshal(t, r))
		})
	}
}

// checkFits asserts the record never holds a value longer than its field.
func checkFits(t *testing.T, r *Rendered, info *ObjectInfo) {
	t.Helper()
	for name, v := range r.Fields {
		f, ok := info.Field(name)
		s, isText := v.(string)
		if ok && isText && f.Length > 0 && Length(s) > f.Length {
			t.Errorf("%s: %d units > length %d: %q", name, Length(s), f.Length, s)
		}
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestRenderErrors(t *testing.T) {
	sf := sfsim(t)
	ex := exampleMapping(t)
	note := sampleInput().Messages[2]
	badOverride := sampleInput()
	badOverride.Overrides = map[string]any{"Nope__c": "x", "CaseNumber": "1", "Description": []any{"x"}}
	overridable := mustParse(t, "ov.yaml", "version: 1\ncase:\n  object: Case\n  overridable: [Nope__c, CaseNumber, Description]\n  fields:\n    Subject: customer.name\n")
	badType := mustParse(t, "b.yaml", "version: 1\ncase:\n  object: Case\n  fields:\n    Subject: customer.name\n    IsClosed: { value: maybe }\n")
	rtMapping := mustParse(t, "rt.yaml", "version: 1\ncase:\n  object: Case\n  record_type: Partner\n  fields:\n    Subject: customer.name\n")
	noExt := mustParse(t, "e.yaml", "version: 1\ncase:\n  object: Case\n  external_id_field: Care_Case_Id__c\n  fields:\n    Care_Case_Id__c: case.external_key\n")
	anon := sampleInput()
	anon.Case.ExternalKey = ""
	offStatus := mustParse(t, "o.yaml", "version: 1\nmessages:\n  mode: one_time\n")

	for _, tc := range []struct {
		name string
		run  func() (*Rendered, error)
		want []error
	}{
		{"no section", func() (*Rendered, error) { return offStatus.Render(ObjectCase, sampleInput(), nil) }, []error{ErrNotConfigured}},
		{"messages via Render", func() (*Rendered, error) { return ex.Render(ObjectMessages, sampleInput(), nil) }, []error{ErrNotConfigured}},
		{"one_time messages", func() (*Rendered, error) { return offStatus.RenderMessage(sampleInput().Messages[0], "500", nil) }, []error{ErrNotConfigured}},
		{"note", func() (*Rendered, error) { return ex.RenderMessage(note, "500", nil) }, []error{ErrNote}},
		{"bad overrides", func() (*Rendered, error) { return overridable.Render(ObjectCase, badOverride, sf["Case"]) }, []error{ErrUnknownField, ErrNotCreateable, ErrBadValue}},
		{"bad constant", func() (*Rendered, error) { return badType.Render(ObjectCase, sampleInput(), sf["Case"]) }, []error{ErrBadValue}},
		{"unknown record type", func() (*Rendered, error) { return rtMapping.Render(ObjectCase, sampleInput(), sf["Case"]) }, []error{ErrRecordType}},
		{"record type without describe", func() (*Rendered, error) { return rtMapping.Render(ObjectCase, sampleInput(), nil) }, []error{ErrRecordType}},
		{"empty external id", func() (*Rendered, error) { return noExt.Render(ObjectCase, anon, sf["Case"]) }, []error{ErrNoExternalID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.run()
			if err == nil {
				t.Fatalf("no error, rendered %v", r)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v is not %v", err, w)
				}
			}
			if tc.name == "bad overrides" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Object != "Case" {
					t.Errorf("no *FieldError for Case in %v", err)
				}
			}
		})
	}
}

func TestRenderRecordType(t *testing.T) {
	info := sfsim(t)["Case"]
	m := mustParse(t, "rt.yaml", "version: 1\ncase:\n  object: Case\n  record_type: Social\n  fields:\n    Subject: customer.name\n")
	r, err := m.Render(ObjectCase, sampleInput(), info)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Fields["RecordTypeId"]; got != "0125g00000SOCIAAA" {
		t.Errorf("RecordTypeId = %v", got)
	}
}

// TestRenderWithoutCase renders a contact for a customer alone (the API's
// create-contact call): case paths give nothing rather than zero values.
func TestRenderWithoutCase(t *testing.T) {
	m := mustParse(t, "c.yaml", `version: 1
contact:
  object: Contact
  fields:
    LastName: { from: customer.last_name, default: "{customer.username}" }
    Description: { template: "case {case.id} {case.created_at}" }
    Care_Case__c: case.id
    Since__c: case.created_at
`)
	in := Input{Customer: care.Customer{CustomerIdentity: care.CustomerIdentity{Username: "joedoe"}}}
	r, err := m.Render(ObjectContact, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"LastName": "joedoe", "Description": "case  "}
	if len(r.Fields) != len(want) || r.Fields["LastName"] != want["LastName"] || r.Fields["Description"] != want["Description"] {
		t.Errorf("fields %#v, want %#v", r.Fields, want)
	}
}
