package changeevents_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/changeevents"
	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/testworld"
)

// env is a test world (simulated org serving the Pub/Sub API, bbolt
// store, connected token pool, sample mapping) with the poller and a
// change-event subscriber over it.
type env struct {
	t      *testing.T
	w      *testworld.World
	poller *outbox.Poller
	sub    *changeevents.Subscriber
	kv     outbox.KV
	url    string // the Pub/Sub API the subscriber dials
	events *changeevents.Metrics

	stop   func() // stops the running subscriber, waiting for it
	adjust func(*changeevents.Options)
}

type envOptions struct {
	sim sfsim.Options
	url string // overrides the simulated org's Pub/Sub URL
	kv  func(outbox.KV) outbox.KV
	sub func(*changeevents.Options)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.sim.PubSubKeepalive == 0 {
		o.sim.PubSubKeepalive = 50 * time.Millisecond
	}
	w := testworld.New(t, testworld.WithSalesforce(o.sim), testworld.Connected(), testworld.NoServer())
	e := &env{t: t, w: w, kv: w.Store.KV(outbox.Namespace), url: o.url, adjust: o.sub}
	if o.kv != nil {
		e.kv = o.kv(e.kv)
	}
	if e.url == "" {
		e.url = w.Sim.PubSubURL()
	}
	syncMetrics, err := outbox.NewMetrics(w.Registry, w.Store)
	if err != nil {
		t.Fatal(err)
	}
	if e.events, err = changeevents.NewMetrics(w.Registry); err != nil {
		t.Fatal(err)
	}
	e.poller, err = outbox.NewPoller(outbox.PollerOptions{Store: w.Store, KV: e.kv, Tokens: w.Pool, Mapping: w.Holder.Current,
		Policy: w.Policy, Metrics: syncMetrics, Logger: w.Log, Interval: time.Hour, IntervalWithEvents: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.newSubscriber()
	return e
}

// newSubscriber builds the subscriber (again: a restarted daemon).
func (e *env) newSubscriber() {
	e.t.Helper()
	o := changeevents.Options{URL: e.url, Tokens: e.w.Pool, Poller: e.poller, KV: e.kv,
		Metrics: e.events, Logger: e.w.Log, MinWait: 10 * time.Millisecond, MaxWait: 50 * time.Millisecond}
	if e.adjust != nil {
		e.adjust(&o)
	}
	var err error
	if e.sub, err = changeevents.New(o); err != nil {
		e.t.Fatal(err)
	}
}

// replayID is the stored replay id.
func (e *env) replayID() []byte {
	e.t.Helper()
	b, err := e.kv.Get(context.Background(), changeevents.ReplayKey)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) setReplayID(b []byte) {
	e.t.Helper()
	if err := e.kv.Put(context.Background(), changeevents.ReplayKey, b); err != nil {
		e.t.Fatal(err)
	}
}

// start runs the subscriber until the test ends or stop.
func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	sub := e.sub
	go func() {
		defer close(done)
		sub.Run(ctx)
	}()
	e.stop = func() {
		cancel()
		<-done
		sub.Close()
	}
	e.t.Cleanup(func() {
		cancel()
		<-done
		sub.Close()
	})
}

// startUp starts the subscriber and waits until its stream is up.
func (e *env) startUp() {
	e.t.Helper()
	e.start()
	e.waitUp()
}

// waitUp waits until the stream is up: the server answered it (at the
// latest with a keepalive), so changes made from then on are its.
func (e *env) waitUp() {
	e.t.Helper()
	simtest.Eventually(e.t, 10*time.Second, "the change stream up", func() bool { up, _ := e.sub.State(); return up })
}

// linkedCase opens Care case n and links it to a new Salesforce case.
func (e *env) linkedCase(n int) (care.Case, string) {
	e.t.Helper()
	return e.linkCase(n, false)
}

// keyedCase is linkedCase with the Salesforce case carrying the Care
// case's key in Care_Case_Id__c, as carebridge's upsert writes it.
func (e *env) keyedCase(n int) (care.Case, string) {
	e.t.Helper()
	return e.linkCase(n, true)
}

func (e *env) linkCase(n int, keyed bool) (care.Case, string) {
	e.t.Helper()
	ctx := context.Background()
	community, _ := e.w.Users.User("community")
	res, err := e.w.Store.Escalate(ctx, community, care.EscalateInput{Message: care.IncomingMessage{
		ExternalID: fmt.Sprintf("c%d-first", n), Platform: "twitter", ProfileID: "brand",
		Customer: care.CustomerInput{PlatformUserID: fmt.Sprintf("u%d", n), Username: fmt.Sprintf("@u%d", n)},
		Type:     care.TypeMention, Text: "does your new perfume have hibiscus in it?"}})
	if err != nil {
		e.t.Fatal(err)
	}
	rec, field := map[string]any{"Subject": fmt.Sprintf("case %d", n), "Status": "New"}, ""
	if keyed {
		field = "Care_Case_Id__c"
		rec[field] = res.Case.ExternalKey
	}
	sf, err := e.w.Sim.CreateRecord("Case", rec)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.w.Store.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) {
		l.CaseID, l.CaseNumber, l.Status, l.ExternalIDField = sf, "0000", "New", field
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c, sf
}

// sfSet changes a Salesforce case's status as a Salesforce user would.
func (e *env) sfSet(sfID, status string) {
	e.t.Helper()
	if err := e.w.Sim.UpdateRecord("Case", sfID, map[string]any{"Status": status}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) careCase(id int64) care.Case {
	e.t.Helper()
	c, err := e.w.Store.Case(context.Background(), care.User{}, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// waitStatus waits until Care case id has status st.
func (e *env) waitStatus(id int64, st care.Status) {
	e.t.Helper()
	simtest.Eventually(e.t, 10*time.Second, fmt.Sprintf("case %d %s", id, st), func() bool { return e.careCase(id).Status == st })
}

// restCalls is how many REST calls the org has answered.
func (e *env) restCalls() int64 { return e.w.Sim.Stats().Total }

func (e *env) pending() int64 {
	e.t.Helper()
	st, err := e.w.Store.OutboxStats(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return int64(st.Pending)
}

// metric reads one of the world's metrics (0 when absent).
func (e *env) metric(name string, labels map[string]string) float64 {
	v, _ := simtest.Metric(e.t, e.w.Registry, name, labels)
	return v
}
