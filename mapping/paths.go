package mapping

import (
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
)

// kind is the shape of a source value.
type kind int

const (
	kindText kind = iota
	kindInt
	kindTime
	kindBool
	kindFloat
)

// scope tells which sections may use a source path.
type scope int

const (
	scopeRecord  scope = iota // contact, case, lead: the case, customer, agent, digests
	scopeMessage              // messages: one message
)

// fieldPrefix starts the case custom-field paths: case.field.<name>.
const fieldPrefix = "case.field."

// The external keys (SPEC §11): the only sources an external id field may
// take, as only they never repeat across installs and restores.
const (
	caseExternalKey    = "case.external_key"
	messageExternalKey = "message.external_key"
)

// pathDef describes one source path of the catalogue.
type pathDef struct {
	name  string
	scope scope
	kind  kind
	enum  []string // the closed set of values, when there is one
	get   func(e *env) value
}

// env is what a source path reads: the rendering input, or one message.
type env struct {
	in      *Input
	msg     *care.Message
	visible []care.Message // in.Messages without notes, oldest first
}

func enumOf[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

func text(s string) value       { return value{kind: kindText, s: s} }
func timeVal(t time.Time) value { return value{kind: kindTime, t: t} }

// id is a Care id; 0 (no case) is no value.
func id(i int64) value { return value{kind: kindInt, i: i, null: i == 0} }

// catalogue is the source-path catalogue of SPEC §5 (case.field.<name>
// aside). It is built on each call: the table is small and only parsing
// reads it.
func catalogue() []pathDef {
	rec := func(name string, get func(e *env) value) pathDef {
		return pathDef{name: name, scope: scopeRecord, get: get}
	}
	msg := func(name string, get func(m *care.Message) value) pathDef {
		return pathDef{name: name, scope: scopeMessage, get: func(e *env) value { return get(e.msg) }}
	}
	withEnum := func(d pathDef, enum []string) pathDef { d.enum = enum; return d }
	withKind := func(d pathDef, k kind) pathDef { d.kind = k; return d }
	return []pathDef{
		withKind(rec("case.id", func(e *env) value { return id(e.in.Case.ID) }), kindInt),
		rec(caseExternalKey, func(e *env) value { return text(e.in.Case.ExternalKey) }),
		rec("case.url", func(e *env) value { return text(e.in.CaseURL) }),
		withEnum(rec("case.status", func(e *env) value { return text(string(e.in.Case.Status)) }), enumOf(care.Statuses)),
		withEnum(rec("case.priority", func(e *env) value { return text(string(e.in.Case.Priority)) }), enumOf(care.Priorities)),
		withEnum(rec("case.sentiment", func(e *env) value { return text(string(e.in.Case.Sentiment)) }),
			enumOf([]care.Sentiment{care.SentimentPositive, care.SentimentNegative, care.SentimentNeutral, care.SentimentNone})),
		withKind(rec("case.created_at", func(e *env) value { return timeVal(e.in.Case.CreatedAt) }), kindTime),
		rec("case.platform", func(e *env) value { return text(e.in.Case.Platform) }),
		rec("case.profile_id", func(e *env) value { return text(e.in.Case.ProfileID) }),
		rec("customer.first_name", func(e *env) value { return text(e.in.Customer.FirstName) }),
		rec("customer.last_name", func(e *env) value { return text(e.in.Customer.LastName) }),
		rec("customer.name", func(e *env) value { return text(e.in.Customer.Name()) }),
		rec("customer.username", func(e *env) value { return text(e.in.Customer.Username) }),
		rec("customer.platform_user_id", func(e *env) value { return text(e.in.Customer.PlatformUserID) }),
		rec("customer.email", func(e *env) value { return text(e.in.Customer.Email) }),
		rec("agent.name", func(e *env) value { return text(e.in.Agent.Name) }),
		rec("agent.email", func(e *env) value { return text(e.in.Agent.Email) }),
		rec("messages.first", func(e *env) value { return digest(e.visible, digestFirst) }),
		rec("messages.latest", func(e *env) value { return digest(e.visible, digestLatest) }),
		rec("messages.last_10", func(e *env) value { return digest(e.visible, digestLast10) }),
		rec("messages.first.text", func(e *env) value { return bareText(e.visible, digestFirst) }),
		rec("messages.latest.text", func(e *env) value { return bareText(e.visible, digestLatest) }),
		msg("message.id", func(m *care.Message) value { return text(m.ID) }),
		msg(messageExternalKey, func(m *care.Message) value { return text(m.ExternalKey) }),
		msg("message.external_id", func(m *care.Message) value { return text(m.ExternalID) }),
		msg("message.text", func(m *care.Message) value { return text(m.Text) }),
		msg("message.author", func(m *care.Message) value { return text(m.Author) }),
		withEnum(msg("message.direction", func(m *care.Message) value { return text(string(m.Direction)) }),
			enumOf([]care.Direction{care.Inbound, care.Outbound})),
		withEnum(msg("message.type", func(m *care.Message) value { return text(string(m.Type)) }),
			enumOf([]care.MessageType{care.TypePost, care.TypeComment, care.TypeDirectMessage, care.TypeMention})),
		withKind(msg("message.sent_at", func(m *care.Message) value { return timeVal(m.SentAt) }), kindTime),
		msg("message.platform", func(m *care.Message) value { return text(m.Platform) }),
		withKind(msg("message.case_id", func(m *care.Message) value { return id(m.CaseID) }), kindInt),
	}
}

// lookupPath finds a source path in the catalogue, including
// case.field.<name>.
func lookupPath(name string) (pathDef, bool) {
	if field, ok := strings.CutPrefix(name, fieldPrefix); ok && field != "" {
		return pathDef{name: name, scope: scopeRecord, get: func(e *env) value {
			return text(e.in.Case.Fields[field])
		}}, true
	}
	for _, d := range catalogue() {
		if d.name == name {
			return d, true
		}
	}
	return pathDef{}, false
}

// pathNames lists the catalogue's names usable in a scope, for suggestions.
func pathNames(s scope) []string {
	var names []string
	for _, d := range catalogue() {
		if d.scope == s {
			names = append(names, d.name)
		}
	}
	return names
}

// value is a rendered source value before it meets a field type.
type value struct {
	kind  kind
	s     string
	i     int64
	f     float64
	b     bool
	t     time.Time
	lines []string // a digest's entries, oldest first; s is them joined by "\n"
	null  bool     // no value: the field is left out
}

// empty reports whether v carries nothing worth sending.
func (v value) empty() bool {
	switch {
	case v.null:
		return true
	case v.kind == kindText:
		return v.s == ""
	case v.kind == kindTime:
		return v.t.IsZero()
	}
	return false
}

// String is the value as text, as templates and value maps see it: times
// are RFC 3339 in UTC with seconds and Z.
func (v value) String() string {
	if v.null {
		return ""
	}
	switch v.kind {
	case kindInt:
		return strconv.FormatInt(v.i, 10)
	case kindFloat:
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	case kindBool:
		return strconv.FormatBool(v.b)
	case kindTime:
		if v.t.IsZero() {
			return ""
		}
		return v.t.UTC().Format(timeSeconds)
	}
	return v.s
}

// timeSeconds is the digest and template time format.
const timeSeconds = "2006-01-02T15:04:05Z"
