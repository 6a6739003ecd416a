package sfsim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/carebridge/carebridge/connector/sfsim/soql"
)

// Aggregate queries: COUNT(), COUNT(field), COUNT_DISTINCT, MIN, MAX, SUM,
// AVG and GROUP BY.

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
