package care

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits bound what one write may carry (SPEC §12), so no request can bloat
// the store or make a later answer huge. A zero field takes its default
// (DefaultLimits). Over a limit a write is refused with CodeTooLarge, naming
// the field and never echoing its value.
type Limits struct {
	MessageTextBytes   int // text of an ingested message, a reply or a note
	NameChars          int // author, customer first/last name and username (handle), attachment name and type
	Attachments        int // attachments per message
	AttachmentURLChars int // characters of an attachment's URL
	CaseFields         int // custom fields of a case, after a patch is merged
	FieldValueBytes    int // bytes of one custom field value
	Mentions           int // users one note mentions

	// Bounds beyond SPEC §12's list, for inputs that had none.
	FieldNameChars int // characters of a custom field's name
	IDBytes        int // external ids, platform names, platform user ids, profile ids, user ids
	EmailChars     int // a customer's email (RFC 5321 allows 254)
}

// DefaultLimits are the limits of SPEC §12 and the bounds carebridge adds.
func DefaultLimits() Limits {
	return Limits{
		MessageTextBytes:   65536,
		NameChars:          255,
		Attachments:        20,
		AttachmentURLChars: 2048,
		CaseFields:         50,
		FieldValueBytes:    4096,
		Mentions:           20,
		FieldNameChars:     255,
		IDBytes:            256,
		EmailChars:         254,
	}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, def *int }{
		{&l.MessageTextBytes, &d.MessageTextBytes}, {&l.NameChars, &d.NameChars},
		{&l.Attachments, &d.Attachments}, {&l.AttachmentURLChars, &d.AttachmentURLChars},
		{&l.CaseFields, &d.CaseFields}, {&l.FieldValueBytes, &d.FieldValueBytes},
		{&l.Mentions, &d.Mentions}, {&l.FieldNameChars, &d.FieldNameChars},
		{&l.IDBytes, &d.IDBytes}, {&l.EmailChars, &d.EmailChars},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// MaxMessagesPage is the most messages any answer lists (SPEC §12).
const MaxMessagesPage = 500

// tooLarge is the refusal of a value over its limit; it names the field and
// the sizes, never the value.
func tooLarge(field string, n int, unit string, max int) *Error {
	if unit != "" {
		unit = " " + unit
	}
	return Errorf(CodeTooLarge, "%s: %d%s, at most %d", field, n, unit, max)
}

// checkBytes refuses s when it is longer than max bytes or not UTF-8.
func checkBytes(field, s string, max int) error {
	if len(s) > max {
		return tooLarge(field, len(s), "bytes", max)
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalidArgument, "%s is not valid UTF-8", field)
	}
	return nil
}

// checkText checks a message body: at most max bytes of UTF-8, and no
// control characters but tab, line feed and carriage return (which keeps
// its JSON form within twice its size).
func checkText(field, s string, max int) error {
	if err := checkBytes(field, s, max); err != nil {
		return err
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) {
		return Errorf(CodeInvalidArgument, "%s contains control characters", field)
	}
	return nil
}

// checkLine checks a one-line value (a name, an id, a URL): at most max
// characters (bytes when inBytes), UTF-8, no control characters.
func checkLine(field, s string, max int, inBytes bool) error {
	if inBytes {
		if err := checkBytes(field, s, max); err != nil {
			return err
		}
	} else {
		// A character is at most 4 bytes: measure only what could be over.
		if len(s) > max {
			if n := utf8.RuneCountInString(s); n > max {
				return tooLarge(field, n, "characters", max)
			}
		}
		if !utf8.ValidString(s) {
			return Errorf(CodeInvalidArgument, "%s is not valid UTF-8", field)
		}
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return Errorf(CodeInvalidArgument, "%s contains control characters", field)
	}
	return nil
}

// checkURL checks an attachment URL: at most max characters of printable
// ASCII, none of them a space or one RFC 3986 never allows (" < > \), so
// its JSON form is no longer than itself.
func checkURL(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return tooLarge(field, n, "characters", max)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\`, c) >= 0 {
			return Errorf(CodeInvalidArgument, "%s is not a URL (percent-encode character %d)", field, i+1)
		}
	}
	return nil
}

func (l Limits) checkName(field, s string) error { return checkLine(field, s, l.NameChars, false) }
func (l Limits) checkID(field, s string) error   { return checkLine(field, s, l.IDBytes, true) }

func checkCount(field string, n, max int) error {
	if n > max {
		return tooLarge(field, n, "", max)
	}
	return nil
}

// CheckIncoming checks an ingested (or escalated) message against l;
// prefix is its place in the request ("" or "message.").
func (l Limits) CheckIncoming(m *IncomingMessage, prefix string) error {
	l = l.WithDefaults()
	for _, f := range []struct{ name, v string }{
		{"external_id", m.ExternalID}, {"platform", m.Platform}, {"profile_id", m.ProfileID},
		{"customer.platform_user_id", m.Customer.PlatformUserID},
	} {
		if err := l.checkID(prefix+f.name, f.v); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{
		{"author", m.Author}, {"customer.username", m.Customer.Username},
		{"customer.first_name", m.Customer.FirstName}, {"customer.last_name", m.Customer.LastName},
	} {
		if err := l.checkName(prefix+f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkText(prefix+"text", m.Text, l.MessageTextBytes); err != nil {
		return err
	}
	if err := checkCount(prefix+"attachments", len(m.Attachments), l.Attachments); err != nil {
		return err
	}
	for i, a := range m.Attachments {
		at := fmt.Sprintf("%sattachments[%d].", prefix, i)
		if err := checkURL(at+"url", a.URL, l.AttachmentURLChars); err != nil {
			return err
		}
		if err := l.checkName(at+"type", a.Type); err != nil {
			return err
		}
		if err := l.checkName(at+"name", a.Name); err != nil {
			return err
		}
	}
	return nil
}

// checkField checks one custom field's name and (when set) value.
func (l Limits) checkField(name string, value *string) error {
	if err := checkLine("fields: a name", name, l.FieldNameChars, false); err != nil {
		return err
	}
	if value != nil {
		return checkText(fmt.Sprintf("fields[%q]", name), *value, l.FieldValueBytes)
	}
	return nil
}

// CheckOverrides checks the fields an agent overrides when creating a
// Salesforce record (contact, case, lead): as many as a case may carry, each
// name and value bounded like a case field (a value that is not a string by
// the bytes of its JSON).
func (l Limits) CheckOverrides(fields map[string]any) error {
	l = l.WithDefaults()
	if err := checkCount("fields", len(fields), l.CaseFields); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		switch v := fields[name].(type) {
		case string:
			if err := l.checkField(name, &v); err != nil {
				return err
			}
		default:
			if err := l.checkField(name, nil); err != nil {
				return err
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return Errorf(CodeInvalidArgument, "fields[%q]: %v", name, err)
			}
			if err := checkBytes(fmt.Sprintf("fields[%q]", name), string(raw), l.FieldValueBytes); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckEscalate checks a Community escalation against l.
func (l Limits) CheckEscalate(in *EscalateInput) error {
	l = l.WithDefaults()
	if err := l.CheckIncoming(&in.Message, "message."); err != nil {
		return err
	}
	if err := checkCount("fields", len(in.Fields), l.CaseFields); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(in.Fields)) {
		v := in.Fields[name]
		if err := l.checkField(name, &v); err != nil {
			return err
		}
	}
	return nil
}

// CheckCasePatch checks the sizes in a case patch. The number of fields the
// case ends up with is checked when the patch is merged (ApplyPatch).
func (l Limits) CheckCasePatch(p *CasePatch) error {
	l = l.WithDefaults()
	if err := l.checkID("assignee", p.Assignee.Value); err != nil {
		return err
	}
	if err := l.checkID("profile_id", p.ProfileID.Value); err != nil {
		return err
	}
	set := 0
	for _, v := range p.Fields {
		if v != nil {
			set++
		}
	}
	if err := checkCount("fields", set, l.CaseFields); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
		if err := l.checkField(name, p.Fields[name]); err != nil {
			return err
		}
	}
	return nil
}

// CheckCaseFields checks the number of custom fields a case would hold.
func (l Limits) CheckCaseFields(fields map[string]string) error {
	return checkCount("fields", len(fields), l.WithDefaults().CaseFields)
}

// CheckNewMessage checks an agent's reply or note against l.
func (l Limits) CheckNewMessage(m *NewMessage) error {
	l = l.WithDefaults()
	if err := checkText("text", m.Text, l.MessageTextBytes); err != nil {
		return err
	}
	if err := checkCount("mentions", len(m.Mentions), l.Mentions); err != nil {
		return err
	}
	for i, id := range m.Mentions {
		if err := l.checkID(fmt.Sprintf("mentions[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

// CheckCustomerPatch checks a change of a customer's details against l.
func (l Limits) CheckCustomerPatch(p *CustomerPatch) error {
	l = l.WithDefaults()
	for _, f := range []struct {
		name string
		v    *string
	}{{"username", p.Username}, {"first_name", p.FirstName}, {"last_name", p.LastName}} {
		if f.v != nil {
			if err := l.checkName(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	if p.Email != nil {
		return checkLine("email", *p.Email, l.EmailChars, false)
	}
	return nil
}
