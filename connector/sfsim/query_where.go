package sfsim

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim/soql"
)

// WHERE conditions: bound to the schema, evaluated per record.

type cond interface {
	eval(st *store, r *record) bool
}

type andCond []cond
type orCond []cond
type notCond struct{ x cond }

func (a andCond) eval(st *store, r *record) bool {
	for _, c := range a {
		if !c.eval(st, r) {
			return false
		}
	}
	return true
}

func (o orCond) eval(st *store, r *record) bool {
	for _, c := range o {
		if c.eval(st, r) {
			return true
		}
	}
	return false
}

func (n notCond) eval(st *store, r *record) bool { return !n.x.eval(st, r) }

// cmpCond compares a field with literals. For relative dates lo/hi bound a
// range [lo, hi).
type cmpCond struct {
	p      *path
	op     string
	vals   []any // converted literals; nil entries are NULL
	ranges []dateRange
	like   *regexp.Regexp
	// in holds the lower-cased literals of an IN or NOT IN list of plain
	// strings (a poller sends hundreds of ids), so a row is one lookup.
	in map[string]bool
}

type dateRange struct{ lo, hi any }

func (c *cmpCond) eval(st *store, r *record) bool {
	v := c.p.value(st, r)
	if v == "" {
		v = nil
	}
	switch c.op {
	case "LIKE":
		s, ok := v.(string)
		return ok && c.like != nil && c.like.MatchString(s)
	case "IN":
		if c.in != nil {
			s, ok := v.(string)
			return ok && c.in[strings.ToLower(s)]
		}
		for i := range c.vals {
			if c.equal(v, i) {
				return true
			}
		}
		return false
	case "NOT IN":
		if c.in != nil {
			s, ok := v.(string)
			return !ok || !c.in[strings.ToLower(s)]
		}
		for i := range c.vals {
			if c.equal(v, i) {
				return false
			}
		}
		return true
	case "INCLUDES", "EXCLUDES":
		set := map[string]bool{}
		if s, ok := v.(string); ok {
			for _, part := range strings.Split(s, ";") {
				set[strings.ToLower(strings.TrimSpace(part))] = true
			}
		}
		any := false
		for _, lit := range c.vals {
			ls, _ := lit.(string)
			allIn := true
			for _, part := range strings.Split(ls, ";") {
				if !set[strings.ToLower(strings.TrimSpace(part))] {
					allIn = false
				}
			}
			if allIn {
				any = true
			}
		}
		if c.op == "INCLUDES" {
			return any
		}
		return !any
	case "=":
		return c.equal(v, 0)
	case "!=":
		return !c.equal(v, 0)
	}
	// < <= > >=
	if v == nil || c.vals[0] == nil && c.ranges[0].lo == nil {
		return false
	}
	lit := c.vals[0]
	if rg := c.ranges[0]; rg.lo != nil {
		switch c.op {
		case "<":
			return compareValues(v, rg.lo) < 0
		case "<=":
			return compareValues(v, rg.hi) < 0
		case ">":
			return compareValues(v, rg.hi) >= 0
		case ">=":
			return compareValues(v, rg.lo) >= 0
		}
	}
	cmp := compareField(c.p.leaf, v, lit)
	switch c.op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}

// equal compares v with literal i (NULL matches null; ranges match inside).
func (c *cmpCond) equal(v any, i int) bool {
	if rg := c.ranges[i]; rg.lo != nil {
		return v != nil && compareValues(v, rg.lo) >= 0 && compareValues(v, rg.hi) < 0
	}
	lit := c.vals[i]
	if lit == nil || v == nil {
		return lit == nil && v == nil
	}
	if s, ok := v.(string); ok {
		ls, _ := lit.(string)
		return strings.EqualFold(s, ls)
	}
	return compareValues(v, lit) == 0
}

func (b *binder) cond(e soql.Expr) (cond, *Error) {
	switch x := e.(type) {
	case *soql.Logical:
		terms := make([]cond, 0, len(x.Terms))
		for _, t := range x.Terms {
			c, err := b.cond(t)
			if err != nil {
				return nil, err
			}
			terms = append(terms, c)
		}
		if x.Op == "AND" {
			return andCond(terms), nil
		}
		return orCond(terms), nil
	case *soql.Not:
		c, err := b.cond(x.X)
		if err != nil {
			return nil, err
		}
		return notCond{c}, nil
	case *soql.Compare:
		return b.compare(x)
	}
	return nil, b.errAt("MALFORMED_QUERY", soql.Pos{Line: 1, Col: 1}, "unsupported condition")
}

func (b *binder) compare(x *soql.Compare) (cond, *Error) {
	p, err := b.bind(x.Field)
	if err != nil {
		return nil, err
	}
	f := p.leaf
	if f.longText() {
		return nil, b.errAt("INVALID_FIELD", x.Field.Pos, fmt.Sprintf("field '%s' can not be filtered in a query call", f.Name))
	}
	c := &cmpCond{p: p, op: x.Op}
	badOp := func() *Error {
		return b.errAt("INVALID_QUERY_FILTER_OPERATOR", x.Pos, fmt.Sprintf("invalid operator on field '%s'", f.Name))
	}
	switch x.Op {
	case "LIKE":
		if !f.isText() || f.Type == typeMultipicklist {
			return nil, badOp()
		}
		if _, isNull := x.Value.(*soql.NullValue); isNull {
			c.vals = []any{nil}
			c.ranges = []dateRange{{}}
			return c, nil
		}
		sv := x.Value.(*soql.StringValue)
		c.like = likePattern(sv.V)
		c.vals = []any{sv.V}
		c.ranges = []dateRange{{}}
		return c, nil
	case "INCLUDES", "EXCLUDES":
		if f.Type != typeMultipicklist {
			return nil, badOp()
		}
	case "<", "<=", ">", ">=":
		if f.Type == typeBoolean || f.Type == typeMultipicklist {
			return nil, badOp()
		}
	}
	var items []soql.Value
	if l, ok := x.Value.(*soql.ListValue); ok {
		items = l.Items
	} else {
		items = []soql.Value{x.Value}
	}
	for _, it := range items {
		v, rg, err := b.literal(f, it)
		if err != nil {
			return nil, err
		}
		// NULL with < <= > >= is accepted and matches nothing.
		c.vals = append(c.vals, v)
		c.ranges = append(c.ranges, rg)
	}
	if x.Op == "IN" || x.Op == "NOT IN" {
		c.in = stringSet(c.vals, c.ranges)
	}
	return c, nil
}

// stringSet is the lower-cased set of vals when every one is a non-empty
// string without a date range, else nil.
func stringSet(vals []any, ranges []dateRange) map[string]bool {
	set := make(map[string]bool, len(vals))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok || s == "" || ranges[i].lo != nil {
			return nil
		}
		set[strings.ToLower(s)] = true
	}
	return set
}

// literal converts one literal for comparison with field f, checking its
// type as Salesforce does.
func (b *binder) literal(f *field, v soql.Value) (any, dateRange, *Error) {
	if _, ok := v.(*soql.NullValue); ok {
		return nil, dateRange{}, nil
	}
	wrongType := func(typ string, quoted bool) *Error {
		how := "should not be enclosed in quotes"
		if quoted {
			how = "should be enclosed in quotes"
		}
		return b.errAt("INVALID_FIELD", v.Position(), fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and %s", f.Name, typ, how))
	}
	switch f.Type {
	case typeID, typeReference:
		sv, ok := v.(*soql.StringValue)
		if !ok {
			return nil, dateRange{}, wrongType("id", true)
		}
		id, valid := NormalizeID(sv.V)
		if !valid {
			return nil, dateRange{}, b.errAt("INVALID_QUERY_FILTER_OPERATOR", v.Position(), "invalid ID field: "+sv.V)
		}
		return id, dateRange{}, nil
	case typeBoolean:
		bv, ok := v.(*soql.BoolValue)
		if !ok {
			return nil, dateRange{}, wrongType("boolean", false)
		}
		return bv.V, dateRange{}, nil
	case typeDouble, typeCurrency, typePercent, typeInt:
		nv, ok := v.(*soql.NumberValue)
		if !ok {
			if f.Type == typeInt {
				return nil, dateRange{}, wrongType("integer", false)
			}
			return nil, dateRange{}, wrongType("double", false)
		}
		return nv.V, dateRange{}, nil
	case typeDate:
		switch x := v.(type) {
		case *soql.DateValue:
			return x.T.Format("2006-01-02"), dateRange{}, nil
		case *soql.DateLiteral:
			lo, hi := b.relativeDays(x)
			return nil, dateRange{lo: lo.Format("2006-01-02"), hi: hi.Format("2006-01-02")}, nil
		}
		return nil, dateRange{}, wrongType("date", false)
	case typeDateTime:
		switch x := v.(type) {
		case *soql.DateTimeValue:
			return x.T, dateRange{}, nil
		case *soql.DateLiteral:
			lo, hi := b.relativeDays(x)
			return nil, dateRange{lo: lo, hi: hi}, nil
		}
		return nil, dateRange{}, wrongType("dateTime", false)
	}
	sv, ok := v.(*soql.StringValue)
	if !ok {
		return nil, dateRange{}, wrongType("string", true)
	}
	return strings.NewReplacer(`\%`, "%", `\_`, "_").Replace(sv.V), dateRange{}, nil
}

// relativeDays turns TODAY, LAST_N_DAYS:n ... into a UTC day range [lo, hi).
func (b *binder) relativeDays(d *soql.DateLiteral) (time.Time, time.Time) {
	now := b.s.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	switch d.Name {
	case "YESTERDAY":
		return today.Add(-day), today
	case "TOMORROW":
		return today.Add(day), today.Add(2 * day)
	case "LAST_N_DAYS":
		return today.Add(-time.Duration(d.N) * day), today.Add(day)
	case "NEXT_N_DAYS":
		return today.Add(day), today.Add(time.Duration(d.N+1) * day)
	}
	return today, today.Add(day)
}

// likePattern compiles a SOQL LIKE pattern (% any run, _ one character,
// \% and \_ literal; case-insensitive).
func likePattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && (p[i+1] == '%' || p[i+1] == '_'):
			b.WriteString(regexp.QuoteMeta(string(p[i+1])))
			i++
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil
	}
	return re
}
