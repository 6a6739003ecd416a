package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/care"
)

type pollSize struct {
	Linked int `json:"linked_cases"`
	// Unlinked is how many other Cases of the org change meanwhile; a
	// poll reads the linked cases only, so RowsPerPoll does not grow
	// with it.
	Unlinked     int     `json:"unlinked_changed_cases"`
	Polls        int     `json:"polls"`
	CallsPerPoll float64 `json:"calls_per_poll"`
	RowsPerPoll  float64 `json:"rows_per_poll"`
	P50Millis    float64 `json:"p50_ms"`
	P95Millis    float64 `json:"p95_ms"`
}

type pollResult struct {
	Interval string     `json:"poll_interval"`
	Sizes    []pollSize `json:"sizes"`
}

type pollOptions struct {
	latency  time.Duration
	sizes    []int
	unlinked int // Cases of the org no Care case is linked to, changed during the run
	changes  int
	interval time.Duration
}

// benchPoll measures the time from a Salesforce-side status change to the
// Care status, and the Salesforce calls and rows each poll costs, for each
// number of linked cases, while o.unlinked other Cases of the org change.
func benchPoll(ctx context.Context, o pollOptions, progress func(string)) (pollResult, error) {
	res := pollResult{Interval: o.interval.String()}
	for _, n := range o.sizes {
		s, err := benchPollSize(ctx, o, n, progress)
		if err != nil {
			return res, err
		}
		res.Sizes = append(res.Sizes, s)
	}
	return res, nil
}

func benchPollSize(ctx context.Context, o pollOptions, linked int, progress func(string)) (pollSize, error) {
	res := pollSize{Linked: linked, Unlinked: o.unlinked}
	w, err := newWorld(ctx, o.latency)
	if err != nil {
		return res, err
	}
	defer w.close()
	progress(fmt.Sprintf("status: %d linked cases", linked))
	sfIDs, careIDs, err := w.linkedCases(ctx, linked)
	if err != nil {
		return res, err
	}
	others := make([]string, o.unlinked)
	for i := range others {
		if others[i], err = w.sim.CreateRecord("Case", map[string]any{"Subject": fmt.Sprintf("not linked %d", i)}); err != nil {
			return res, err
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	p, err := w.syncedPoller(ctx, runCtx, o.interval)
	if err != nil {
		return res, err
	}
	// The daemon's loop (Run) polls every interval; the bench runs the
	// same loop itself so that it counts each poll's calls and rows exactly
	// (sfsim's counters would also see a poll in flight at the reset).
	var polls, calls, rows atomic.Int64
	var measuring atomic.Bool
	firstDone := make(chan struct{})
	go func() {
		first := true
		for runCtx.Err() == nil {
			start := time.Now()
			res, err := p.Poll(runCtx)
			if err == nil && measuring.Load() {
				polls.Add(1)
				calls.Add(int64(res.Pages))
				rows.Add(int64(res.Records))
			}
			if first {
				first = false
				close(firstDone)
			}
			select {
			case <-runCtx.Done():
			case <-time.After(o.interval - time.Since(start)):
			}
		}
	}()
	select {
	case <-firstDone:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	measuring.Store(true)
	// The rest of the org is busy too: every other Case changes now.
	for _, id := range others {
		if err := w.sim.UpdateRecord("Case", id, map[string]any{"Status": "Working"}); err != nil {
			return res, err
		}
	}
	// Salesforce users change statuses; Care follows.
	values := []struct {
		sf   string
		care care.Status
	}{{"Escalated", care.StatusOnHold}, {"Closed", care.StatusDone}, {"Working", care.StatusOpen}}
	var lat []time.Duration
	for i := range o.changes {
		k := (i * 7919) % linked
		v := values[i%len(values)]
		c, err := w.store.Case(ctx, care.User{}, careIDs[k])
		if err != nil {
			return res, err
		}
		if c.Status == v.care {
			v = values[(i+1)%len(values)]
		}
		changed := time.Now()
		if err := w.sim.UpdateRecord("Case", sfIDs[k], map[string]any{"Status": v.sf}); err != nil {
			return res, err
		}
		deadline := changed.Add(o.interval*3 + 10*time.Second)
		for {
			c, err := w.store.Case(ctx, care.User{}, careIDs[k])
			if err != nil {
				return res, err
			}
			if c.Status == v.care {
				lat = append(lat, time.Since(changed))
				break
			}
			if time.Now().After(deadline) {
				return res, fmt.Errorf("case %d: Salesforce status %s did not reach Care", careIDs[k], v.sf)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	measuring.Store(false)
	res.Polls = int(max(polls.Load(), 1))
	res.CallsPerPoll = float64(calls.Load()) / float64(res.Polls)
	res.RowsPerPoll = float64(rows.Load()) / float64(res.Polls)
	res.P50Millis, res.P95Millis = millis(percentile(lat, 0.5)), millis(percentile(lat, 0.95))
	return res, nil
}
