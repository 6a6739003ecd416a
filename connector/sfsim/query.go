package sfsim

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim/soql"
)

// SOQL evaluation: a parsed query (package soql) is bound to the schema,
// then run over the store. Callers hold the store lock.

const maxOffset = 2000

// path is a field path bound to the schema: zero or more relationship hops
// (reference fields), then a leaf field.
type path struct {
	hops []*field  // reference fields followed, in order
	objs []*object // objs[i] is the object hops[i] lives on; objs[len(hops)] holds leaf
	leaf *field
}

func (p *path) value(st *store, r *record) any {
	for _, hop := range p.hops {
		id, _ := r.vals[hop.Name].(string)
		if id == "" {
			return nil
		}
		r = st.byID(id)
		if r == nil || r.deleted {
			return nil
		}
	}
	return r.vals[p.leaf.Name]
}

// binder resolves names against one object for one query text.
type binder struct {
	s     *Server
	src   string
	obj   *object
	alias string
}

func (b *binder) errAt(code string, pos soql.Pos, msg string) *Error {
	return caretError(b.src, code, pos, msg)
}

// caretError is a 400 whose message points at pos in the query text src.
func caretError(src, code string, pos soql.Pos, msg string) *Error {
	return badRequest(code, soql.Caret(src, pos, msg))
}

func noSuchColumn(name, entity string) string {
	return fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, entity)
}

func noSuchRelationship(name string) string {
	return fmt.Sprintf("Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", name)
}

// relTarget is the object a reference field points at (the first of its
// referenceTo the org has: OwnerId's Group/User resolves to User).
func (s *Server) relTarget(f *field) *object {
	for _, to := range f.ReferenceTo {
		if o := s.schema.object(to); o != nil {
			return o
		}
	}
	return nil
}

func (b *binder) bind(f *soql.Field) (*path, *Error) {
	names := f.Path
	if b.alias != "" && len(names) > 1 && strings.EqualFold(names[0], b.alias) {
		names = names[1:]
	}
	p := &path{objs: []*object{b.obj}}
	cur := b.obj
	for i, name := range names {
		if i == len(names)-1 {
			lf := cur.field(name)
			if lf == nil {
				return nil, b.errAt("INVALID_FIELD", f.Pos, noSuchColumn(f.String(), cur.Name))
			}
			p.leaf = lf
			return p, nil
		}
		rel := cur.relationship(name)
		if rel == nil {
			return nil, b.errAt("INVALID_FIELD", f.Pos, noSuchRelationship(name))
		}
		target := b.s.relTarget(rel)
		if target == nil {
			return nil, b.errAt("INVALID_FIELD", f.Pos, noSuchRelationship(name))
		}
		p.hops = append(p.hops, rel)
		cur = target
		p.objs = append(p.objs, cur)
	}
	return nil, b.errAt("MALFORMED_QUERY", f.Pos, "empty field path")
}

// outNode is one key of a rendered row: a field, a parent relationship
// (with its own children) or a child subquery.
type outNode struct {
	key      string
	leaf     *field
	rel      *field // parent relationship: reference field followed
	children []*outNode
	sub      *compiled // child subquery
	subField *field    // the child's reference field to the parent
}

func (n *outNode) child(key string) *outNode {
	for _, c := range n.children {
		if strings.EqualFold(c.key, key) {
			return c
		}
	}
	return nil
}

// add inserts a bound path into the output tree, merging relationships.
func (n *outNode) add(p *path) {
	cur := n
	for _, hop := range p.hops {
		next := cur.child(hop.RelationshipName)
		if next == nil || next.rel == nil {
			next = &outNode{key: hop.RelationshipName, rel: hop}
			cur.children = append(cur.children, next)
		}
		cur = next
	}
	if cur.child(p.leaf.Name) == nil {
		cur.children = append(cur.children, &outNode{key: p.leaf.Name, leaf: p.leaf})
	}
}

// compiled is a bound query, ready to run.
type compiled struct {
	src       string
	obj       *object
	out       *outNode
	where     cond
	order     []orderKey
	limit     int // -1 without LIMIT
	offset    int
	countOnly bool
	agg       *aggPlan
}

type orderKey struct {
	p         *path
	desc      bool
	nullsLast bool
}

// queryResult is a QueryResult body; nested child results use it too.
type queryResult struct {
	totalSize int
	rows      []jobj
	// aggregate results come in one batch: they have no queryMore.
	aggregate bool
}

// MarshalJSON writes a done child result {"totalSize","done","records"}.
func (q *queryResult) MarshalJSON() ([]byte, error) {
	return jobj{{"totalSize", q.totalSize}, {"done", true}, {"records", q.rows}}.MarshalJSON()
}

// runQuery parses, binds and runs a SOQL query. all includes deleted rows
// (queryAll).
func (s *Server) runQuery(src, version string, all bool) (*queryResult, error) {
	q, err := soql.Parse(src)
	if err != nil {
		return nil, soqlError(src, err)
	}
	c, berr := s.compile(src, q, nil)
	if berr != nil {
		return nil, berr
	}
	return s.execute(c, version, all), nil
}

func soqlError(src string, err error) *Error {
	if pe, ok := err.(*soql.Error); ok {
		return badRequest(pe.Code, pe.Message(src))
	}
	return badRequest("MALFORMED_QUERY", err.Error())
}

// compile binds q. parent is set for child subqueries: the object whose
// child relationship q.From names.
func (s *Server) compile(src string, q *soql.Query, parent *object) (*compiled, *Error) {
	var obj *object
	if parent == nil {
		obj = s.schema.object(q.From.Name)
		if obj == nil {
			return nil, caretError(src, "INVALID_TYPE", q.From.Pos, invalidTypeMessage(q.From.Name))
		}
	} else {
		ch := parent.child(q.From.Name)
		if ch == nil || ch.RelationshipName == "" {
			return nil, caretError(src, "INVALID_TYPE", q.From.Pos, fmt.Sprintf("Didn't understand relationship '%s' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", q.From.Name))
		}
		obj = s.schema.object(ch.ChildSObject)
	}
	b := &binder{s: s, src: src, obj: obj, alias: q.From.Alias}
	c := &compiled{src: src, obj: obj, out: &outNode{}, limit: -1}
	if q.AllRows {
		return nil, b.errAt("MALFORMED_QUERY", q.Pos, "ALL ROWS not allowed in this context")
	}

	var aggs []*soql.Aggregate
	var plain []*soql.Field
	for _, item := range q.Select {
		switch it := item.(type) {
		case *soql.Field:
			plain = append(plain, it)
		case *soql.Aggregate:
			aggs = append(aggs, it)
		case *soql.SubQuery:
			if parent != nil {
				return nil, b.errAt("MALFORMED_QUERY", it.Pos, "Nesting of semi join sub-selects is not supported")
			}
			sub, err := s.compile(src, it.Query, obj)
			if err != nil {
				return nil, err
			}
			if sub.countOnly || sub.agg != nil {
				return nil, b.errAt("MALFORMED_QUERY", it.Pos, "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch")
			}
			ch := obj.child(it.Query.From.Name)
			c.out.children = append(c.out.children, &outNode{key: ch.RelationshipName, sub: sub, subField: sub.obj.field(ch.Field)})
		}
	}
	// COUNT() alone counts rows.
	if len(aggs) == 1 && aggs[0].Func == "COUNT" && aggs[0].Arg == nil {
		if len(q.Select) != 1 || len(q.GroupBy) > 0 {
			return nil, b.errAt("MALFORMED_QUERY", aggs[0].Pos, "COUNT() must be the only element in the SELECT list.")
		}
		c.countOnly = true
	} else if len(aggs) > 0 || len(q.GroupBy) > 0 {
		plan, err := b.aggPlan(q)
		if err != nil {
			return nil, err
		}
		c.agg = plan
	} else {
		for _, f := range plain {
			p, err := b.bind(f)
			if err != nil {
				return nil, err
			}
			c.out.add(p)
		}
	}
	for _, a := range aggs {
		if a.Func == "COUNT" && a.Arg == nil && !c.countOnly {
			return nil, b.errAt("MALFORMED_QUERY", a.Pos, "COUNT() must be the only element in the SELECT list.")
		}
	}

	if err := b.bindTail(c, q.Where, q.OrderBy, q.Limit, q.Offset); err != nil {
		return nil, err
	}
	return c, nil
}

// bindTail binds into c the WHERE, ORDER BY, LIMIT and OFFSET that SOQL
// queries and SOSL RETURNING objects share.
func (b *binder) bindTail(c *compiled, where soql.Expr, order []soql.OrderItem, limit, offset *soql.IntValue) *Error {
	if where != nil {
		w, err := b.cond(where)
		if err != nil {
			return err
		}
		c.where = w
	}
	for _, it := range order {
		p, err := b.bind(it.Field)
		if err != nil {
			return err
		}
		if p.leaf.longText() || p.leaf.Type == typeMultipicklist {
			return b.errAt("INVALID_FIELD", it.Field.Pos, fmt.Sprintf("field '%s' can not be sorted in a query call", p.leaf.Name))
		}
		c.order = append(c.order, orderKey{p: p, desc: it.Desc, nullsLast: it.NullsLast})
	}
	if limit != nil {
		c.limit = limit.V
	}
	if offset != nil {
		if offset.V > maxOffset {
			return badRequest("NUMBER_OUTSIDE_VALID_RANGE", fmt.Sprintf("Maximum SOQL offset allowed is %d", maxOffset))
		}
		c.offset = offset.V
	}
	return nil
}

// execute runs a compiled top-level query and renders every row.
func (s *Server) execute(c *compiled, version string, all bool) *queryResult {
	recs := s.matching(c, all, nil)
	if c.countOnly {
		return &queryResult{totalSize: len(recs)}
	}
	if c.agg != nil {
		rows := c.agg.run(s.store, recs)
		rows = window(rows, c.offset, c.limit)
		return &queryResult{totalSize: len(rows), rows: rows, aggregate: true}
	}
	rows := make([]jobj, len(recs))
	for i, r := range recs {
		rows[i] = s.renderNode(c.out, r, version, all)
	}
	return &queryResult{totalSize: len(rows), rows: rows}
}

func window[T any](rows []T, offset, limit int) []T {
	if offset >= len(rows) {
		return nil
	}
	rows = rows[offset:]
	if limit >= 0 && limit < len(rows) {
		rows = rows[:limit]
	}
	return rows
}

// matching filters, sorts and windows the records of c (aggregate queries
// window their groups instead). only, when set, keeps just the records it
// accepts (the children of one parent in subqueries, search hits).
func (s *Server) matching(c *compiled, all bool, only func(*record) bool) []*record {
	st := s.store
	var recs []*record
	for _, r := range st.table(c.obj).rows {
		if r.deleted && !all {
			continue
		}
		if only != nil && !only(r) {
			continue
		}
		if c.where != nil && !c.where.eval(st, r) {
			continue
		}
		recs = append(recs, r)
	}
	if len(c.order) > 0 {
		sort.SliceStable(recs, func(i, j int) bool {
			for _, k := range c.order {
				cmp := compareNullable(k.p.leaf, k.p.value(st, recs[i]), k.p.value(st, recs[j]), k.nullsLast, k.desc)
				if cmp != 0 {
					return cmp < 0
				}
			}
			return false
		})
	}
	if c.agg != nil {
		return recs
	}
	return window(recs, c.offset, c.limit)
}

// compareNullable orders two values for ORDER BY: nulls first or last
// whatever the direction, the rest ascending or descending.
func compareNullable(f *field, a, b any, nullsLast, desc bool) int {
	an, bn := a == nil, b == nil
	switch {
	case an && bn:
		return 0
	case an:
		if nullsLast {
			return 1
		}
		return -1
	case bn:
		if nullsLast {
			return -1
		}
		return 1
	}
	c := compareField(f, a, b)
	if desc {
		return -c
	}
	return c
}

// compareField compares two non-null values of field f. Ids compare
// exactly: their case is significant and their order is the order the
// org made them in, so ORDER BY SystemModstamp, Id is the change order.
func compareField(f *field, a, b any) int {
	if f.Type == typeID || f.Type == typeReference {
		x, _ := a.(string)
		y, _ := b.(string)
		return strings.Compare(x, y)
	}
	return compareValues(a, b)
}

// compareValues compares two non-null stored values of one field; text
// compares case-insensitively, as SOQL does.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(strings.ToLower(x), strings.ToLower(y))
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	}
	fa, fb := toFloat(a), toFloat(b)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return math.NaN()
}

// renderNode renders record r for the output tree n.
func (s *Server) renderNode(n *outNode, r *record, version string, all bool) jobj {
	row := make(jobj, 0, len(n.children)+1)
	row = append(row, kv{"attributes", attributes(r, version)})
	for _, ch := range n.children {
		switch {
		case ch.leaf != nil:
			row = append(row, kv{ch.key, encodeValue(r.vals[ch.leaf.Name])})
		case ch.rel != nil:
			id, _ := r.vals[ch.rel.Name].(string)
			var parent *record
			if id != "" {
				parent = s.store.byID(id)
			}
			if parent == nil || parent.deleted {
				row = append(row, kv{ch.key, nil})
				continue
			}
			row = append(row, kv{ch.key, s.renderNode(ch, parent, version, all)})
		case ch.sub != nil:
			parentID := r.id
			ref := ch.subField.Name
			kids := s.matching(ch.sub, false, func(k *record) bool { return k.vals[ref] == parentID })
			if len(kids) == 0 {
				row = append(row, kv{ch.key, nil})
				continue
			}
			res := &queryResult{totalSize: len(kids)}
			for _, k := range kids {
				res.rows = append(res.rows, s.renderNode(ch.sub.out, k, version, all))
			}
			row = append(row, kv{ch.key, res})
		}
	}
	return row
}

// Conditions.

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

// Aggregates.

type aggPlan struct {
	groups []*path
	cols   []aggCol
}

type aggCol struct {
	key   string
	group *path // a grouped field
	fn    string
	arg   *path // nil for COUNT()
}

func (b *binder) aggPlan(q *soql.Query) (*aggPlan, *Error) {
	plan := &aggPlan{}
	grouped := map[string]bool{}
	for _, g := range q.GroupBy {
		p, err := b.bind(g)
		if err != nil {
			return nil, err
		}
		plan.groups = append(plan.groups, p)
		grouped[strings.ToLower(strings.Join(g.Path, "."))] = true
	}
	expr := 0
	for _, item := range q.Select {
		switch it := item.(type) {
		case *soql.Field:
			if !grouped[strings.ToLower(strings.Join(it.Path, "."))] {
				return nil, b.errAt("MALFORMED_QUERY", it.Pos, "Field must be grouped or aggregated: "+it.String())
			}
			p, err := b.bind(it)
			if err != nil {
				return nil, err
			}
			plan.cols = append(plan.cols, aggCol{key: p.leaf.Name, group: p})
		case *soql.Aggregate:
			col := aggCol{fn: it.Func, key: it.Alias}
			if col.key == "" {
				col.key = "expr" + strconv.Itoa(expr)
				expr++
			}
			if it.Arg != nil {
				p, err := b.bind(it.Arg)
				if err != nil {
					return nil, err
				}
				if (it.Func == "SUM" || it.Func == "AVG") && !p.leaf.isNumber() {
					return nil, b.errAt("MALFORMED_QUERY", it.Pos, fmt.Sprintf("field %s does not support aggregate operator %s", p.leaf.Name, it.Func))
				}
				col.arg = p
			}
			plan.cols = append(plan.cols, col)
		}
	}
	return plan, nil
}

func (a *aggPlan) run(st *store, recs []*record) []jobj {
	type group struct {
		first *record
		recs  []*record
	}
	var order []string
	groups := map[string]*group{}
	for _, r := range recs {
		key := ""
		for _, g := range a.groups {
			key += fmt.Sprintf("%v\x00", normKey(g.value(st, r)))
		}
		gr := groups[key]
		if gr == nil {
			gr = &group{first: r}
			groups[key] = gr
			order = append(order, key)
		}
		gr.recs = append(gr.recs, r)
	}
	if len(a.groups) == 0 && len(order) == 0 {
		order = append(order, "")
		groups[""] = &group{}
	}
	rows := make([]jobj, 0, len(order))
	for _, key := range order {
		gr := groups[key]
		row := jobj{{"attributes", jobj{{"type", "AggregateResult"}}}}
		for _, col := range a.cols {
			if col.group != nil {
				row = append(row, kv{col.key, encodeValue(col.group.value(st, gr.first))})
				continue
			}
			row = append(row, kv{col.key, aggregate(st, col, gr.recs)})
		}
		rows = append(rows, row)
	}
	return rows
}

func normKey(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return v
}

func aggregate(st *store, col aggCol, recs []*record) any {
	switch col.fn {
	case "COUNT":
		if col.arg == nil {
			return len(recs)
		}
		n := 0
		for _, r := range recs {
			if col.arg.value(st, r) != nil {
				n++
			}
		}
		return n
	case "COUNT_DISTINCT":
		seen := map[any]bool{}
		for _, r := range recs {
			if v := col.arg.value(st, r); v != nil {
				seen[normKey(v)] = true
			}
		}
		return len(seen)
	case "SUM", "AVG":
		sum, n := 0.0, 0
		for _, r := range recs {
			if v := col.arg.value(st, r); v != nil {
				sum += toFloat(v)
				n++
			}
		}
		if n == 0 {
			return nil
		}
		if col.fn == "AVG" {
			return sum / float64(n)
		}
		return sum
	case "MIN", "MAX":
		var best any
		for _, r := range recs {
			v := col.arg.value(st, r)
			if v == nil {
				continue
			}
			if best == nil || (col.fn == "MIN" && compareValues(v, best) < 0) || (col.fn == "MAX" && compareValues(v, best) > 0) {
				best = v
			}
		}
		return encodeValue(best)
	}
	return nil
}

// Query locators (queryMore).

// cursor holds the rows of a query that did not fit one batch.
type cursor struct {
	id       string
	userID   string
	rows     []jobj
	total    int
	batch    int
	lastUsed time.Time
}

type cursorStore struct {
	mu   sync.Mutex
	now  func() time.Time
	ids  idGen
	byID map[string]*cursor
}

// Cursor limits of Salesforce: 15 minutes idle, 10 open per user (opening
// an 11th releases the oldest).
const (
	cursorIdle    = 15 * time.Minute
	cursorPerUser = 10
)

func newCursorStore(now func() time.Time) *cursorStore {
	return &cursorStore{now: now, byID: map[string]*cursor{}}
}

func (cs *cursorStore) open(userID string, rows []jobj, batch int) *cursor {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	now := cs.now()
	var mine []*cursor
	for id, c := range cs.byID {
		if now.Sub(c.lastUsed) > cursorIdle {
			delete(cs.byID, id)
			continue
		}
		if c.userID == userID {
			mine = append(mine, c)
		}
	}
	if len(mine) >= cursorPerUser {
		sort.Slice(mine, func(i, j int) bool { return mine[i].lastUsed.Before(mine[j].lastUsed) })
		for _, c := range mine[:len(mine)-cursorPerUser+1] {
			delete(cs.byID, c.id)
		}
	}
	c := &cursor{id: cs.ids.next("01g"), userID: userID, rows: rows, total: len(rows), batch: batch, lastUsed: now}
	cs.byID[c.id] = c
	return c
}

func (cs *cursorStore) get(id, userID string) *cursor {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.byID[id]
	if c == nil || c.userID != userID {
		return nil
	}
	now := cs.now()
	if now.Sub(c.lastUsed) > cursorIdle {
		delete(cs.byID, id)
		return nil
	}
	c.lastUsed = now
	return c
}

// batchSize reads Sforce-Query-Options: batchSize=N (200..2000), capped by
// Options.QueryBatchSize.
func (s *Server) batchSize(h http.Header) int {
	n := DefaultQueryBatchSize
	for _, part := range strings.Split(h.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			if x, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				n = min(max(x, 200), 2000)
			}
		}
	}
	return min(n, s.opts.QueryBatchSize)
}

func (s *Server) handleQuery(c *call, all bool) *response {
	src := c.query.Get("q")
	if strings.TrimSpace(src) == "" {
		return errResp(badRequest("MALFORMED_QUERY", "A query string has to be specified"))
	}
	res, err := s.runQuery(src, c.version, all)
	if err != nil {
		return errResp(err)
	}
	batch := s.batchSize(c.header)
	if res.aggregate {
		batch = max(len(res.rows), 1)
	}
	return jsonResp(http.StatusOK, s.page(c, res.totalSize, res.rows, 0, batch, nil))
}

// page renders one batch of rows starting at pos, opening a cursor when
// more remain.
func (s *Server) page(c *call, total int, rows []jobj, pos, batch int, cur *cursor) jobj {
	end := min(pos+batch, len(rows))
	out := jobj{{"totalSize", total}}
	if end < len(rows) {
		if cur == nil {
			cur = s.cursors.open(c.userID, rows, batch)
		}
		out = append(out, kv{"done", false}, kv{"nextRecordsUrl", fmt.Sprintf("/services/data/v%s/query/%s-%d", c.version, cur.id, end)})
	} else {
		out = append(out, kv{"done", true})
	}
	page := rows[pos:end]
	if page == nil {
		page = []jobj{}
	}
	s.stats.returnedRows(len(page))
	return append(out, kv{"records", page})
}

func (s *Server) handleQueryMore(c *call, locator string) *response {
	id, posText, ok := strings.Cut(locator, "-")
	pos, err := strconv.Atoi(posText)
	invalid := badRequest("INVALID_QUERY_LOCATOR", "invalid query locator")
	if !ok || err != nil || pos < 0 {
		return errResp(invalid)
	}
	cur := s.cursors.get(id, c.userID)
	if cur == nil || pos > len(cur.rows) {
		return errResp(invalid)
	}
	batch := cur.batch
	if c.header.Get("Sforce-Query-Options") != "" {
		batch = s.batchSize(c.header)
	}
	return jsonResp(http.StatusOK, s.page(c, cur.total, cur.rows, pos, batch, cur))
}
