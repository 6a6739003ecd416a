package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
)

func TestParseExampleModel(t *testing.T) {
	m := exampleMapping(t)
	if m.Version != 1 || !m.ContactSync {
		t.Errorf("version %d, contact_sync %v", m.Version, m.ContactSync)
	}
	if m.Case.Object != "Case" || m.Case.ExternalIDField != "Care_Case_Id__c" || m.Case.RecordType != "" {
		t.Errorf("case section: %+v", m.Case)
	}
	pr, ok := m.Case.Field("priority")
	if !ok || pr.Value.Form != FormFrom || pr.Value.From.Name != "case.priority" || len(pr.Value.Map) != 4 {
		t.Fatalf("Priority: %+v", pr)
	}
	if pr.Pos != (Pos{Line: 15, Col: 5}) || pr.Value.Map[0].KeyPos != (Pos{Line: 15, Col: 45}) {
		t.Errorf("Priority positions %v %v", pr.Pos, pr.Value.Map[0].KeyPos)
	}
	last, _ := m.Contact.Field("LastName")
	if last.Value.Default == nil || last.Value.Default.Text != "{customer.username}" {
		t.Errorf("LastName default: %+v", last.Value)
	}
	if m.MessagesMode() != MessagesContinuous || m.Messages.ParentField != "Case__c" {
		t.Errorf("messages: %+v", m.Messages)
	}
	s := m.Status
	if s.Mode != StatusBidirectional || s.CareField != "status" || s.DefaultRule || len(s.Conditions) != 2 {
		t.Errorf("status: %+v", s)
	}
	if s.ToSalesforce[care.StatusOnHold] != "Escalated" || s.FromSalesforce["Closed"] != "done" {
		t.Errorf("status maps: %v %v", s.ToSalesforce, s.FromSalesforce)
	}
	if c := s.Conditions[1].When; c.Field != "Team ownership" || c.Equals != "Salesforce" {
		t.Errorf("condition: %+v", c)
	}
	// The model marshals for GET /api/v1/mapping.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"from":"case.priority"`, `"template":"Social case #{case.id}: {messages.first.text}"`, `"value":"Social"`, `"default":"{customer.username}"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

func TestParseErrorsAs(t *testing.T) {
	_, err := Parse("bad.yaml", []byte("version: 2\nfoo: 1\n"))
	var pe *ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 2 {
		t.Fatalf("err = %v", err)
	}
	want := "bad.yaml:1:10: version must be 1, not \"2\"\nbad.yaml:2:1: the mapping file: unknown key \"foo\""
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
}

func TestParseForms(t *testing.T) {
	m := mustParse(t, "f.yaml", `version: 1
case:
  object: Case
  fields:
    A: case.id
    B: { from: case.status, default: none }
    C: { value: 3 }
    D: { template: "{{x}} {case.field.Team ownership}" }
    E: &shared { value: shared }
    F: *shared
`)
	want := []Form{FormFrom, FormFrom, FormConst, FormTemplate, FormConst, FormConst}
	if len(m.Case.Fields) != len(want) {
		t.Fatalf("%d fields", len(m.Case.Fields))
	}
	for i, f := range m.Case.Fields {
		if f.Value.Form != want[i] {
			t.Errorf("%s: form %v, want %v", f.Name, f.Value.Form, want[i])
		}
	}
	r, err := m.Render(ObjectCase, sampleInput(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fields["C"] != int64(3) || r.Fields["D"] != "{x} Salesforce" || r.Fields["F"] != "shared" || r.Fields["B"] != "open" {
		t.Errorf("fields: %v", r.Fields)
	}
}

func TestLexTemplate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		paths []string
		errs  []int
	}{
		{"plain", nil, nil},
		{"{a}", []string{"a"}, nil},
		{"x{ a }y{b}", []string{"a", "b"}, nil},
		{"{{a}}", nil, nil},
		{"{a", nil, []int{0}},
		{"a}", nil, []int{1}},
		{"{}", nil, []int{0}},
		{"{a{b}", []string{"b"}, []int{0}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			toks, errs := lexTemplate(tc.in)
			var paths []string
			for _, tok := range toks {
				if tok.path != "" {
					paths = append(paths, tok.path)
				}
			}
			var offs []int
			for _, e := range errs {
				offs = append(offs, e.offset)
			}
			if strings.Join(paths, ",") != strings.Join(tc.paths, ",") || len(offs) != len(tc.errs) {
				t.Fatalf("paths %v errs %v; want %v %v", paths, offs, tc.paths, tc.errs)
			}
			for i := range offs {
				if offs[i] != tc.errs[i] {
					t.Errorf("error offsets %v, want %v", offs, tc.errs)
				}
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"contact", "case", "lead", "messages", "status", "external_id_field"}
	for _, tc := range []struct{ in, want string }{
		{"contcat", "contact"},
		{"Case", "case"},
		{"stauts", "status"},
		{"external_id", "external_id_field"},
		{"zzz", ""},
		{"messages", ""}, // an exact name suggests nothing
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := suggest(tc.in, cands)
			want := ""
			if tc.want != "" {
				want = ` (did you mean "` + tc.want + `"?)`
			}
			if got != want {
				t.Errorf("suggest(%q) = %q, want %q", tc.in, got, want)
			}
		})
	}
}

// TestParseDocuments accepts an empty document after the mapping (a
// trailing "---") and refuses any document with content.
func TestParseDocuments(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"trailing separator", "version: 1\n---\n", ""},
		{"trailing separator and comment", "version: 1\n---\n# end\n", ""},
		{"null second document", "version: 1\n---\n~\n", ""},
		{"document end marker", "version: 1\n...\n", ""},
		{"second document", "version: 1\n---\nversion: 1\n", "d.yaml:2:1: only one YAML document is allowed"},
		{"content after an empty document", "version: 1\n---\n---\nfoo: 1\n", "d.yaml:3:1: only one YAML document is allowed"},
		{"syntax error in a later document", "version: 1\n---\nfoo: [\n", "d.yaml:3:1: YAML: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("d.yaml", []byte(tc.src))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Parse = %q, want %q", got, tc.want)
			}
		})
	}
}
