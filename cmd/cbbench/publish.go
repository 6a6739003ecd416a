package main

import (
	"context"
	"fmt"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/publish"
	"github.com/carebridge/carebridge/care/publish/publishtest"
)

// publishResult is the publish section (SPEC §16): replies written by
// agents reaching a local publisher that takes latency to answer each.
type publishResult struct {
	Replies       int     `json:"replies"`
	Cases         int     `json:"cases"`
	LatencyMillis float64 `json:"publisher_latency_ms"`
	Workers       int     `json:"publisher_workers"`
	PerSecond     float64 `json:"replies_per_second"` // a burst of Replies
	// The latency from a reply's write to the publisher, PacedReplies
	// written at PacedRate a second (half the burst's rate).
	PacedRate        int     `json:"paced_replies_per_second"`
	PacedReplies     int     `json:"paced_replies"`
	LatencyP50Millis float64 `json:"reply_to_publisher_p50_ms"`
	LatencyP95Millis float64 `json:"reply_to_publisher_p95_ms"`
	// carebridge_replies_oldest_pending_age_seconds once every answer is
	// stored at the end of the run: 0, nothing left waiting.
	OldestPendingSeconds float64 `json:"oldest_pending_age_seconds"`
}

type publishOptions struct {
	replies, cases, workers int
	latency                 time.Duration
}

// benchPublish writes replies over cases (alice's) as fast as workers
// agents can, while the publisher sends them to the reference publisher,
// and times each from its write to the publisher's receipt.
func benchPublish(ctx context.Context, o publishOptions, progress func(string)) (publishResult, error) {
	res := publishResult{Replies: o.replies, Cases: o.cases, LatencyMillis: millis(o.latency), Workers: publish.DefaultWorkers}
	st, _, cleanup, err := tempStore("publish", bolt.Options{Publishing: true})
	if err != nil {
		return res, err
	}
	defer cleanup()
	community, _ := benchDirectory.User("community")
	alice, _ := benchDirectory.User("alice")
	progress(fmt.Sprintf("publish: %d cases for alice", o.cases))
	now := time.Now().UTC()
	ids := make([]int64, o.cases)
	if err := runConcurrently(o.cases, o.workers, func(i int) error {
		c, err := st.Escalate(ctx, community, care.EscalateInput{Message: incoming(fmt.Sprintf("publish-case-%d", i), i, now)})
		if err != nil {
			return err
		}
		ids[i] = c.Case.ID
		_, err = st.PatchCase(ctx, alice, c.Case.ID, care.CasePatch{Assignee: care.Optional[string]{Set: true, Value: "alice"}})
		return err
	}); err != nil {
		return res, err
	}

	secret := []byte("cbbench-publisher-secret")
	pub := publishtest.New(secret)
	defer pub.Close()
	pub.SetLatency(o.latency)
	tr := &replyTimes{written: map[string]time.Time{}, arrived: map[string]time.Time{}, more: make(chan struct{}, 1)}
	pub.OnTake(tr.arrive)
	p, err := publish.New(publish.Options{Store: st, URL: pub.URL, Secret: secret})
	if err != nil {
		return res, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() { stop(); <-done }()

	write := func(i int) error {
		t := time.Now()
		m, _, err := st.AddMessage(ctx, alice, ids[i%o.cases], care.NewMessage{Kind: "reply", Text: fmt.Sprintf("reply %d", i)})
		tr.write(m.ID, t)
		return err
	}
	progress(fmt.Sprintf("publish: a burst of %d replies to a publisher answering in %s", o.replies, o.latency))
	start := time.Now()
	if err := runConcurrently(o.replies, o.workers, write); err != nil {
		return res, err
	}
	last, _, err := tr.wait(ctx, o.replies)
	if err != nil {
		return res, err
	}
	res.PerSecond = float64(o.replies) / last.Sub(start).Seconds()

	// The latency at a rate the publisher keeps up with: a burst only
	// measures its own queue.
	res.PacedRate = max(1, int(res.PerSecond/2))
	n := min(o.replies, res.PacedRate*5)
	progress(fmt.Sprintf("publish: %d replies at %d/s", n, res.PacedRate))
	tick := time.NewTicker(time.Second / time.Duration(res.PacedRate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		if err := write(o.replies + i); err != nil {
			return res, err
		}
	}
	_, lags, err := tr.wait(ctx, o.replies+n)
	if err != nil {
		return res, err
	}
	lags = lags[o.replies:]
	res.PacedReplies = n
	res.LatencyP50Millis = millis(percentile(lags, 0.50))
	res.LatencyP95Millis = millis(percentile(lags, 0.95))
	end, err := settledStats(ctx, st)
	res.OldestPendingSeconds = end.OldestAge.Seconds()
	return res, err
}

// settledStats reads the publish outbox once the publisher stored every
// answer (its receipt comes before the store records it), waiting at most
// 30 seconds for it.
func settledStats(ctx context.Context, st *bolt.Store) (care.PublishStats, error) {
	limit := time.After(30 * time.Second)
	for {
		s, err := st.PublishStats(ctx)
		if err != nil || s.Pending == 0 {
			return s, err
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-limit:
			return s, nil
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}

// replyTimes notes when each reply was written and when the publisher
// received it.
type replyTimes struct {
	mu      sync.Mutex
	written map[string]time.Time
	arrived map[string]time.Time
	order   []string // message ids in the order received
	more    chan struct{}
}

func (r *replyTimes) write(id string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.written[id] = t
}

func (r *replyTimes) arrive(d publishtest.Delivery) {
	r.mu.Lock()
	r.arrived[d.Body.Message.ID] = d.At
	r.order = append(r.order, d.Body.Message.ID)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

// wait waits until n replies arrived and answers the last arrival and the
// lags from write to arrival, in the order received.
func (r *replyTimes) wait(ctx context.Context, n int) (time.Time, []time.Duration, error) {
	limit := time.After(10 * time.Minute)
	for {
		r.mu.Lock()
		got := len(r.order)
		if got >= n {
			defer r.mu.Unlock()
			lags := make([]time.Duration, 0, got)
			for _, id := range r.order {
				lags = append(lags, r.arrived[id].Sub(r.written[id]))
			}
			return r.arrived[r.order[got-1]], lags, nil
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-ctx.Done():
			return time.Time{}, nil, ctx.Err()
		case <-limit:
			return time.Time{}, nil, fmt.Errorf("the publisher took %d of %d replies", got, n)
		}
	}
}

func printPublish(tw *tabwriter.Writer, p *publishResult) {
	if p == nil {
		return
	}
	fmt.Fprintf(tw, "publish\t%d replies over %d cases to a publisher answering in %.0f ms (%d workers)\treplies/s %.0f\n",
		p.Replies, p.Cases, p.LatencyMillis, p.Workers, p.PerSecond)
	fmt.Fprintf(tw, "publish\treply→publisher p50/p95 at %d replies/s\t%.0f / %.0f ms\n", p.PacedRate, p.LatencyP50Millis, p.LatencyP95Millis)
	fmt.Fprintf(tw, "publish\toldest reply waiting at the end\t%.0f s\n", p.OldestPendingSeconds)
}
