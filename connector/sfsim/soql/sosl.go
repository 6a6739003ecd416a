package soql

import (
	"strings"
	"unicode/utf8"
)

// Search is a parsed SOSL statement:
// FIND {term} [IN scope FIELDS] [RETURNING Object(fields ...), ...] [LIMIT n].
type Search struct {
	Term      string // the text between the braces, escapes removed
	TermPos   Pos
	Scope     string // ALL, NAME, EMAIL, PHONE or SIDEBAR; ALL by default
	Returning []Returning
	Limit     *IntValue
}

// Returning is one object of a RETURNING clause. Fields is empty when the
// object has no field list (Salesforce then returns only Id).
type Returning struct {
	Object  ObjectRef
	Fields  []*Field
	Where   Expr
	OrderBy []OrderItem
	Limit   *IntValue
	Offset  *IntValue
}

// noTerm is Salesforce's message for a search without braces.
const noTerm = "No search term found. The search term must be enclosed in braces."

// ParseSearch parses a SOSL statement. Errors carry the code MALFORMED_SEARCH.
func ParseSearch(src string) (*Search, error) {
	if len(src) > MaxLength {
		return nil, &Error{Code: "MALFORMED_SEARCH", NoCaret: true, Msg: "Search is too long"}
	}
	p := newParser(src, "MALFORMED_SEARCH")
	if !p.tok.is("FIND") {
		return nil, &Error{Code: "MALFORMED_SEARCH", NoCaret: true, Msg: noTerm}
	}
	// Read the braced term straight from the source: it is free text.
	lx := p.lx
	for lx.off < len(lx.src) && isSpace(lx.src[lx.off]) {
		lx.advance(1)
	}
	if lx.off >= len(lx.src) || lx.src[lx.off] != '{' {
		return nil, &Error{Code: "MALFORMED_SEARCH", NoCaret: true, Msg: noTerm}
	}
	s := &Search{Scope: "ALL", TermPos: lx.pos()}
	lx.advance(1)
	var term strings.Builder
	closed := false
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		if c == '\\' && lx.off+1 < len(lx.src) {
			term.WriteByte(lx.src[lx.off+1])
			lx.advance(2)
			continue
		}
		if c == '}' {
			lx.advance(1)
			closed = true
			break
		}
		start := lx.off
		lx.advance(1)
		term.WriteString(lx.src[start:lx.off])
	}
	if !closed {
		return nil, &Error{Code: "MALFORMED_SEARCH", NoCaret: true, Msg: noTerm}
	}
	s.Term = strings.TrimSpace(term.String())
	if utf8.RuneCountInString(s.Term) < 2 {
		return nil, &Error{Code: "MALFORMED_SEARCH", Pos: s.TermPos, Msg: "search term must be longer than one character"}
	}
	p.advance()
	if p.tok.is("IN") {
		p.advance()
		scope := strings.ToUpper(p.tok.text)
		switch scope {
		case "ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR":
		default:
			return nil, p.unexpected()
		}
		p.advance()
		if err := p.expectKeyword("FIELDS"); err != nil {
			return nil, err
		}
		s.Scope = scope
	}
	var err error
	if p.tok.is("RETURNING") {
		p.advance()
		if s.Returning, err = commaList(p, p.parseReturning); err != nil {
			return nil, err
		}
	}
	if p.tok.is("WITH") {
		return nil, p.errAt(p.tok.pos, "WITH clauses are not supported by the simulator")
	}
	if s.Limit, err = p.parseIntClause("LIMIT"); err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected()
	}
	return s, nil
}

func (p *parser) parseReturning() (Returning, error) {
	if p.tok.kind != tokIdent || reserved[strings.ToUpper(p.tok.text)] {
		return Returning{}, p.unexpected()
	}
	r := Returning{Object: ObjectRef{Name: p.tok.text, Pos: p.tok.pos}}
	p.advance()
	if p.tok.kind != tokLParen {
		return r, nil
	}
	p.advance()
	var err error
	if r.Fields, err = commaList(p, p.parseField); err != nil {
		return Returning{}, err
	}
	if p.tok.is("WHERE") {
		p.advance()
		if r.Where, err = p.parseExpr(); err != nil {
			return Returning{}, err
		}
	}
	if r.OrderBy, r.Limit, r.Offset, err = p.parseOrderLimitOffset(); err != nil {
		return Returning{}, err
	}
	if _, err := p.expect(tokRParen); err != nil {
		return Returning{}, err
	}
	return r, nil
}
