package sfsim

import (
	"fmt"
	"math"
	"sort"
	"strings"
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
