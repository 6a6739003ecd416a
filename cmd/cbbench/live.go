package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
)

// searchResult is the section of the live console's store (SPEC §14):
// what the view counters and the search index cost, measured on the store
// itself (the events feed is the feed section).
type searchResult struct {
	Cases    int `json:"cases"`
	Messages int `json:"messages"`
	// Ingest rates of the same messages into the same cases, with the
	// search index and with it switched off.
	IngestPerSecond        float64 `json:"ingest_messages_per_second"`
	IngestNoIndexPerSecond float64 `json:"ingest_without_index_messages_per_second"`
	IngestConcurrent       int     `json:"ingest_concurrency"`
	CountsP95Millis        float64 `json:"view_counts_p95_ms"`
	SearchP50Millis        float64 `json:"search_p50_ms"`
	SearchP95Millis        float64 `json:"search_p95_ms"`
	SearchQueries          int     `json:"search_queries"`
	// The longest a write transaction of index work held the store's
	// writers during the indexed ingest: of a fold of the log, and of a
	// merge (a chunk of its keys or its publication).
	FoldHoldMillis  float64 `json:"longest_fold_write_hold_ms"`
	MergeHoldMillis float64 `json:"longest_merge_write_hold_ms"`
}

// liveWords are the words the live section's messages are made of: a few
// a care team would search for, then made-up ones, drawn by a Zipf law.
var liveWords = func() []string {
	words := strings.Fields("refund order parcel delivery broken late invoice perfume hibiscus lavender account password " +
		"shipping return exchange damaged missing voucher discount store manager")
	for i := 0; len(words) < 8000; i++ {
		words = append(words, fmt.Sprintf("w%dq", i))
	}
	return words
}()

type liveText struct{ zipf *rand.Zipf }

func newLiveText(seed uint64) liveText {
	return liveText{zipf: rand.NewZipf(rand.New(rand.NewPCG(seed, 17)), 1.07, 2, uint64(len(liveWords)-1))}
}

// next is a message of 15 words.
func (t liveText) next() string {
	var sb strings.Builder
	for i := range 15 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(liveWords[t.zipf.Uint64()])
	}
	return sb.String()
}

// caseFirstName is the first name of the customer of case i, a word of
// the texts; every message of the customer carries it (no message
// renames its customer).
func caseFirstName(i int) string { return liveWords[i%len(liveWords)] }

// liveStore fills st with cases cases (a third assigned to alice) and
// times the ingest of messages messages into them (per second).
func liveStore(ctx context.Context, st *bolt.Store, cases, messages, workers int) (float64, error) {
	community, _ := benchDirectory.User("community")
	sue, _ := benchDirectory.User("sue")
	now := time.Now().UTC()
	alice := care.Optional[string]{Set: true, Value: "alice"}
	if err := runConcurrently(cases, workers, func(i int) error {
		m := incoming(fmt.Sprintf("live-case-%d", i), i, now)
		m.Customer.FirstName = caseFirstName(i)
		c, err := st.Escalate(ctx, community, care.EscalateInput{Message: m})
		if err != nil || i%3 != 0 {
			return err
		}
		_, err = st.PatchCase(ctx, sue, c.Case.ID, care.CasePatch{Assignee: alice})
		return err
	}); err != nil {
		return 0, err
	}
	texts := make([]string, messages)
	gen := newLiveText(1)
	for i := range texts {
		texts[i] = gen.next()
	}
	start := time.Now()
	err := runConcurrently(messages, workers, func(i int) error {
		m := incoming(fmt.Sprintf("live-m-%d", i), i%cases, now.Add(time.Duration(i)*time.Millisecond))
		m.Customer.FirstName, m.Text = caseFirstName(i%cases), texts[i]
		r, err := st.Ingest(ctx, community, m)
		if err == nil && r.CaseID == 0 {
			err = fmt.Errorf("message %d found no case", i)
		}
		return err
	})
	return float64(messages) / time.Since(start).Seconds(), err
}

// benchSearch measures ingest with and without the search index, then the
// counts of every view and searches over the indexed store.
func benchSearch(ctx context.Context, cases, messages, workers int, progress func(string)) (searchResult, error) {
	res := searchResult{Cases: cases, Messages: messages, IngestConcurrent: workers}
	progress(fmt.Sprintf("search: %d cases, %d messages without the search index", cases, messages))
	plain, _, cleanup, err := tempStore("search-plain", bolt.Options{WithoutSearchIndex: true})
	if err != nil {
		return res, err
	}
	res.IngestNoIndexPerSecond, err = liveStore(ctx, plain, cases, messages, workers)
	cleanup()
	if err != nil {
		return res, err
	}
	progress(fmt.Sprintf("search: %d cases, %d messages with the search index", cases, messages))
	st, _, cleanup, err := tempStore("search", bolt.Options{})
	if err != nil {
		return res, err
	}
	defer cleanup()
	if res.IngestPerSecond, err = liveStore(ctx, st, cases, messages, workers); err != nil {
		return res, err
	}
	fold, merge := st.LongestIndexWriteHold()
	res.FoldHoldMillis, res.MergeHoldMillis = millis(fold), millis(merge)

	sue, _ := benchDirectory.User("sue")
	alice, _ := benchDirectory.User("alice")
	progress("search: timing view counts")
	var lat []time.Duration
	for i := range 1000 {
		u := []care.User{sue, alice}[i%2]
		t := time.Now()
		if _, err := st.ViewCounts(ctx, u); err != nil {
			return res, err
		}
		lat = append(lat, time.Since(t))
	}
	res.CountsP95Millis = millis(percentile(lat, 0.95))

	progress("search: timing searches")
	gen := newLiveText(2)
	queries := []string{"refund", "parcel late", "deliv", "Doe42", liveWords[5] + " " + liveWords[40]}
	for range 15 {
		queries = append(queries, strings.Join(strings.Fields(gen.next())[:2], " "))
	}
	lat = lat[:0]
	for i := range 1000 {
		q := care.CaseQuery{Q: queries[i%len(queries)]}
		u := sue
		if i%2 == 1 {
			u, q.View = alice, care.ViewInbox
		}
		t := time.Now()
		if _, err := st.Cases(ctx, u, q); err != nil {
			return res, err
		}
		lat = append(lat, time.Since(t))
	}
	res.SearchQueries = len(lat)
	res.SearchP50Millis, res.SearchP95Millis = millis(percentile(lat, 0.50)), millis(percentile(lat, 0.95))
	return res, nil
}

func printSearch(tw *tabwriter.Writer, l *searchResult) {
	if l == nil {
		return
	}
	fmt.Fprintf(tw, "search\tingest with / without the search index, %d messages into %d cases by %d callers\t%.0f / %.0f messages/s\n",
		l.Messages, l.Cases, l.IngestConcurrent, l.IngestPerSecond, l.IngestNoIndexPerSecond)
	fmt.Fprintf(tw, "search\tlongest index write hold during that ingest: a fold / a merge (a chunk or its publication)\t%.1f / %.1f ms\n",
		l.FoldHoldMillis, l.MergeHoldMillis)
	fmt.Fprintf(tw, "search\tview counts, %d cases, p95\t%.2f ms\n", l.Cases, l.CountsP95Millis)
	fmt.Fprintf(tw, "search\tsearch, %d cases and %d messages, p50/p95\t%.2f / %.2f ms (%d searches)\n",
		l.Cases, l.Messages, l.SearchP50Millis, l.SearchP95Millis, l.SearchQueries)
}
