package mapping

import (
	"slices"
	"strings"

	"github.com/carebridge/carebridge/care"
)

// digestKind picks the messages a digest shows.
type digestKind int

const (
	digestFirst digestKind = iota
	digestLatest
	digestLast10
)

// visibleMessages returns the messages a digest may show: notes left out,
// ordered by SentAt, ties kept in the order given.
func visibleMessages(msgs []care.Message) []care.Message {
	out := make([]care.Message, 0, len(msgs))
	for _, m := range msgs {
		if m.Kind != care.KindNote {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b care.Message) int { return a.SentAt.Compare(b.SentAt) })
	return out
}

func pick(visible []care.Message, k digestKind) []care.Message {
	if len(visible) == 0 {
		return nil
	}
	switch k {
	case digestFirst:
		return visible[:1]
	case digestLatest:
		return visible[len(visible)-1:]
	}
	return visible[max(0, len(visible)-10):]
}

// digestLine renders one message as `[2025-07-31T12:00:00Z] Joe Doe: text`
// (UTC, seconds, Z). Line breaks inside the text become spaces, so that a
// message is exactly one line.
func digestLine(m care.Message) string {
	return "[" + m.SentAt.UTC().Format(timeSeconds) + "] " + m.Author + ": " + oneLine(m.Text)
}

// oneLine replaces every line break (CRLF, CR, LF, and the Unicode line and
// paragraph separators) by one space.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\u2028\u2029\u0085") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', '\u2028', '\u2029', '\u0085':
			return ' '
		}
		return r
	}, s)
}

// digest renders the picked messages, oldest first, one line each.
func digest(visible []care.Message, k digestKind) value {
	msgs := pick(visible, k)
	lines := make([]string, len(msgs))
	for i, m := range msgs {
		lines[i] = digestLine(m)
	}
	return value{kind: kindText, s: strings.Join(lines, "\n"), lines: lines}
}

// bareText is the picked message's text as written.
func bareText(visible []care.Message, k digestKind) value {
	msgs := pick(visible, k)
	if len(msgs) == 0 {
		return text("")
	}
	return text(msgs[0].Text)
}
