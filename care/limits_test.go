package care_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carebridge/carebridge/care"
)

// bigStore is a Care service that answers longer listings than any page
// (as a store with a bug, or one asked without a limit, might).
type bigStore struct {
	care.Service
	n int
}

func (b bigStore) Messages(context.Context, care.User, int64, int, string) ([]care.Message, error) {
	out := make([]care.Message, b.n)
	for i := range out {
		out[i].ID = string(rune('a' + i%26))
		out[i].CaseID = int64(i) // the position, oldest first
	}
	return out, nil
}

func (b bigStore) CustomerCases(context.Context, care.User, int64) ([]care.Case, error) {
	out := make([]care.Case, b.n)
	for i := range out {
		out[i].ID = int64(b.n - i) // newest first
	}
	return out, nil
}

func TestGuardBoundsListings(t *testing.T) {
	g := care.Guard(bigStore{n: 600}, care.Policy{})
	sue := care.User{ID: "sue", Role: care.RoleSupervisor}
	msgs, err := g.Messages(context.Background(), sue, 1, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != care.MaxMessagesPage || msgs[0].CaseID != 100 || msgs[499].CaseID != 599 {
		t.Fatalf("got %d messages from position %d, want the latest 500", len(msgs), msgs[0].CaseID)
	}
	if _, err := g.Messages(context.Background(), sue, 1, 501, ""); care.ErrorCode(err) != care.CodeInvalidArgument {
		t.Fatalf("limit 501: %v", err)
	}
	cases, err := g.CustomerCases(context.Background(), sue, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != care.MaxPageLimit || cases[0].ID != 600 {
		t.Fatalf("got %d cases from %d, want the newest 500", len(cases), cases[0].ID)
	}
	if care.Guard(g, care.Policy{}) != g {
		t.Error("guarding a guarded service wrapped it again")
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	got := care.Limits{MessageTextBytes: 10, Mentions: -1}.WithDefaults()
	want := care.DefaultLimits()
	want.MessageTextBytes = 10
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if d := care.DefaultLimits(); d.MessageTextBytes != 65536 || d.NameChars != 255 || d.Attachments != 20 ||
		d.AttachmentURLChars != 2048 || d.CaseFields != 50 || d.FieldValueBytes != 4096 || d.Mentions != 20 {
		t.Fatalf("defaults differ from SPEC §12: %+v", d)
	}
}

// FuzzLimits: no input makes a check panic, an accepted value is within its
// limit, and a refusal never echoes the value.
func FuzzLimits(f *testing.F) {
	for _, s := range []string{"", "hi", "é", "a\x00b", "\xff", strings.Repeat("Z", 300), "line\nbreak", "\u2028"} {
		f.Add(s, 1)
	}
	lim := care.Limits{MessageTextBytes: 64, NameChars: 8, Attachments: 2, AttachmentURLChars: 16, CaseFields: 2,
		FieldValueBytes: 16, Mentions: 2, FieldNameChars: 8, IDBytes: 8, EmailChars: 12}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = max(0, min(n, 4))
		in := care.IncomingMessage{ExternalID: "x", Platform: "p", Customer: care.CustomerInput{PlatformUserID: "u", Username: s},
			Author: s, Text: strings.Repeat(s, n)}
		for range n {
			in.Attachments = append(in.Attachments, care.Attachment{URL: s})
		}
		esc := care.EscalateInput{Message: in, Fields: map[string]string{"f": s}}
		patch := care.CasePatch{Fields: map[string]*string{"f": &s}}
		patch.Assignee.Value = s
		for _, err := range []error{
			lim.CheckIncoming(&in, ""), lim.CheckEscalate(&esc), lim.CheckCasePatch(&patch),
			lim.CheckNewMessage(&care.NewMessage{Kind: "note", Text: s, Mentions: []string{s}}),
			lim.CheckCustomerPatch(&care.CustomerPatch{FirstName: &s, Email: &s}),
		} {
			if err == nil {
				if len(in.Text) > 64 || utf8.RuneCountInString(s) > 8 || !utf8.ValidString(s) {
					t.Fatalf("accepted %q", s)
				}
				continue
			}
			if c := care.ErrorCode(err); c != care.CodeTooLarge && c != care.CodeInvalidArgument {
				t.Fatalf("code %q for %q", c, s)
			}
			if len(s) > 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q echoes the value", err)
			}
		}
	})
}
