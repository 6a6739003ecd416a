package bolt

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// Cases lists a page of cases for a view: an ordered merge of the index
// ranges of the view's statuses, so a page costs a few seeks and loads
// however many cases the store holds. A search (q.Q) narrows it to the
// cases whose words match: few of them are loaded and sorted, many are
// picked out of the view's order as it streams.
func (s *Store) Cases(ctx context.Context, actor care.User, q care.CaseQuery) (care.CasePage, error) {
	q, err := s.resolveSavedView(actor, q)
	if err != nil {
		return care.CasePage{}, err
	}
	plan, err := care.PlanQuery(actor, q)
	if err != nil {
		return care.CasePage{}, err
	}
	s.fillSLA(&plan)
	page := care.CasePage{Cases: []care.Case{}}
	if plan.Empty {
		return page, nil
	}
	err = s.view(func(tx *bbolt.Tx) error {
		search := newMatcher(tx, q.Q)
		var src source
		var err error
		if found := narrowSLA(tx, plan, search.few(tx, loadBelow)); found != nil {
			src, err = foundSorted(tx, plan, found)
		} else {
			src, err = planSource(tx, plan)
		}
		if err != nil {
			return err
		}
		for {
			pos, ok := src.next()
			if !ok {
				break
			}
			if search != nil && !search.matches(tx, pos.ID) {
				continue
			}
			c, err := getCase(tx, pos.ID)
			if err != nil {
				return err
			}
			if !plan.Matches(c) {
				continue
			}
			if len(page.Cases) == plan.Limit {
				last := page.Cases[len(page.Cases)-1]
				page.NextCursor = care.EncodeCursor(plan.Sort, position(tx, plan, &last))
				break
			}
			page.Cases = append(page.Cases, *c)
		}
		return withCustomers(tx, page.Cases)
	})
	return page, err
}

// loadBelow is the number of search results up to which a listing loads
// and sorts them all, rather than streaming the view's order (a variable
// for the tests of both ways).
var loadBelow = 1000

// planSource streams the positions of the cases in plan's scope and
// statuses, in its order.
func planSource(tx *bbolt.Tx, plan care.Plan) (source, error) {
	switch {
	case plan.Scope.MentionsOf != "" && plan.Sort.Key == care.SortNoteTime:
		prefix := join([]byte(plan.Scope.MentionsOf), sep)
		return newIndexStream(tx.Bucket(bucketMentions), prefix, plan.Sort.Desc, plan.After), nil
	case plan.Scope.MentionsOf != "":
		return mentionedSorted(tx, plan)
	}
	scope := scopeAll
	if plan.Scope.Unassigned || plan.Scope.Assignee != "" {
		scope = assigneeScope(plan.Scope.Assignee)
	}
	streams := make([]*indexStream, 0, len(plan.Statuses))
	for _, st := range plan.Statuses {
		prefix := join(scope, sep, []byte{statusByte(st), byte(plan.Sort.Key)})
		streams = append(streams, newIndexStream(tx.Bucket(bucketCaseIndex), prefix, plan.Sort.Desc, plan.After))
	}
	return &merge{streams: streams, desc: plan.Sort.Desc}, nil
}

// inScope reports whether c is in plan's scope (its statuses and filters
// are Matches' business).
func inScope(tx *bbolt.Tx, plan care.Plan, c *care.Case) bool {
	switch sc := plan.Scope; {
	case sc.MentionsOf != "":
		return tx.Bucket(bucketMentionLatest).Get(join([]byte(sc.MentionsOf), sep, i64(c.ID))) != nil
	case sc.Unassigned:
		return c.Assignee == ""
	case sc.Assignee != "":
		return c.Assignee == sc.Assignee
	}
	return true
}

// foundSorted orders the found cases in plan's scope by plan's sort, after
// its cursor.
func foundSorted(tx *bbolt.Tx, plan care.Plan, found idSet) (source, error) {
	all := make(sliceSource, 0, len(found))
	for id := range found {
		c, err := getCase(tx, id)
		if care.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !inScope(tx, plan, c) || !plan.Matches(c) {
			continue
		}
		all = append(all, position(tx, plan, c))
	}
	return sortPositions(all, plan), nil
}

// countPlan counts the cases plan lists (with search q), up to limit:
// from the counters when no filter needs each case, else by walking the
// view's order (or the few cases the search or the sla= filter found,
// as Cases does). plan's sla= filter must be filled (Store.fillSLA).
// capped says the count stopped at limit.
func countPlan(tx *bbolt.Tx, plan care.Plan, q string, limit int) (int64, bool, error) {
	if plan.Empty {
		return 0, false, nil
	}
	search := newMatcher(tx, q)
	perCase := !countable(plan) || plan.SLA.Kind != ""
	if search == nil && !perCase {
		n := countByCounters(tx, plan)
		return min(n, int64(limit)), n > int64(limit), nil
	}
	var src source
	var err error
	few := search.few(tx, loadBelow)
	checked := false // src yields only cases that pass the plan
	if found := narrowSLA(tx, plan, few); found != nil {
		src, err = foundSorted(tx, plan, found)
		checked = true
	} else {
		src, err = planSource(tx, plan)
	}
	if err != nil {
		return 0, false, err
	}
	var n int64
	for {
		pos, ok := src.next()
		if !ok {
			return n, false, nil
		}
		// The few a search found match it; cases found otherwise are
		// searched one by one.
		if search != nil && few == nil && !search.matches(tx, pos.ID) {
			continue
		}
		if !checked && perCase {
			c, err := getCase(tx, pos.ID)
			if err != nil {
				return 0, false, err
			}
			if !plan.Matches(c) {
				continue
			}
		}
		if n == int64(limit) {
			return n, true, nil
		}
		n++
	}
}

// withCustomers fills each case's customer summary.
func withCustomers(tx *bbolt.Tx, cases []care.Case) error {
	for i := range cases {
		if err := withCustomer(tx, &cases[i]); err != nil {
			return err
		}
	}
	return nil
}

func withCustomer(tx *bbolt.Tx, c *care.Case) error {
	cust, err := findCustomer(tx, c.CustomerID)
	if cust != nil {
		c.Customer = cust.Summary()
	}
	return err
}

// position is c's place in the plan's order, for the next page's cursor.
func position(tx *bbolt.Tx, plan care.Plan, c *care.Case) care.Position {
	if plan.Sort.Key == care.SortNoteTime {
		v := tx.Bucket(bucketMentionLatest).Get(join([]byte(plan.Scope.MentionsOf), sep, i64(c.ID)))
		if v != nil {
			return care.Position{Value: getU64(v), ID: c.ID}
		}
	}
	return care.Position{Value: care.SortValue(c, plan.Sort.Key), ID: c.ID}
}

// source yields case positions in order.
type source interface {
	next() (care.Position, bool)
}

// indexStream walks the keys under one prefix whose last 16 bytes are a
// position (value, case id), forwards or backwards, after a position.
type indexStream struct {
	cur    *bbolt.Cursor
	prefix []byte
	desc   bool
	k      []byte
}

func newIndexStream(b *bbolt.Bucket, prefix []byte, desc bool, after *care.Position) *indexStream {
	st := &indexStream{cur: b.Cursor(), prefix: prefix, desc: desc}
	var k []byte
	switch {
	case after != nil:
		seek := join(prefix, u64(after.Value), i64(after.ID))
		k, _ = st.cur.Seek(seek)
		if !desc {
			if bytes.Equal(k, seek) {
				k, _ = st.cur.Next()
			}
		} else if k == nil {
			k, _ = st.cur.Last()
		} else {
			k, _ = st.cur.Prev()
		}
	case !desc:
		k, _ = st.cur.Seek(prefix)
	default:
		if k, _ = st.cur.Seek(prefixEnd(prefix)); k == nil {
			k, _ = st.cur.Last()
		} else {
			k, _ = st.cur.Prev()
		}
	}
	st.k = k
	return st
}

// prefixEnd is the first key after every key that starts with p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
}

func (st *indexStream) peek() (care.Position, bool) {
	if st.k == nil || !bytes.HasPrefix(st.k, st.prefix) || len(st.k) != len(st.prefix)+16 {
		return care.Position{}, false
	}
	n := len(st.k)
	return care.Position{Value: getU64(st.k[n-16 : n-8]), ID: int64(getU64(st.k[n-8:]))}, true
}

func (st *indexStream) advance() {
	if st.desc {
		st.k, _ = st.cur.Prev()
	} else {
		st.k, _ = st.cur.Next()
	}
}

func (st *indexStream) next() (care.Position, bool) {
	p, ok := st.peek()
	if ok {
		st.advance()
	}
	return p, ok
}

func comparePos(a, b care.Position) int {
	if c := cmp.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// merge interleaves sorted streams into one order.
type merge struct {
	streams []*indexStream
	desc    bool
}

func (m *merge) next() (care.Position, bool) {
	best, bestPos := -1, care.Position{}
	for i, st := range m.streams {
		p, ok := st.peek()
		if !ok {
			continue
		}
		c := comparePos(p, bestPos)
		if best < 0 || (!m.desc && c < 0) || (m.desc && c > 0) {
			best, bestPos = i, p
		}
	}
	if best < 0 {
		return care.Position{}, false
	}
	m.streams[best].advance()
	return bestPos, true
}

// sliceSource yields precomputed positions.
type sliceSource []care.Position

func (s *sliceSource) next() (care.Position, bool) {
	if len(*s) == 0 {
		return care.Position{}, false
	}
	p := (*s)[0]
	*s = (*s)[1:]
	return p, true
}

// mentionedSorted orders the cases mentioning a user by a case property: the
// set is one user's mentions, small enough to sort in memory.
func mentionedSorted(tx *bbolt.Tx, plan care.Plan) (source, error) {
	prefix := join([]byte(plan.Scope.MentionsOf), sep)
	var all sliceSource
	c := tx.Bucket(bucketMentionLatest).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		cs, err := getCase(tx, int64(getU64(k[len(prefix):])))
		if err != nil {
			return nil, err
		}
		all = append(all, care.Position{Value: care.SortValue(cs, plan.Sort.Key), ID: cs.ID})
	}
	return sortPositions(all, plan), nil
}

// pastCursor reports whether pos comes after plan's cursor (true without
// one).
func pastCursor(plan care.Plan, pos care.Position) bool {
	if plan.After == nil {
		return true
	}
	c := comparePos(pos, *plan.After)
	return (!plan.Sort.Desc && c > 0) || (plan.Sort.Desc && c < 0)
}

// sortPositions orders the positions after plan's cursor by plan's sort.
func sortPositions(all sliceSource, plan care.Plan) source {
	all = slices.DeleteFunc(all, func(p care.Position) bool { return !pastCursor(plan, p) })
	slices.SortFunc(all, func(a, b care.Position) int {
		if plan.Sort.Desc {
			return comparePos(b, a)
		}
		return comparePos(a, b)
	})
	return &all
}
