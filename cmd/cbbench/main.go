// Command cbbench measures carebridge: message push to Salesforce against
// the in-process simulator with added latency (and the naive
// one-call-per-message baseline), status latency from Salesforce by polling
// and by change events (Pub/Sub API), and the Care store. It prints a table, or JSON with --json.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// report is the whole benchmark result.
type report struct {
	// Publish is replies reaching the publisher (SPEC §16).
	Publish *publishResult `json:"publish,omitempty"`

	Store *storeResult `json:"store,omitempty"`
	Push  *pushResult  `json:"push,omitempty"`
	Poll  *pollResult  `json:"status_from_salesforce,omitempty"`
	// LiveEvents is the console's live feed (GET /api/v1/events).
	LiveEvents *liveEventsResult `json:"live_events,omitempty"`
	// Events is beside Poll: the same latency by change events.
	Events *eventsResult `json:"status_from_salesforce_by_events,omitempty"`
	Search *searchResult `json:"search,omitempty"`
	// Routing is new cases reaching agents (SPEC §16).
	Routing *routingResult `json:"routing,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cbbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	only := fs.String("only", "push,status,events,store,search,feed,publish,routing", "comma-separated sections to run: push, status, events, store, search, feed, publish, routing")
	latency := fs.Duration("latency", 50*time.Millisecond, "latency added to every simulated Salesforce call")
	messages := fs.Int("messages", 1000, "push: messages in the burst")
	escalated := fs.Int("cases", 50, "push: escalated cases the burst spreads over")
	backlog := fs.Int("backfill", 100, "push: messages a case has when it is escalated")
	linger := fs.Duration("linger", 0, "push: how long a small batch waits for company (0: the deliverer's default)")
	linked := fs.String("linked", "10,1000,10000", "status: numbers of linked cases to poll over")
	unlinked := fs.Int("unlinked", 1000, "status: other Cases of the org that change during the run (a poll must not read them)")
	changes := fs.Int("changes", 10, "status: Salesforce-side changes timed per size")
	poll := fs.Duration("poll", time.Second, "status: poll interval")
	eventRates := fs.String("event-rates", "1,100", "events: Salesforce-side changes per second, one run each")
	eventChanges := fs.Int("event-changes", 100, "events: changes timed per rate")
	storeMessages := fs.Int("store-messages", 100_000, "store: messages to ingest")
	storeCases := fs.Int("store-cases", 100_000, "store: cases for the inbox view")
	workers := fs.Int("workers", 64, "store: concurrent ingest callers")
	feedSubscribers := fs.Int("feed-subscribers", 100, "feed: event streams connected")
	feedChanges := fs.Int("feed-changes", 200, "feed: changes timed")
	publishReplies := fs.Int("publish-replies", 1000, "publish: replies written")
	publishCases := fs.Int("publish-cases", 50, "publish: cases the replies spread over")
	routingCases := fs.Int("routing-cases", 300, "routing: new cases ingested")
	routingRate := fs.Int("routing-rate", 1000, "routing: new cases per minute")
	routingBacklog := fs.Int("routing-backlog", 10_000, "routing: cases waiting for a skill no agent has while cases are closed (0: not measured)")
	searchCases := fs.Int("search-cases", 10_000, "search: cases (the full scale is 100000)")
	searchMessages := fs.Int("search-messages", 100_000, "search: messages ingested, with and without the search index (the full scale is 1000000)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // --help: the usage is the answer
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "cbbench takes no arguments")
		return 2
	}
	sizes, err := parseInts(*linked)
	if err != nil {
		fmt.Fprintln(stderr, "cbbench: --linked:", err)
		return 2
	}
	rates, err := parseInts(*eventRates)
	if err != nil {
		fmt.Fprintln(stderr, "cbbench: --event-rates:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	progress := func(s string) { fmt.Fprintln(stderr, "cbbench:", s) }
	var rep report
	sections := strings.Split(*only, ",")
	for _, s := range sections {
		var err error
		switch strings.TrimSpace(s) {
		case "publish":
			var r publishResult
			r, err = benchPublish(ctx, publishOptions{replies: *publishReplies, cases: *publishCases, workers: *workers, latency: *latency}, progress)
			rep.Publish = &r
		case "routing":
			var r routingResult
			r, err = benchRouting(ctx, routingOptions{cases: *routingCases, perMinute: *routingRate, agents: 10, capacity: 5,
				handle: 2500 * time.Millisecond, backlog: *routingBacklog, closes: 200, workers: *workers}, progress)
			rep.Routing = &r
		case "feed":
			var r liveEventsResult
			r, err = benchLiveEvents(ctx, *feedSubscribers, *feedChanges, progress)
			rep.LiveEvents = &r
		case "store":
			var r storeResult
			r, err = benchStore(ctx, *storeMessages, *storeCases, *workers, progress)
			rep.Store = &r
		case "search":
			var r searchResult
			r, err = benchSearch(ctx, *searchCases, *searchMessages, *workers, progress)
			rep.Search = &r
		case "push":
			var r pushResult
			r, err = benchPush(ctx, pushOptions{latency: *latency, linger: *linger, messages: *messages, cases: *escalated, backfill: *backlog}, progress)
			rep.Push = &r
		case "status":
			var r pollResult
			r, err = benchPoll(ctx, pollOptions{latency: *latency, sizes: sizes, unlinked: *unlinked, changes: *changes, interval: *poll}, progress)
			rep.Poll = &r
		case "events":
			var r eventsResult
			r, err = benchEvents(ctx, eventsOptions{latency: *latency, rates: rates, changes: *eventChanges}, progress)
			rep.Events = &r
		default:
			fmt.Fprintf(stderr, "cbbench: unknown section %q\n", s)
			return 2
		}
		if err != nil {
			fmt.Fprintf(stderr, "cbbench: %s: %v\n", s, err)
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return 0
	}
	printTable(stdout, rep, *latency)
	return 0
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func printTable(w io.Writer, rep report, latency time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "section\tmeasure\tvalue\n")
	if p := rep.Push; p != nil {
		fmt.Fprintf(tw, "push\tburst: messages over cases\t%d over %d (Salesforce latency %s)\n", p.Messages, p.Cases, latency)
		fmt.Fprintf(tw, "push\tSalesforce API calls\t%d\n", p.Calls)
		fmt.Fprintf(tw, "push\tmessages per call\t%.1f\n", p.MessagesPerCall)
		fmt.Fprintf(tw, "push\tmessages/s\t%.0f\n", p.MessagesPerSecond)
		fmt.Fprintf(tw, "push\tCare→Salesforce latency p50/p95/p99\t%.0f / %.0f / %.0f ms\n", p.LatencyP50Millis, p.LatencyP95Millis, p.LatencyP99Millis)
		fmt.Fprintf(tw, "push\tnaive baseline: calls, messages/s\t%d, %.0f\n", p.BaselineCalls, p.BaselinePerSecond)
		fmt.Fprintf(tw, "push\tcalls saved (baseline / carebridge)\t%.1f×\n", p.CallRatio)
		fmt.Fprintf(tw, "push\tbackfill of %d messages: calls\t%d\n", p.BackfillMessages, p.BackfillCalls)
	}
	if p := rep.Poll; p != nil {
		for _, s := range p.Sizes {
			fmt.Fprintf(tw, "status\t%d linked cases: calls per poll\t%.1f\n", s.Linked, s.CallsPerPoll)
			fmt.Fprintf(tw, "status\t%d linked cases: rows read per poll\t%.1f (%d other Cases changed)\n", s.Linked, s.RowsPerPoll, s.Unlinked)
			fmt.Fprintf(tw, "status\t%d linked cases: Salesforce→Care p50/p95\t%.0f / %.0f ms (poll every %s, %d polls)\n", s.Linked, s.P50Millis, s.P95Millis, p.Interval, s.Polls)
		}
	}
	if e := rep.Events; e != nil {
		for _, r := range e.Rates {
			fmt.Fprintf(tw, "events\t%d changes/s: Salesforce→Care p50/p95\t%.0f / %.0f ms (%d changes, no poll)\n", r.PerSecond, r.P50Millis, r.P95Millis, r.Changes)
			fmt.Fprintf(tw, "events\t%d changes/s: REST calls per change\t%.2f\n", r.PerSecond, r.RESTCallsPerChange)
		}
	}
	if s := rep.Store; s != nil {
		fmt.Fprintf(tw, "store\tingest (%d callers)\t%.0f messages/s\n", s.IngestConcurrent, s.IngestPerSecond)
		fmt.Fprintf(tw, "store\tafter ingesting %d messages: bbolt file, peak RSS\t%.1f MB, %.1f MB\n", s.Messages, float64(s.IngestFileBytes)/1e6, float64(s.IngestPeakRSSBytes)/1e6)
		fmt.Fprintf(tw, "store\tGET /api/v1/cases?view=inbox, %d cases, p50/p95\t%.2f / %.2f ms\n", s.Cases, s.InboxP50Millis, s.InboxP95Millis)
		fmt.Fprintf(tw, "store\tagent inbox p95\t%.2f ms\n", s.AgentInboxP95)
		fmt.Fprintf(tw, "store\tlargest page of messages (500 asked, each at every limit)\t%d messages, %.1f MB answer, %.1f MB allocated\n",
			s.LargestPage.Messages, float64(s.LargestPage.AnswerBytes)/1e6, float64(s.LargestPage.AllocatedBytes)/1e6)
		fmt.Fprintf(tw, "store\twith %d cases too: bbolt file, peak RSS\t%.1f MB, %.1f MB\n", s.Cases, float64(s.FileBytes)/1e6, float64(s.PeakRSSBytes)/1e6)
	}
	printSearch(tw, rep.Search)
	printLiveEvents(tw, rep.LiveEvents)
	printPublish(tw, rep.Publish)
	printRouting(tw, rep.Routing)
	tw.Flush()
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func drain(res *http.Response) (int64, error) {
	defer res.Body.Close()
	return io.Copy(io.Discard, res.Body)
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
