package bolt

// Saved views: a user's filters and sort, private or shared.
//
//	saved_views  view id → SavedView JSON

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

var bucketSavedViews = []byte("saved_views")

func savedViewKey(id string) ([]byte, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 {
		return nil, false
	}
	return u64(n), true
}

// getSavedView reads one saved view; an id no view has is not found.
func getSavedView(tx *bbolt.Tx, id string) (*care.SavedView, error) {
	k, ok := savedViewKey(id)
	var v care.SavedView
	if ok {
		found, err := getJSON(tx.Bucket(bucketSavedViews), k, &v)
		if err != nil {
			return nil, err
		}
		ok = found
	}
	if !ok {
		return nil, care.Errorf(care.CodeNotFound, "saved view %q not found", id)
	}
	return &v, nil
}

// savedViews lists every saved view, oldest first.
func savedViews(tx *bbolt.Tx) ([]care.SavedView, error) {
	var out []care.SavedView
	err := tx.Bucket(bucketSavedViews).ForEach(func(_, raw []byte) error {
		var v care.SavedView
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// CreateView saves a view for actor; a user owns at most
// care.MaxSavedViews.
func (s *Store) CreateView(ctx context.Context, actor care.User, v care.SavedView) (care.SavedView, error) {
	if err := care.CheckSavedView(actor, &v); err != nil {
		return care.SavedView{}, err
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		all, err := savedViews(tx)
		if err != nil {
			return err
		}
		owned := 0
		for _, o := range all {
			if o.Owner == actor.ID {
				owned++
			}
		}
		if owned >= care.MaxSavedViews {
			return care.Errorf(care.CodeTooLarge, "saved views: %d, at most %d", owned+1, care.MaxSavedViews)
		}
		b := tx.Bucket(bucketSavedViews)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		v.ID, v.CreatedAt = strconv.FormatUint(seq, 10), s.now()
		return putJSON(b, u64(seq), &v)
	})
	if err != nil {
		return care.SavedView{}, err
	}
	return v, nil
}

// SavedViews lists actor's own saved views and the shared ones, oldest
// first, each with the number of cases it lists for actor (counting stops
// at care.MaxSavedViewCount).
func (s *Store) SavedViews(ctx context.Context, actor care.User) ([]care.SavedViewCount, error) {
	if err := care.CheckReadsCustomers(actor); err != nil {
		return nil, err
	}
	out := []care.SavedViewCount{}
	err := s.view(func(tx *bbolt.Tx) error {
		all, err := savedViews(tx)
		if err != nil {
			return err
		}
		for _, v := range all {
			if !v.Visible(actor) {
				continue
			}
			vc := care.SavedViewCount{SavedView: v}
			// A shared view may ask for what this caller may not see
			// (spam, for an agent): it lists nothing for them.
			if plan, err := care.PlanQuery(actor, v.Query(care.CaseQuery{})); err == nil {
				s.fillSLA(&plan)
				if vc.Count, vc.CountCapped, err = countPlan(tx, plan, v.Filters.Q, care.MaxSavedViewCount); err != nil {
					return err
				}
			}
			out = append(out, vc)
		}
		return nil
	})
	return out, err
}

// DeleteView deletes a saved view: its owner or a supervisor may.
func (s *Store) DeleteView(ctx context.Context, actor care.User, id string) error {
	if err := care.CheckActsAsAgent(actor); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		v, err := getSavedView(tx, id)
		if err != nil {
			return err
		}
		if v.Owner != actor.ID && actor.Role != care.RoleSupervisor {
			return care.Errorf(care.CodeForbidden, "only its owner or a supervisor deletes a saved view")
		}
		k, _ := savedViewKey(id)
		return tx.Bucket(bucketSavedViews).Delete(k)
	})
}

// resolveSavedView turns a query naming a saved view into the view's
// query; the caller must own the view or it must be shared.
func (s *Store) resolveSavedView(actor care.User, q care.CaseQuery) (care.CaseQuery, error) {
	if q.SavedView == "" {
		return q, nil
	}
	v, err := viewGet(s, func(tx *bbolt.Tx) (*care.SavedView, error) { return getSavedView(tx, q.SavedView) })
	if err != nil {
		return care.CaseQuery{}, err
	}
	if !v.Visible(actor) {
		return care.CaseQuery{}, care.Errorf(care.CodeForbidden, "saved view %s is neither yours nor shared", q.SavedView)
	}
	return v.Query(q), nil
}
