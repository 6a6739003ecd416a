package sfsim

import (
	"strings"
	"sync"
	"time"
)

// record is one row. vals maps canonical field names to stored values:
// string (text, picklist, id, reference, date as YYYY-MM-DD), bool, float64
// (double, currency, percent), int64 (int) or time.Time (datetime). A
// missing key is null. vals is never changed in place: an update swaps in a
// new map, so a rollback restores the old one and readers of a snapshot are
// safe.
type record struct {
	obj       *object
	id        string
	vals      map[string]any
	deleted   bool
	deletedAt time.Time
}

// table holds the rows of one object in creation order.
type table struct {
	obj  *object
	rows []*record
	byID map[string]*record
	// index maps each unique or external-id field to lower-cased values
	// and the live records holding them.
	index map[string]map[string][]*record
	// autoNum is the last number handed out per auto-number field.
	autoNum map[string]int
}

// store is the org's data. Its lock is held by the request handlers: a read
// lock for reads, the write lock for writes and for whole composite
// requests, so allOrNone rollbacks are never observed half-done.
type store struct {
	mu     sync.RWMutex
	schema *schema
	tables map[string]*table
	ids    idGen
	now    func() time.Time
	// last is the last write stamp handed out; stamps never go backwards.
	last time.Time
	// changes counts writes, for the state file.
	changes *changeCount
	// events, when set, publishes a change event for every Case write
	// (pubsub_log.go).
	events *changeLog
}

func newStore(s *schema, now func() time.Time) *store {
	st := &store{schema: s, tables: map[string]*table{}, now: now}
	for _, o := range s.objects {
		st.addTable(o)
	}
	return st
}

func (st *store) addTable(o *object) {
	t := &table{obj: o, byID: map[string]*record{}, index: map[string]map[string][]*record{}, autoNum: map[string]int{}}
	for _, f := range o.Fields {
		if f.Unique || f.ExternalID {
			t.index[f.Name] = map[string][]*record{}
		}
	}
	st.tables[o.Name] = t
}

func (st *store) table(o *object) *table { return st.tables[o.Name] }

// stamp returns the time for a write: now in UTC cut to the whole second,
// as a real org's CreatedDate, LastModifiedDate and SystemModstamp are
// (several writes share a second; queries order ties by Id), never
// earlier than the previous stamp.
func (st *store) stamp() time.Time {
	t := st.now().UTC().Truncate(time.Second)
	if t.Before(st.last) {
		t = st.last
	}
	st.last = t
	return t
}

// byID finds a record (deleted ones too) by its 18-character id.
func (st *store) byID(id string) *record {
	if len(id) < 3 {
		return nil
	}
	o := st.schema.byPrefix[id[:3]]
	if o == nil {
		return nil
	}
	return st.table(o).byID[id]
}

// txn collects undo steps so that allOrNone requests can roll back. A nil
// *txn records nothing.
type txn struct{ undo []func() }

func (t *txn) onUndo(f func()) {
	if t != nil {
		t.undo = append(t.undo, f)
	}
}

func (t *txn) mark() int {
	if t == nil {
		return 0
	}
	return len(t.undo)
}

// rollback undoes every step after mark, newest first.
func (t *txn) rollback(mark int) {
	if t == nil {
		return
	}
	for i := len(t.undo) - 1; i >= mark; i-- {
		t.undo[i]()
	}
	t.undo = t.undo[:mark]
}

func indexKey(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", false
	}
	// Text external ids and unique fields are case-insensitive by default
	// ("Treat ABC and abc as duplicate values").
	return strings.ToLower(s), true
}

func (t *table) indexAdd(r *record) {
	for name, idx := range t.index {
		if k, ok := indexKey(r.vals[name]); ok {
			idx[k] = append(idx[k], r)
		}
	}
}

func (t *table) indexRemove(r *record) {
	for name, idx := range t.index {
		k, ok := indexKey(r.vals[name])
		if !ok {
			continue
		}
		rs := idx[k]
		for i, x := range rs {
			if x == r {
				rs = append(rs[:i:i], rs[i+1:]...)
				break
			}
		}
		if len(rs) == 0 {
			delete(idx, k)
		} else {
			idx[k] = rs
		}
	}
}

// insert adds a new record.
func (st *store) insert(tx *txn, r *record) {
	st.changes.bump()
	t := st.table(r.obj)
	t.rows = append(t.rows, r)
	t.byID[r.id] = r
	t.indexAdd(r)
	st.created(tx, r)
	tx.onUndo(func() {
		t.indexRemove(r)
		delete(t.byID, r.id)
		// Inserts are undone newest first, so r is the last row.
		if n := len(t.rows); n > 0 && t.rows[n-1] == r {
			t.rows = t.rows[:n-1]
		}
	})
}

// replace swaps in new values for a live record.
func (st *store) replace(tx *txn, r *record, vals map[string]any) {
	st.changes.bump()
	t := st.table(r.obj)
	old := r.vals
	t.indexRemove(r)
	r.vals = vals
	t.indexAdd(r)
	st.updated(tx, r, old)
	tx.onUndo(func() {
		t.indexRemove(r)
		r.vals = old
		t.indexAdd(r)
	})
}

// softDelete moves a record to the recycle bin.
func (st *store) softDelete(tx *txn, r *record, at time.Time) {
	st.changes.bump()
	t := st.table(r.obj)
	old := r.vals
	t.indexRemove(r)
	vals := copyVals(old)
	vals["IsDeleted"] = true
	vals["SystemModstamp"] = at
	r.vals = vals
	r.deleted = true
	r.deletedAt = at
	st.deleted(tx, r)
	tx.onUndo(func() {
		r.vals = old
		r.deleted = false
		r.deletedAt = time.Time{}
		t.indexAdd(r)
	})
}

// findBy returns the live records whose indexed field equals v
// (case-insensitively). Unindexed fields are scanned.
func (st *store) findBy(o *object, f *field, v string) []*record {
	t := st.table(o)
	if idx, ok := t.index[f.Name]; ok {
		return append([]*record(nil), idx[strings.ToLower(v)]...)
	}
	var out []*record
	for _, r := range t.rows {
		if r.deleted {
			continue
		}
		if s, ok := r.vals[f.Name].(string); ok && strings.EqualFold(s, v) {
			out = append(out, r)
		}
	}
	return out
}

// nextAutoNumber hands out the next number of an auto-number field. Like
// Salesforce, numbers used by a rolled-back insert are not reused.
func (st *store) nextAutoNumber(o *object, f *field) string {
	t := st.table(o)
	t.autoNum[f.Name]++
	return autoNumber(f.autoFormat, t.autoNum[f.Name])
}

func copyVals(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+4)
	for k, v := range m {
		out[k] = v
	}
	return out
}
