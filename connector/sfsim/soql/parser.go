package soql

import (
	"strconv"
	"strings"
)

// MaxLength is the longest SOQL statement accepted (Salesforce's default).
const MaxLength = 100000

// maxDepth bounds nesting of parentheses and subqueries.
const maxDepth = 50

// reserved words that cannot be an alias.
var reserved = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true,
	"IN": true, "LIKE": true, "NULL": true, "TRUE": true, "FALSE": true, "ORDER": true,
	"BY": true, "ASC": true, "DESC": true, "NULLS": true, "FIRST": true, "LAST": true,
	"LIMIT": true, "OFFSET": true, "GROUP": true, "HAVING": true, "INCLUDES": true,
	"EXCLUDES": true, "WITH": true, "FOR": true, "USING": true, "ALL": true, "ROWS": true,
	"TYPEOF": true, "END": true, "WHEN": true, "THEN": true, "ELSE": true,
}

var aggregateFuncs = map[string]bool{
	"COUNT": true, "COUNT_DISTINCT": true, "MIN": true, "MAX": true, "SUM": true, "AVG": true,
}

// dateLiterals are the relative dates the simulator understands; the _N_
// ones take ":n".
var dateLiterals = map[string]bool{
	"TODAY": true, "YESTERDAY": true, "TOMORROW": true,
	"LAST_N_DAYS": true, "NEXT_N_DAYS": true,
}

type parser struct {
	lx    *lexer
	tok   token
	code  string
	depth int
}

func newParser(src, code string) *parser {
	p := &parser{lx: newLexer(src), code: code}
	p.tok = p.lx.next()
	return p
}

func (p *parser) advance() { p.tok = p.lx.next() }

func (p *parser) errAt(pos Pos, msg string) *Error {
	return &Error{Code: p.code, Pos: pos, Msg: msg}
}

// unexpected reports the current token as Salesforce does.
func (p *parser) unexpected() *Error {
	if p.tok.kind == tokIllegal && p.tok.msg != "" {
		return p.errAt(p.tok.pos, p.tok.msg)
	}
	if p.tok.kind == tokEOF {
		return p.errAt(p.tok.pos, "unexpected token: <EOF>")
	}
	return p.errAt(p.tok.pos, "unexpected token: "+p.tok.String())
}

func (p *parser) expectKeyword(kw string) error {
	if !p.tok.is(kw) {
		return p.unexpected()
	}
	p.advance()
	return nil
}

func (p *parser) expect(kind tokenKind) (token, error) {
	if p.tok.kind != kind {
		return token{}, p.unexpected()
	}
	t := p.tok
	p.advance()
	return t, nil
}

// Parse parses one SOQL SELECT statement.
func Parse(src string) (*Query, error) {
	if len(src) > MaxLength {
		return nil, &Error{Code: "MALFORMED_QUERY", NoCaret: true,
			Msg: "Query is too long: the maximum length is " + strconv.Itoa(MaxLength) + " characters"}
	}
	p := newParser(src, "MALFORMED_QUERY")
	q, err := p.parseQuery(false)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected()
	}
	return q, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.tok.pos, "query is nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseQuery(sub bool) (*Query, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	q := &Query{Pos: p.tok.pos}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	var err error
	q.Select, err = commaList(p, func() (SelectItem, error) { return p.parseSelectItem(sub) })
	if err != nil {
		return nil, err
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	if p.tok.kind != tokIdent {
		return nil, p.unexpected()
	}
	q.From = ObjectRef{Name: p.tok.text, Pos: p.tok.pos}
	p.advance()
	if p.tok.kind == tokIdent && !reserved[strings.ToUpper(p.tok.text)] {
		q.From.Alias = p.tok.text
		p.advance()
	}
	if p.tok.is("USING") {
		p.advance()
		if err := p.expectKeyword("SCOPE"); err != nil {
			return nil, err
		}
		if _, err := p.expect(tokIdent); err != nil {
			return nil, err
		}
	}
	if p.tok.is("WHERE") {
		p.advance()
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		q.Where = e
	}
	if p.tok.is("WITH") {
		// WITH SECURITY_ENFORCED / USER_MODE: accepted and ignored.
		p.advance()
		if _, err := p.expect(tokIdent); err != nil {
			return nil, err
		}
	}
	if p.tok.is("GROUP") {
		p.advance()
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		if q.GroupBy, err = commaList(p, p.parseField); err != nil {
			return nil, err
		}
	}
	if q.OrderBy, q.Limit, q.Offset, err = p.parseOrderLimitOffset(); err != nil {
		return nil, err
	}
	if !sub && p.tok.is("FOR") {
		p.advance()
		if !(p.tok.is("VIEW") || p.tok.is("REFERENCE") || p.tok.is("UPDATE")) {
			return nil, p.unexpected()
		}
		p.advance()
	}
	if !sub && p.tok.is("ALL") {
		p.advance()
		if err := p.expectKeyword("ROWS"); err != nil {
			return nil, err
		}
		q.AllRows = true
	}
	return q, nil
}

// commaList reads one or more items separated by commas.
func commaList[T any](p *parser, item func() (T, error)) ([]T, error) {
	var items []T
	for {
		it, err := item()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		if p.tok.kind != tokComma {
			return items, nil
		}
		p.advance()
	}
}

// parseOrderLimitOffset reads the optional [ORDER BY ...] [LIMIT n]
// [OFFSET n] tail that SOQL queries and SOSL RETURNING objects share.
func (p *parser) parseOrderLimitOffset() (order []OrderItem, limit, offset *IntValue, err error) {
	if p.tok.is("ORDER") {
		p.advance()
		if err := p.expectKeyword("BY"); err != nil {
			return nil, nil, nil, err
		}
		if order, err = commaList(p, p.parseOrderItem); err != nil {
			return nil, nil, nil, err
		}
	}
	if limit, err = p.parseIntClause("LIMIT"); err != nil {
		return nil, nil, nil, err
	}
	if offset, err = p.parseIntClause("OFFSET"); err != nil {
		return nil, nil, nil, err
	}
	return order, limit, offset, nil
}

// parseIntClause reads "kw n" when the current token is the keyword kw;
// it returns nil otherwise.
func (p *parser) parseIntClause(kw string) (*IntValue, error) {
	if !p.tok.is(kw) {
		return nil, nil
	}
	p.advance()
	return p.parseInt()
}

func (p *parser) parseInt() (*IntValue, error) {
	if p.tok.kind != tokNumber || !p.tok.isInt || strings.HasPrefix(p.tok.text, "-") || strings.HasPrefix(p.tok.text, "+") {
		return nil, p.unexpected()
	}
	n, err := strconv.Atoi(p.tok.text)
	if err != nil {
		return nil, p.errAt(p.tok.pos, "number out of range: "+p.tok.text)
	}
	v := &IntValue{V: n, Pos: p.tok.pos}
	p.advance()
	return v, nil
}

func (p *parser) parseSelectItem(sub bool) (SelectItem, error) {
	switch {
	case p.tok.kind == tokLParen:
		if sub {
			return nil, p.unexpected()
		}
		pos := p.tok.pos
		p.advance()
		if !p.tok.is("SELECT") {
			return nil, p.unexpected()
		}
		q, err := p.parseQuery(true)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen); err != nil {
			return nil, err
		}
		return &SubQuery{Query: q, Pos: pos}, nil
	case p.tok.kind == tokIdent && reserved[strings.ToUpper(p.tok.text)]:
		return nil, p.unexpected()
	case p.tok.kind == tokIdent:
		name := p.tok
		p.advance()
		if p.tok.kind == tokLParen {
			fn := strings.ToUpper(name.text)
			if !aggregateFuncs[fn] {
				return nil, p.errAt(name.pos, "Unknown or unsupported function "+name.text)
			}
			p.advance()
			agg := &Aggregate{Func: fn, Pos: name.pos}
			if p.tok.kind != tokRParen {
				f, err := p.parseField()
				if err != nil {
					return nil, err
				}
				agg.Arg = f
			} else if fn != "COUNT" {
				return nil, p.unexpected()
			}
			if _, err := p.expect(tokRParen); err != nil {
				return nil, err
			}
			if p.tok.kind == tokIdent && !reserved[strings.ToUpper(p.tok.text)] {
				agg.Alias = p.tok.text
				p.advance()
			}
			return agg, nil
		}
		return p.finishField(name)
	}
	return nil, p.unexpected()
}

// parseField reads a dotted field path.
func (p *parser) parseField() (*Field, error) {
	if p.tok.kind != tokIdent || reserved[strings.ToUpper(p.tok.text)] {
		return nil, p.unexpected()
	}
	first := p.tok
	p.advance()
	return p.finishField(first)
}

func (p *parser) finishField(first token) (*Field, error) {
	f := &Field{Path: []string{first.text}, Pos: first.pos}
	for p.tok.kind == tokDot {
		p.advance()
		if p.tok.kind != tokIdent {
			return nil, p.unexpected()
		}
		f.Path = append(f.Path, p.tok.text)
		p.advance()
		if len(f.Path) > 6 {
			return nil, p.errAt(f.Pos, "field path is too long: at most 5 levels of relationships")
		}
	}
	return f, nil
}

func (p *parser) parseOrderItem() (OrderItem, error) {
	f, err := p.parseField()
	if err != nil {
		return OrderItem{}, err
	}
	it := OrderItem{Field: f}
	switch {
	case p.tok.is("ASC"):
		p.advance()
	case p.tok.is("DESC"):
		it.Desc = true
		p.advance()
	}
	it.NullsLast = it.Desc
	if p.tok.is("NULLS") {
		p.advance()
		switch {
		case p.tok.is("FIRST"):
			it.NullsLast = false
		case p.tok.is("LAST"):
			it.NullsLast = true
		default:
			return OrderItem{}, p.unexpected()
		}
		p.advance()
	}
	return it, nil
}

// parseExpr reads conditions joined by AND or OR. Like Salesforce, it
// refuses to mix the two without parentheses.
func (p *parser) parseExpr() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	var logical *Logical
	for p.tok.is("AND") || p.tok.is("OR") {
		op := strings.ToUpper(p.tok.text)
		if logical == nil {
			logical = &Logical{Op: op, Terms: []Expr{first}}
		} else if logical.Op != op {
			return nil, p.unexpected()
		}
		p.advance()
		next, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		logical.Terms = append(logical.Terms, next)
	}
	if logical == nil {
		return first, nil
	}
	return logical, nil
}

func (p *parser) parseUnary() (Expr, error) {
	if p.tok.is("NOT") {
		pos := p.tok.pos
		p.advance()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x, Pos: pos}, nil
	}
	if p.tok.kind == tokLParen {
		p.advance()
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen); err != nil {
			return nil, err
		}
		return e, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (Expr, error) {
	f, err := p.parseField()
	if err != nil {
		return nil, err
	}
	c := &Compare{Field: f, Pos: p.tok.pos}
	switch {
	case p.tok.kind == tokOp:
		c.Op = p.tok.text
		if c.Op == "<>" {
			c.Op = "!="
		}
		p.advance()
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		c.Value = v
		return c, nil
	case p.tok.is("LIKE"):
		c.Op = "LIKE"
		p.advance()
		if p.tok.kind != tokString {
			if p.tok.is("NULL") {
				v, _ := p.parseValue()
				c.Value = v
				return c, nil
			}
			return nil, p.unexpected()
		}
		c.Value = &StringValue{V: p.tok.text, Pos: p.tok.pos}
		p.advance()
		return c, nil
	case p.tok.is("IN"), p.tok.is("INCLUDES"), p.tok.is("EXCLUDES"):
		c.Op = strings.ToUpper(p.tok.text)
		p.advance()
	case p.tok.is("NOT"):
		p.advance()
		if !p.tok.is("IN") {
			return nil, p.unexpected()
		}
		c.Op = "NOT IN"
		p.advance()
	default:
		return nil, p.unexpected()
	}
	list, err := p.parseList()
	if err != nil {
		return nil, err
	}
	c.Value = list
	return c, nil
}

func (p *parser) parseList() (*ListValue, error) {
	if p.tok.kind != tokLParen {
		if p.tok.kind == tokColon {
			return nil, p.errAt(p.tok.pos, "Bind variables only allowed in Apex code")
		}
		return nil, p.unexpected()
	}
	l := &ListValue{Pos: p.tok.pos}
	p.advance()
	if p.tok.is("SELECT") {
		return nil, p.errAt(p.tok.pos, "semi-join subselects are not supported by the simulator")
	}
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		l.Items = append(l.Items, v)
		if p.tok.kind == tokComma {
			p.advance()
			continue
		}
		if _, err := p.expect(tokRParen); err != nil {
			return nil, err
		}
		return l, nil
	}
}

func (p *parser) parseValue() (Value, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		p.advance()
		return &StringValue{V: t.text, Pos: t.pos}, nil
	case tokNumber:
		p.advance()
		return &NumberValue{V: t.num, Raw: t.text, IsInt: t.isInt, Pos: t.pos}, nil
	case tokDate:
		p.advance()
		return &DateValue{T: t.t, Raw: t.text, Pos: t.pos}, nil
	case tokDateTime:
		p.advance()
		return &DateTimeValue{T: t.t, Raw: t.text, Pos: t.pos}, nil
	case tokColon:
		return nil, p.errAt(t.pos, "Bind variables only allowed in Apex code")
	case tokIdent:
		up := strings.ToUpper(t.text)
		switch up {
		case "NULL":
			p.advance()
			return &NullValue{Pos: t.pos}, nil
		case "TRUE", "FALSE":
			p.advance()
			return &BoolValue{V: up == "TRUE", Pos: t.pos}, nil
		}
		if dateLiterals[up] {
			p.advance()
			d := &DateLiteral{Name: up, Pos: t.pos}
			if strings.Contains(up, "_N_") {
				if _, err := p.expect(tokColon); err != nil {
					return nil, err
				}
				n, err := p.parseInt()
				if err != nil {
					return nil, err
				}
				d.N = n.V
			}
			return d, nil
		}
	}
	return nil, p.unexpected()
}
