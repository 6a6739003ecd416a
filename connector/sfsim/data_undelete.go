package sfsim

import "time"

// UndeleteRecord brings a deleted record back from the recycle bin as the
// admin user would in the UI (the REST API has no undelete): it is live
// again with its values, SystemModstamp moves, and a Case publishes an
// UNDELETE change event. A record that is live or unknown is NOT_FOUND.
func (s *Server) UndeleteRecord(object, id string) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	r := s.recordOf(object, id)
	if r == nil || !r.deleted {
		return errNotFound()
	}
	o := r.obj
	var unique []string
	for _, f := range o.Fields {
		if f.Unique {
			unique = append(unique, f.Name)
		}
	}
	if err := s.checkUnique(o, r.vals, unique, r); err != nil {
		return err
	}
	s.store.undelete(nil, r, s.store.stamp())
	return nil
}

// undelete makes a soft-deleted record live again.
func (st *store) undelete(tx *txn, r *record, at time.Time) {
	st.changes.bump()
	t := st.table(r.obj)
	old, oldAt := r.vals, r.deletedAt
	vals := copyVals(old)
	vals["IsDeleted"] = false
	vals["SystemModstamp"] = at
	r.vals = vals
	r.deleted = false
	r.deletedAt = time.Time{}
	t.indexAdd(r)
	st.undeleted(tx, r)
	tx.onUndo(func() {
		t.indexRemove(r)
		r.vals = old
		r.deleted = true
		r.deletedAt = oldAt
	})
}
