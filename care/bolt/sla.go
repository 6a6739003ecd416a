package bolt

// SLA due times (SPEC §16), kept in the transaction of every case write:
//
//	sla_due       due time, case id, kind → ∅ (running due times not yet breached)
//	sla_breached  case id → ∅ (cases with a breach)
//
// A breach scan reads sla_due up to now (one range scan however many cases
// the store holds); the sla= filters start from these buckets when they
// hold few cases; sort=sla_due_asc is a sort key of case_index.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/prometheus/client_golang/prometheus"
	bbolt "go.etcd.io/bbolt"
)

var (
	bucketSLADue      = []byte("sla_due")
	bucketSLABreached = []byte("sla_breached")

	// metaSLAIndex marks a database whose cases all have their
	// sla_due_asc entries in case_index.
	metaSLAIndex = []byte("sla_indexed_v1")
)

func slaDueKey(d care.SLADue, id int64) []byte {
	return join(u64(care.TimeKey(d.At)), i64(id), []byte(d.Kind))
}

// indexSLA moves a case's entries in sla_due and sla_breached from
// before's (nil: a new case) to c's.
func indexSLA(tx *bbolt.Tx, before, c *care.Case) error {
	var was []care.SLADue
	var wasBreached bool
	if before != nil {
		was, wasBreached = before.SLA.Watched(), before.SLA.IsBreached("")
	}
	now := c.SLA.Watched()
	due := tx.Bucket(bucketSLADue)
	for _, d := range was {
		if !slices.Contains(now, d) {
			if err := due.Delete(slaDueKey(d, c.ID)); err != nil {
				return err
			}
		}
	}
	for _, d := range now {
		if !slices.Contains(was, d) {
			if err := due.Put(slaDueKey(d, c.ID), nil); err != nil {
				return err
			}
		}
	}
	switch breached := c.SLA.IsBreached(""); {
	case breached && !wasBreached:
		return tx.Bucket(bucketSLABreached).Put(i64(c.ID), nil)
	case !breached && wasBreached:
		return tx.Bucket(bucketSLABreached).Delete(i64(c.ID))
	}
	return nil
}

// migrateSLAIndex gives every case of a store written before SLA policies
// its sla_due_asc entries in case_index, once.
func migrateSLAIndex(tx *bbolt.Tx) error {
	if tx.Bucket(bucketMeta).Get(metaSLAIndex) != nil {
		return nil
	}
	idx := tx.Bucket(bucketCaseIndex)
	err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
		var c care.Case
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("case %x: %w", k, err)
		}
		for _, scope := range [][]byte{scopeAll, assigneeScope(c.Assignee)} {
			key := indexKey(scope, c.Status, care.SortSLADue, care.SortValue(&c, care.SortSLADue), c.ID)
			if err := idx.Put(key, nil); err != nil {
				return err
			}
		}
		return indexSLA(tx, nil, &c)
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaSLAIndex, []byte{1})
}

// fillSLA gives plan's sla= filter the time and the policies.
func (s *Store) fillSLA(plan *care.Plan) {
	plan.SLA.Now, plan.SLA.Policies = s.now(), s.policy.SLA
}

// narrowSLA narrows found (the cases a search left, nil: no small set)
// by plan's sla= filter when its index holds at most loadBelow cases: the
// breached cases, or the cases with a due time within the longest quarter
// target from now. Each case is still checked by plan.Matches.
func narrowSLA(tx *bbolt.Tx, plan care.Plan, found idSet) idSet {
	var cands idSet
	switch plan.SLA.Kind {
	case care.SLAFilterBreached:
		cands = firstIDs(tx.Bucket(bucketSLABreached).Cursor(), nil, 0, loadBelow)
	case care.SLAFilterDueSoon:
		var quarter time.Duration
		for _, p := range plan.SLA.Policies {
			for _, k := range care.SLAKinds {
				quarter = max(quarter, p.Target(k)/4)
			}
		}
		until := u64(care.TimeKey(plan.SLA.Now.Add(quarter)) + 1)
		cands = firstIDs(tx.Bucket(bucketSLADue).Cursor(), until, 8, loadBelow)
	default:
		return found
	}
	switch {
	case cands == nil:
		return found
	case found == nil:
		return cands
	}
	for id := range found {
		if !has(cands, id) {
			delete(found, id)
		}
	}
	return found
}

// firstIDs gathers the case ids of the keys before until (nil: all), the
// id at offset off of each key, unless there are more than n distinct
// ones (then nil).
func firstIDs(cur *bbolt.Cursor, until []byte, off, n int) idSet {
	out := idSet{}
	for k, _ := cur.First(); k != nil && (until == nil || bytes.Compare(k, until) < 0); k, _ = cur.Next() {
		if len(k) < off+8 {
			continue
		}
		out[int64(getU64(k[off:off+8]))] = struct{}{}
		if len(out) > n {
			return nil
		}
	}
	return out
}

// maxBreachBatch bounds the cases one breach scan writes; the next scan
// takes the rest.
const maxBreachBatch = 1000

// BreachSLAs records as breached every due time that has passed: one
// range scan of sla_due up to now, then one write for the cases found,
// each kind once per case. Each breach is a change for OnCommit (an event
// case.sla_breached). It answers the breaches recorded.
func (s *Store) BreachSLAs(ctx context.Context) ([]care.SLABreach, error) {
	now := s.now()
	var ids []int64
	err := s.view(func(tx *bbolt.Tx) error {
		until := u64(care.TimeKey(now) + 1)
		cur := tx.Bucket(bucketSLADue).Cursor()
		for k, _ := cur.First(); k != nil && bytes.Compare(k, until) < 0 && len(ids) < maxBreachBatch; k, _ = cur.Next() {
			if id := int64(getU64(k[8:16])); !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []care.SLABreach
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		out = out[:0]
		for _, id := range ids {
			before, err := getCase(tx, id)
			if care.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			kinds := before.SLA.Overdue(now)
			if len(kinds) == 0 {
				continue
			}
			after := *before
			after.Breach(kinds)
			if err := s.putCase(tx, before, &after); err != nil {
				return err
			}
			for _, k := range kinds {
				b := care.SLABreach{CaseID: id, Policy: after.SLA.Policy, Kind: k}
				out = append(out, b)
				s.record(care.Change{Before: before, After: after, SLABreach: &b})
			}
		}
		return nil
	})
	return out, err
}

// SLAWatcher records breaches as due times pass (Store.BreachSLAs on a
// ticker) and counts them in carebridge_sla_breaches_total{policy,kind}.
type SLAWatcher struct {
	store    *Store
	logger   *slog.Logger
	breaches *prometheus.CounterVec
}

// NewSLAWatcher registers the breach counter with reg, every policy and
// kind exported at 0 from the start.
func NewSLAWatcher(store *Store, reg prometheus.Registerer, logger *slog.Logger) (*SLAWatcher, error) {
	if logger == nil {
		logger = slog.Default()
	}
	w := &SLAWatcher{store: store, logger: logger, breaches: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebridge_sla_breaches_total", Help: "SLA due times passed unmet, by policy and kind.",
	}, []string{"policy", "kind"})}
	for _, p := range store.policy.SLA {
		for _, k := range care.SLAKinds {
			w.breaches.WithLabelValues(p.Name, string(k))
		}
	}
	if err := reg.Register(w.breaches); err != nil {
		return nil, fmt.Errorf("register the SLA breach counter: %w", err)
	}
	return w, nil
}

// Check records the breaches due now and counts them.
func (w *SLAWatcher) Check(ctx context.Context) ([]care.SLABreach, error) {
	got, err := w.store.BreachSLAs(ctx)
	for _, b := range got {
		w.breaches.WithLabelValues(b.Policy, string(b.Kind)).Inc()
	}
	return got, err
}

// Run checks every interval until ctx ends. Without policies it returns
// at once.
func (w *SLAWatcher) Run(ctx context.Context, interval time.Duration) {
	if len(w.store.policy.SLA) == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.logger.Error("record SLA breaches", "err", err)
		}
	}
}

// SLACheckInterval is how often the daemon looks for breaches: a breach is
// recorded at most this long after its due time.
const SLACheckInterval = 10 * time.Second
