package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/mapping"
)

// changesDaemon runs a daemon in process against sim with the sample
// mapping, a supervisor "sue" (token "sue-token") and salesforceKeys added
// to its salesforce section, connects the default token, and returns the
// daemon and its base URL.
func changesDaemon(t *testing.T, sim *sfsim.Server, salesforceKeys string) (*daemon, string) {
	t.Helper()
	cfgFile := daemonConfig(t, daemonFiles{listen: freeAddr(t), mapping: mapping.Sample(), extra: salesforceSection(sim, salesforceKeys)})
	d, addr, stop := serveInProcess(t, cfgFile, envClientSecret)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	base := "http://" + addr
	connectDefault(t, base, "sue-token", sfsim.DefaultUsername)
	return d, base
}

// changes reads the connection's changes and changes_reason.
func changes(t *testing.T, base string) (string, string) {
	t.Helper()
	c := &demoClient{base: base, users: map[string]*demoUser{"sue": {id: "sue", token: "sue-token"}}, http: &http.Client{Timeout: 10 * time.Second}}
	var conn struct {
		Changes string  `json:"changes"`
		Reason  *string `json:"changes_reason"`
	}
	if err := c.call(context.Background(), "sue", "GET", "/api/v1/salesforce/connection", nil, &conn); err != nil {
		t.Fatal(err)
	}
	if conn.Reason == nil {
		return conn.Changes, ""
	}
	return conn.Changes, *conn.Reason
}

// End to end: with the simulated org's Pub/Sub API a status change made
// in Salesforce reaches the Care case by its change event; the poller
// makes no query for it, and the connection says "events".
func TestChangesByEvents(t *testing.T) {
	sim := simtest.NewServer(t, sfsim.Options{PubSubKeepalive: 50 * time.Millisecond})
	d, base := changesDaemon(t, sim, "  pubsub_url: "+sim.PubSubURL()+"\n  poll_interval: 1h\n")
	simtest.Eventually(t, 10*time.Second, "changes: events", func() bool { ch, _ := changes(t, base); return ch == "events" })

	ctx := context.Background()
	community := care.User{ID: "community", Name: "Community", Email: "c@example.com", Role: care.RoleIntegration}
	res, err := d.store.Escalate(ctx, community, care.EscalateInput{Message: care.IncomingMessage{ExternalID: "m1",
		Platform: "twitter", ProfileID: "brand", Customer: care.CustomerInput{PlatformUserID: "u1", Username: "@u1"},
		Type: care.TypeMention, Text: "hibiscus?"}})
	if err != nil {
		t.Fatal(err)
	}
	sf, err := sim.CreateRecord("Case", map[string]any{"Subject": "linked", "Status": "New"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.store.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) { l.CaseID, l.Status = sf, "New" }); err != nil {
		t.Fatal(err)
	}
	queries := sim.Stats().ByOperation["query"]
	if err := sim.UpdateRecord("Case", sf, map[string]any{"Status": "Escalated"}); err != nil {
		t.Fatal(err)
	}
	simtest.Eventually(t, 10*time.Second, "Escalated reaches Care", func() bool {
		c, err := d.store.Case(ctx, care.User{}, res.Case.ID)
		return err == nil && c.Status == care.StatusOnHold
	})
	if n := sim.Stats().ByOperation["query"] - queries; n != 0 {
		t.Fatalf("%d queries for a change carried by its event", n)
	}
}

// sfsim --no-pubsub with the default pubsub_url: the daemon polls alone as
// before change events, sends its token to no Pub/Sub endpoint, and the
// connection says "polling" with the reason.
func TestChangesPollingWithoutPubSub(t *testing.T) {
	sim := simtest.NewServer(t, sfsim.Options{NoPubSub: true})
	_, base := changesDaemon(t, sim, "  poll_interval: 1s\n")
	var reason string
	simtest.Eventually(t, 10*time.Second, "changes: polling with a reason", func() bool {
		ch, why := changes(t, base)
		reason = why
		return ch == "polling" && strings.Contains(why, "salesforce.pubsub_url")
	})
	t.Logf("changes: polling (%s)", reason)
}
