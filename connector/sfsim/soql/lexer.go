// Package soql parses the subset of Salesforce's SOQL and SOSL that the
// simulator serves. It knows nothing of schemas: it turns query text into an
// AST whose nodes carry positions, and formats errors the way Salesforce
// does (the query line, a caret under the offending column, and
// "ERROR at Row:R:Column:C").
package soql

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Pos is a position in the query text. Line and Col are 1-based; Col counts
// characters (runes), as Salesforce's caret messages do.
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// Position returns p: the nodes that embed a Pos answer where they start.
func (p Pos) Position() Pos { return p }

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokDate
	tokDateTime
	tokLParen
	tokRParen
	tokComma
	tokDot
	tokColon
	tokOp // = != <> < <= > >=
	tokLBrace
	tokRBrace
	tokIllegal
)

type token struct {
	kind tokenKind
	text string // raw text (for strings: the unescaped value)
	pos  Pos
	// for literals
	num   float64
	isInt bool
	t     time.Time
	// msg explains a tokIllegal token.
	msg string
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "<EOF>"
	}
	return "'" + t.text + "'"
}

// is reports whether the token is the keyword kw (case-insensitive).
func (t token) is(kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

type lexer struct {
	src  string
	off  int
	line int
	col  int
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) pos() Pos { return Pos{Offset: l.off, Line: l.line, Col: l.col} }

func (l *lexer) peekByte(n int) byte {
	if l.off+n < len(l.src) {
		return l.src[l.off+n]
	}
	return 0
}

// advance moves over n bytes, keeping line and column.
func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); {
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		l.off += size
		i += size
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// punct maps the one-character punctuation tokens to their kinds. A '.'
// is always a dot, even before a digit: ".5" is not a number.
var punct = map[byte]tokenKind{
	'(': tokLParen, ')': tokRParen, ',': tokComma, '.': tokDot, ':': tokColon, '{': tokLBrace, '}': tokRBrace,
}

// operators are the comparison operators, longest first so that "<=" is
// not read as "<" then "=".
var operators = [...]string{"!=", "<>", "<=", ">=", "=", "<", ">"}

// next returns the next token. Errors come back as tokIllegal, explained
// in msg when there is more to say than "unexpected token".
func (l *lexer) next() token {
	for l.off < len(l.src) && isSpace(l.src[l.off]) {
		l.advance(1)
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}
	}
	c := l.src[l.off]
	if kind, ok := punct[c]; ok {
		l.advance(1)
		return token{kind: kind, text: l.src[p.Offset:l.off], pos: p}
	}
	for _, op := range operators {
		if strings.HasPrefix(l.src[l.off:], op) {
			l.advance(len(op))
			return token{kind: tokOp, text: op, pos: p}
		}
	}
	switch {
	case c == '\'':
		return l.lexString(p)
	case isDigit(c) || ((c == '-' || c == '+') && isDigit(l.peekByte(1))):
		return l.lexNumberOrDate(p)
	case isIdentStart(c):
		start := l.off
		for l.off < len(l.src) && isIdentPart(l.src[l.off]) {
			l.advance(1)
		}
		return token{kind: tokIdent, text: l.src[start:l.off], pos: p}
	}
	r, size := utf8.DecodeRuneInString(l.src[l.off:])
	l.advance(size)
	return token{kind: tokIllegal, text: string(r), pos: p}
}

func (l *lexer) lexString(p Pos) token {
	l.advance(1) // opening quote
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return token{kind: tokIllegal, text: "'", pos: p, msg: "unexpected token: <EOF>"}
		}
		c := l.src[l.off]
		if c == '\'' {
			l.advance(1)
			return token{kind: tokString, text: b.String(), pos: p}
		}
		if c == '\\' {
			e := l.peekByte(1)
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '\'', '"', '\\':
				b.WriteByte(e)
			case '_', '%':
				// LIKE escapes keep their backslash so the pattern
				// compiler can tell a literal % from a wildcard.
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				ep := l.pos()
				return token{kind: tokIllegal, text: "\\", pos: ep, msg: "Invalid string literal '\\" + string(e) + "'. Illegal character sequence '\\" + string(e) + "' in string literal."}
			}
			l.advance(2)
			continue
		}
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		b.WriteRune(r)
		l.advance(size)
	}
}

// lexNumberOrDate reads a number, a date (2024-06-01) or a date-time
// (2024-06-01T09:00:00Z, with optional fraction and +hh:mm / +hhmm offset).
func (l *lexer) lexNumberOrDate(p Pos) token {
	rest := l.src[l.off:]
	if n := matchDateTime(rest); n > 0 {
		text := rest[:n]
		t, err := ParseDateTime(text)
		if err == nil {
			l.advance(n)
			return token{kind: tokDateTime, text: text, pos: p, t: t}
		}
	}
	if n := matchDate(rest); n > 0 && (n == len(rest) || !isIdentPart(rest[n])) {
		text := rest[:n]
		t, err := time.Parse("2006-01-02", text)
		if err == nil {
			l.advance(n)
			return token{kind: tokDate, text: text, pos: p, t: t}
		}
	}
	i := 0
	if rest[0] == '-' || rest[0] == '+' {
		i++
	}
	digits := 0
	for i < len(rest) && isDigit(rest[i]) {
		i++
		digits++
	}
	isInt := true
	if i < len(rest) && rest[i] == '.' && i+1 < len(rest) && isDigit(rest[i+1]) {
		isInt = false
		i++
		for i < len(rest) && isDigit(rest[i]) {
			i++
			digits++
		}
	}
	text := rest[:i]
	if digits == 0 || (i < len(rest) && isIdentStart(rest[i])) {
		// e.g. "12abc": report at the start, as Salesforce does.
		for i < len(rest) && isIdentPart(rest[i]) {
			i++
		}
		l.advance(i)
		return token{kind: tokIllegal, text: rest[:i], pos: p}
	}
	var f float64
	if _, err := fmt.Sscan(text, &f); err != nil {
		l.advance(i)
		return token{kind: tokIllegal, text: text, pos: p}
	}
	l.advance(i)
	return token{kind: tokNumber, text: text, pos: p, num: f, isInt: isInt}
}

func digitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for j := i; j < i+n; j++ {
		if !isDigit(s[j]) {
			return false
		}
	}
	return true
}

// matchDate returns 10 when s starts with YYYY-MM-DD.
func matchDate(s string) int {
	if digitsAt(s, 0, 4) && len(s) >= 10 && s[4] == '-' && digitsAt(s, 5, 2) && s[7] == '-' && digitsAt(s, 8, 2) {
		return 10
	}
	return 0
}

// matchDateTime returns the length of a date-time literal at the start of s.
func matchDateTime(s string) int {
	if matchDate(s) == 0 || len(s) < 19 || (s[10] != 'T' && s[10] != 't') {
		return 0
	}
	if !(digitsAt(s, 11, 2) && s[13] == ':' && digitsAt(s, 14, 2) && s[16] == ':' && digitsAt(s, 17, 2)) {
		return 0
	}
	i := 19
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return 0
		}
		i = j
	}
	if i >= len(s) {
		return 0
	}
	switch s[i] {
	case 'Z', 'z':
		return i + 1
	case '+', '-':
		if digitsAt(s, i+1, 2) {
			if i+3 < len(s) && s[i+3] == ':' && digitsAt(s, i+4, 2) {
				return i + 6
			}
			if digitsAt(s, i+3, 2) {
				return i + 5
			}
		}
	}
	return 0
}

// ParseDateTime parses a SOQL/REST date-time: 2024-06-01T09:00:00Z,
// 2024-06-01T09:00:00.000+0000 or 2024-06-01T09:00:00+01:00.
func ParseDateTime(s string) (time.Time, error) {
	layouts := []string{
		"2006-01-02T15:04:05Z07:00",
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04:05.999999999Z0700",
	}
	up := strings.ToUpper(s)
	for _, layout := range layouts {
		if t, err := time.Parse(layout, up); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date-time %q", s)
}
