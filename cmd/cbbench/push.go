package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/tokens"
)

type pushResult struct {
	Messages          int     `json:"messages"`
	Cases             int     `json:"cases"`
	Calls             int64   `json:"calls"`
	MessagesPerCall   float64 `json:"messages_per_call"`
	MessagesPerSecond float64 `json:"messages_per_second"`
	LatencyP50Millis  float64 `json:"latency_p50_ms"`
	LatencyP95Millis  float64 `json:"latency_p95_ms"`
	LatencyP99Millis  float64 `json:"latency_p99_ms"`
	BaselineCalls     int64   `json:"baseline_calls"`
	BaselinePerSecond float64 `json:"baseline_messages_per_second"`
	CallRatio         float64 `json:"call_ratio"`
	BackfillMessages  int     `json:"backfill_messages"`
	BackfillCalls     int64   `json:"backfill_calls"`
}

type pushOptions struct {
	latency, linger           time.Duration
	messages, cases, backfill int
}

// seen watches the org's message records and notes when each first shows.
type seen struct {
	mu    sync.Mutex
	first map[string]time.Time
}

func (s *seen) scan(w *world) int {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range w.sim.Records("Care_Social_Post__c") {
		id := fmt.Sprint(r["Care_Message_Id__c"])
		if _, ok := s.first[id]; !ok {
			s.first[id] = now
		}
	}
	return len(s.first)
}

// waitAll polls the org until want message records exist.
func (s *seen) waitAll(ctx context.Context, w *world, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for s.scan(w) < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d messages reached Salesforce in %s", s.scan(w), want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// benchPush measures carebridge's delivery of a burst against the naive
// one-call-per-message baseline, and the backfill of a newly escalated case.
func benchPush(ctx context.Context, o pushOptions, progress func(string)) (pushResult, error) {
	res := pushResult{Messages: o.messages, Cases: o.cases, BackfillMessages: o.backfill}
	w, err := newWorld(ctx, o.latency)
	if err != nil {
		return res, err
	}
	defer w.close()
	now := time.Now().UTC()
	progress(fmt.Sprintf("push: %d linked cases", o.cases))
	for n := range o.cases {
		if _, _, err := w.linkedCase(ctx, n, 1, now); err != nil {
			return res, err
		}
	}
	w.present()
	d, err := outbox.NewDeliverer(outbox.DelivererOptions{Store: w.store, Tokens: w.pool, Mapping: w.holder.Current, Linger: o.linger})
	if err != nil {
		return res, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go d.Run(runCtx)
	obs := &seen{first: map[string]time.Time{}}
	if err := obs.waitAll(ctx, w, o.cases, time.Minute); err != nil { // the link backfills
		return res, err
	}

	progress(fmt.Sprintf("push: a burst of %d messages", o.messages))
	community, _ := w.users.User("community")
	w.sim.ResetStats()
	sent := make(map[string]time.Time, o.messages)
	var mu sync.Mutex
	start := time.Now()
	if err := runConcurrently(o.messages, 16, func(i int) error {
		r, err := w.store.Ingest(ctx, community, incoming(fmt.Sprintf("burst-%d", i), i%o.cases, now.Add(time.Duration(i)*time.Millisecond)))
		if err != nil {
			return err
		}
		mu.Lock()
		sent[r.Message.ID] = time.Now()
		mu.Unlock()
		return nil
	}); err != nil {
		return res, err
	}
	if err := obs.waitAll(ctx, w, o.cases+o.messages, 5*time.Minute); err != nil {
		return res, err
	}
	elapsed := time.Since(start)
	res.Calls = w.sim.Stats().ByOperation["collections"]
	res.MessagesPerCall = float64(o.messages) / float64(max(res.Calls, 1))
	res.MessagesPerSecond = float64(o.messages) / elapsed.Seconds()
	var lat []time.Duration
	obs.mu.Lock()
	for id, at := range sent {
		lat = append(lat, obs.first[id].Sub(at))
	}
	obs.mu.Unlock()
	res.LatencyP50Millis, res.LatencyP95Millis, res.LatencyP99Millis = millis(percentile(lat, 0.5)), millis(percentile(lat, 0.95)), millis(percentile(lat, 0.99))

	progress(fmt.Sprintf("push: backfill of a case with %d messages", o.backfill))
	w.sim.ResetStats()
	if _, _, err := w.linkedCase(ctx, o.cases, o.backfill, now); err != nil {
		return res, err
	}
	if err := obs.waitAll(ctx, w, o.cases+o.messages+o.backfill, time.Minute); err != nil {
		return res, err
	}
	res.BackfillCalls = w.sim.Stats().ByOperation["collections"]
	stop()
	d.Drain(context.Background())

	progress("push: the naive baseline, one upsert per message")
	base, err := baseline(ctx, w, o)
	if err != nil {
		return res, err
	}
	res.BaselineCalls, res.BaselinePerSecond = base.calls, base.perSecond
	res.CallRatio = float64(res.BaselineCalls) / float64(max(res.Calls, 1))
	return res, nil
}

type baselineResult struct {
	calls     int64
	perSecond float64
}

// baseline pushes the same number of messages the naive way: one upsert
// call per message, with as many workers as the deliverer has.
func baseline(ctx context.Context, w *world, o pushOptions) (baselineResult, error) {
	m := w.holder.Current()
	msgs, err := w.store.RecentMessages(ctx, 1, 1)
	if err != nil || len(msgs) == 0 {
		return baselineResult{}, errors.New("baseline: no message to copy")
	}
	c, err := w.store.Case(ctx, care.User{}, 1)
	if err != nil {
		return baselineResult{}, err
	}
	w.sim.ResetStats()
	start := time.Now()
	err = runConcurrently(o.messages, 4, func(i int) error {
		msg := msgs[0]
		msg.ID = fmt.Sprintf("baseline-%d", i)
		return w.pool.DoBackground(ctx, func(conn *tokens.Conn) error {
			info, err := connectorDescribe(ctx, conn, m.Messages.Object)
			if err != nil {
				return err
			}
			rec, err := m.RenderMessage(msg, c.Salesforce.CaseID, info)
			if err != nil {
				return err
			}
			_, err = conn.Client.Upsert(ctx, rec.Object, rec.ExternalIDField, rec.ExternalID, rec.Fields)
			return err
		})
	})
	if err != nil {
		return baselineResult{}, err
	}
	st := w.sim.Stats()
	return baselineResult{calls: st.ByOperation["upsert"], perSecond: float64(o.messages) / time.Since(start).Seconds()}, nil
}
