package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/changeevents"
	"github.com/carebridge/carebridge/connector/outbox"
)

// eventsRate is the status latency by change events at one rate of
// Salesforce-side changes.
type eventsRate struct {
	PerSecond int     `json:"changes_per_second"`
	Changes   int     `json:"changes"`
	P50Millis float64 `json:"p50_ms"`
	P95Millis float64 `json:"p95_ms"`
	// RESTCallsPerChange is the Salesforce REST calls the daemon made per
	// applied change while they arrived (goal 0: events carry the values).
	RESTCallsPerChange float64 `json:"rest_calls_per_change"`
}

type eventsResult struct {
	Linked int          `json:"linked_cases"`
	Rates  []eventsRate `json:"rates"`
}

type eventsOptions struct {
	latency time.Duration
	rates   []int
	changes int // per rate
}

// benchEvents measures Salesforce→Care status latency by change events
// (Pub/Sub API, served by the simulated org): each rate changes o.changes
// linked cases at that many per second, each timed from the Salesforce
// update to the Care status. The poller is built (the subscriber catches
// up through it) but never polls on its own.
func benchEvents(ctx context.Context, o eventsOptions, progress func(string)) (eventsResult, error) {
	res := eventsResult{Linked: o.changes * len(o.rates)}
	w, err := newWorld(ctx, o.latency)
	if err != nil {
		return res, err
	}
	defer w.close()
	if w.sim.PubSubURL() == "" {
		return res, fmt.Errorf("the simulated org serves no Pub/Sub API")
	}
	progress(fmt.Sprintf("events: %d linked cases", res.Linked))
	sfIDs, careIDs, err := w.linkedCases(ctx, res.Linked)
	if err != nil {
		return res, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	p, err := w.syncedPoller(ctx, runCtx, 0)
	if err != nil {
		return res, err
	}
	sub, err := changeevents.New(changeevents.Options{URL: w.sim.PubSubURL(), Tokens: w.pool, Poller: p,
		KV: w.store.KV(outbox.Namespace)})
	if err != nil {
		return res, err
	}
	defer sub.Close()
	go sub.Run(runCtx)
	for up := false; !up && ctx.Err() == nil; up, _ = sub.State() {
		time.Sleep(5 * time.Millisecond)
	}
	next := 0 // the next linked case to change
	for _, rate := range o.rates {
		progress(fmt.Sprintf("events: %d changes at %d/s", o.changes, rate))
		r, err := w.eventsAtRate(ctx, rate, sfIDs[next:next+o.changes], careIDs[next:next+o.changes])
		if err != nil {
			return res, err
		}
		next += o.changes
		res.Rates = append(res.Rates, r)
	}
	return res, nil
}

// eventsAtRate changes each Salesforce case once, rate per second, and
// times each change until its Care case shows it.
func (w *world) eventsAtRate(ctx context.Context, rate int, sfIDs []string, careIDs []int64) (eventsRate, error) {
	res := eventsRate{PerSecond: rate, Changes: len(sfIDs)}
	calls := w.sim.Stats().Total
	lat := make([]time.Duration, len(sfIDs))
	errs := make([]error, len(sfIDs))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sfIDs {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		if err := ctx.Err(); err != nil {
			return res, err
		}
		changed := time.Now()
		if err := w.sim.UpdateRecord("Case", sfIDs[i], map[string]any{"Status": "Escalated"}); err != nil {
			return res, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], errs[i] = w.waitStatus(ctx, careIDs[i], care.StatusOnHold, changed)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	res.RESTCallsPerChange = float64(w.sim.Stats().Total-calls) / float64(len(sfIDs))
	res.P50Millis, res.P95Millis = millis(percentile(lat, 0.5)), millis(percentile(lat, 0.95))
	return res, nil
}

// waitStatus waits until the Care case has status st and returns the time
// since changed.
func (w *world) waitStatus(ctx context.Context, id int64, st care.Status, changed time.Time) (time.Duration, error) {
	deadline := changed.Add(30 * time.Second)
	for {
		c, err := w.store.Case(ctx, care.User{}, id)
		if err != nil {
			return 0, err
		}
		if c.Status == st {
			return time.Since(changed), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("case %d: the Salesforce change did not reach Care", id)
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// syncedPoller runs a deliverer until runCtx ends and, once the outbox is
// empty (the backfills of the links delivered first, as a running daemon
// would have done long before), moves the org's clock to now and returns
// a poller beside the deliverer (interval 0: the default).
func (w *world) syncedPoller(ctx, runCtx context.Context, interval time.Duration) (*outbox.Poller, error) {
	d, err := outbox.NewDeliverer(outbox.DelivererOptions{Store: w.store, Tokens: w.pool, Mapping: w.holder.Current})
	if err != nil {
		return nil, err
	}
	go d.Run(runCtx)
	for {
		st, err := w.store.OutboxStats(ctx)
		if err != nil {
			return nil, err
		}
		if st.Pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.present()
	return outbox.NewPoller(outbox.PollerOptions{Store: w.store, KV: w.store.KV(outbox.Namespace), Tokens: w.pool,
		Mapping: w.holder.Current, Policy: w.policy, Deliverer: d, Interval: interval})
}

// linkedCases makes n Care cases linked to Salesforce cases (linkedCase,
// 32 at a time) and returns their Salesforce and Care ids.
func (w *world) linkedCases(ctx context.Context, n int) (sfIDs []string, careIDs []int64, err error) {
	now := time.Now().UTC()
	sfIDs, careIDs = make([]string, n), make([]int64, n)
	err = runConcurrently(n, 32, func(i int) error {
		c, sf, err := w.linkedCase(ctx, i, 1, now)
		sfIDs[i], careIDs[i] = sf, c.ID
		return err
	})
	return sfIDs, careIDs, err
}
