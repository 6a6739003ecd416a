package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
	"github.com/prometheus/client_golang/prometheus"
)

// The store implements every interface the package asks of it.
var (
	_ Store       = (*bolt.Store)(nil)
	_ PollStore   = (*bolt.Store)(nil)
	_ AdminStore  = (*bolt.Store)(nil)
	_ StatsSource = (*bolt.Store)(nil)
	_ KV          = (*bolt.KV)(nil)
)

var testUsers = testworld.Users

var (
	alice     = user("alice")
	community = user("community")
)

func user(id string) care.User {
	for _, u := range testUsers {
		if u.ID == id {
			return u
		}
	}
	panic("no test user " + id)
}

// world is a simulated org, a real bbolt Care store with the connector's
// effects, a token pool connected through the simulator's OAuth flow, a
// mapping file and the sync engine.
type world struct {
	t       *testing.T
	tw      *testworld.World
	sim     *sfsim.Server
	store   *bolt.Store
	pool    *tokens.Pool
	oauth   tokens.OAuthFunc
	holder  *mapping.Holder
	mapFile string
	reg     *prometheus.Registry
	metrics *Metrics
	budget  *Budget
	logs    *simtest.Logs
	log     *slog.Logger
	d       *Deliverer
	p       *Poller

	dopts       DelivererOptions
	escalations atomic.Int64

	runMu   sync.Mutex
	cancels []func()
}

// worldOptions adjust a world.
type worldOptions struct {
	mapping   []byte // mapping YAML; nil = the SPEC example
	sim       sfsim.Options
	budget    BudgetOptions
	deliverer func(*DelivererOptions)
	poller    func(*PollerOptions)
}

func exampleMapping(*testing.T) []byte { return mapping.Sample() }

// newWorld builds the test world (on the wall clock, as the org's) with
// the outbox's routes, and the sync engine over it.
func newWorld(t *testing.T, wo worldOptions) *world {
	t.Helper()
	// Every answer, background or not, keeps the budget current.
	budget := NewBudget(wo.budget)
	wopts := []testworld.Option{testworld.WithClock(simtest.WallClock()), testworld.WithSalesforce(wo.sim),
		testworld.WithPool(func(o *tokens.Options) { o.Client.Metrics = budget.Observer(nil) }),
		testworld.WithRoutes(func(tw *testworld.World, api *httpapi.Server) { NewHandler(tw.Store).Register(api) })}
	if wo.mapping != nil {
		wopts = append(wopts, testworld.WithMapping(wo.mapping))
	}
	tw := testworld.New(t, wopts...)
	w := &world{t: t, tw: tw, sim: tw.Sim, store: tw.Store, pool: tw.Pool, oauth: tw.OAuth, holder: tw.Holder,
		mapFile: tw.MappingFile, reg: prometheus.NewRegistry(), budget: budget, logs: tw.Logs, log: tw.Log}
	var err error
	w.metrics, err = NewMetrics(w.reg, w.store)
	if err != nil {
		t.Fatal(err)
	}
	opts := DelivererOptions{
		Store: w.store, Tokens: w.pool, Mapping: w.holder.Current, Escalator: fakeEscalator{w},
		Budget: w.budget, Metrics: w.metrics, Logger: w.log,
		BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Linger: 30 * time.Millisecond, IdleCheck: 100 * time.Millisecond,
	}
	if wo.deliverer != nil {
		wo.deliverer(&opts)
	}
	w.dopts = opts
	if w.d, err = NewDeliverer(opts); err != nil {
		t.Fatal(err)
	}
	popts := PollerOptions{
		Store: w.store, KV: w.store.KV(Namespace), Tokens: w.pool, Mapping: w.holder.Current,
		Policy: care.Policy{Grace: 24 * time.Hour}, Deliverer: w.d, Budget: w.budget, Metrics: w.metrics,
		Logger: w.log, Interval: 200 * time.Millisecond, Overlap: 2 * time.Second,
	}
	if wo.poller != nil {
		wo.poller(&popts)
	}
	if w.p, err = NewPoller(popts); err != nil {
		t.Fatal(err)
	}
	// Stop the engine before the store closes (cleanups run last first).
	t.Cleanup(w.stop)
	return w
}

// connect makes the admin the default token's Salesforce user.
func (w *world) connect() { w.tw.Connect(tokens.KindDefault, "sue", sfsim.DefaultUsername) }

// runDeliverer starts the deliverer; stop (or the test's end) stops it.
func (w *world) runDeliverer() { w.run(w.d.Run) }

// restartDeliverer stops what runs and starts a new deliverer, as after a
// restart of the daemon.
func (w *world) restartDeliverer() {
	w.t.Helper()
	w.stop()
	d, err := NewDeliverer(w.dopts)
	if err != nil {
		w.t.Fatal(err)
	}
	w.d = d
	w.runDeliverer()
}

// runPoller starts the poller.
func (w *world) runPoller() { w.run(w.p.Run) }

func (w *world) run(fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			w.t.Errorf("run: %v", err)
		}
	}()
	w.runMu.Lock()
	w.cancels = append(w.cancels, func() { cancel(); <-done })
	w.runMu.Unlock()
}

// stop stops everything started with run.
func (w *world) stop() {
	w.runMu.Lock()
	cs := w.cancels
	w.cancels = nil
	w.runMu.Unlock()
	for _, c := range cs {
		c()
	}
}

// message is an inbound social message of customer n.
func message(ext string, n int) care.IncomingMessage {
	return care.IncomingMessage{
		ExternalID: ext, Platform: "twitter", ProfileID: "brand",
		Customer: care.CustomerInput{PlatformUserID: fmt.Sprintf("u%d", n), Username: fmt.Sprintf("@u%d", n),
			FirstName: "Joe", LastName: fmt.Sprintf("Doe%d", n)},
		Type: care.TypeMention, Text: fmt.Sprintf("message %s: does your new perfume have hibiscus in it?", ext),
	}
}

// newCase opens a Care case for customer n; salesforce asks for the
// automatic escalation.
func (w *world) newCase(n int, salesforce bool) care.Case {
	w.t.Helper()
	res, err := w.store.Escalate(context.Background(), community, care.EscalateInput{
		Message: message(fmt.Sprintf("c%d-first", n), n), Salesforce: salesforce})
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Case
}

// ingest adds an inbound message of customer n (joining their case).
func (w *world) ingest(n int, ext string) care.Message {
	w.t.Helper()
	res, err := w.store.Ingest(context.Background(), community, message(ext, n))
	if err != nil {
		w.t.Fatal(err)
	}
	if res.CaseID == 0 {
		w.t.Fatalf("message %s joined no case", ext)
	}
	return res.Message
}

// sfCase creates a Case in the org directly (no API call counted).
func (w *world) sfCase(subject string) string {
	w.t.Helper()
	id, err := w.sim.CreateRecord("Case", map[string]any{"Subject": subject, "Origin": "Web"})
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// link links a Care case to a Salesforce case whose status is New.
func (w *world) link(caseID int64, sfID string) care.Case {
	w.t.Helper()
	c, err := w.store.SetSalesforceLink(context.Background(), caseID, func(l *care.SalesforceLink) {
		l.CaseID, l.CaseNumber, l.Status = sfID, "0000", "New"
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// linkedCase opens case n and links it to a new Salesforce case.
func (w *world) linkedCase(n int) (care.Case, string) {
	w.t.Helper()
	c := w.newCase(n, false)
	sf := w.sfCase(fmt.Sprintf("case %d", n))
	return w.link(c.ID, sf), sf
}

func (w *world) careCase(id int64) care.Case {
	w.t.Helper()
	c, err := w.store.Case(context.Background(), care.User{}, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) stats() care.OutboxStats {
	w.t.Helper()
	st, err := w.store.OutboxStats(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// messageRecords are the org's message records by external id: the
// message's ExternalKey (SPEC §11), never its Care id.
func (w *world) messageRecords() map[string]sfsim.Record {
	out := map[string]sfsim.Record{}
	for _, r := range w.sim.Records("Care_Social_Post__c") {
		out[r["Care_Message_Id__c"].(string)] = r
	}
	return out
}

func (w *world) calls(op string) int64 { return w.sim.Stats().ByOperation[op] }

// setMapping rewrites the mapping file and reloads it.
func (w *world) setMapping(b []byte) { w.tw.SetMapping(b) }

// fakeEscalator creates the Salesforce case by upsert on Care_Case_Id__c
// (a retry never makes a second one) and links it, as the connector's
// automatic escalation does; a case linked already is done.
type fakeEscalator struct{ w *world }

func (f fakeEscalator) EscalateAutomatically(ctx context.Context, caseID int64, actor string) error {
	c, err := f.w.store.Case(ctx, care.User{}, caseID)
	if err != nil || c.Salesforce.CaseID != "" {
		return err
	}
	var sfID string
	err = f.w.pool.DoBackground(ctx, func(conn *tokens.Conn) error {
		res, err := conn.Client.Upsert(ctx, "Case", "Care_Case_Id__c", strconv.FormatInt(caseID, 10),
			map[string]any{"Subject": fmt.Sprintf("Social case #%d", caseID), "Origin": "Web"})
		sfID = res.ID
		return err
	})
	if err != nil {
		return fmt.Errorf("escalate case %d: %w", caseID, err)
	}
	f.w.escalations.Add(1)
	_, err = f.w.store.SetSalesforceLink(ctx, caseID, func(l *care.SalesforceLink) {
		l.CaseID, l.Status, l.ExternalIDField = sfID, "New", "Care_Case_Id__c"
	})
	return err
}

// eventually waits until cond holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	simtest.Eventually(t, timeout, what, cond)
}

// metricValue returns a gauge or counter value, or a histogram's count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	return simtest.Metric(t, reg, name, labels)
}

// worldClock is a clock tests move: the wall clock plus an offset, or a
// fixed instant while frozen. Give it to the simulated org (sfsim.Options
// Now) and, where a test needs both sides to agree, to the poller.
type worldClock struct{ simtest.Clock }

// Move moves the clock by d (frozen or not).
func (c *worldClock) Move(d time.Duration) { c.Advance(d) }

// Freeze stops the clock at t.
func (c *worldClock) Freeze(t time.Time) { c.Set(t) }

// linkedCases opens and links cases 0..n-1 (linkedCase) and returns their
// numbers and the external keys of their messages.
func (w *world) linkedCases(n int) (ns []int, keys []string) {
	w.t.Helper()
	for i := range n {
		c, _ := w.linkedCase(i)
		ns = append(ns, i)
		msgs, _ := w.store.RecentMessages(context.Background(), c.ID, 100)
		for _, m := range msgs {
			keys = append(keys, m.ExternalKey)
		}
	}
	return ns, keys
}

// runSynced starts the deliverer and the poller and waits until the
// outbox is drained (the backfills delivered).
func (w *world) runSynced() {
	w.t.Helper()
	w.runDeliverer()
	w.runPoller()
	eventually(w.t, 10*time.Second, "backfill delivered", w.drained)
}

// mustHaveMessages fails unless the org has a message record of each
// external key.
func (w *world) mustHaveMessages(keys []string) {
	w.t.Helper()
	recs := w.messageRecords()
	for _, id := range keys {
		if _, ok := recs[id]; !ok {
			w.t.Fatalf("message %s missing", id)
		}
	}
}

// mustHaveEachOnce fails unless the org has exactly one message record of
// each external key, and returns how many message records it has.
func (w *world) mustHaveEachOnce(keys []string) int {
	w.t.Helper()
	rows := w.sim.Records("Care_Social_Post__c")
	seen := map[string]int{}
	for _, r := range rows {
		seen[r["Care_Message_Id__c"].(string)]++
	}
	for _, id := range keys {
		if seen[id] != 1 {
			w.t.Fatalf("message %s is in Salesforce %d times", id, seen[id])
		}
	}
	return len(rows)
}
