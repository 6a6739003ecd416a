package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/connector"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// world is carebridge's Salesforce side in process: a simulated org with
// added latency, the Care store with the outbox, the sample mapping and a
// connected default token.
type world struct {
	// simOffset shifts the simulated org's clock: setup runs in the past,
	// so that it is not a recent change the poller reads again.
	simOffset atomic.Int64
	dir       string
	sim       *sfsim.Server
	store     *bolt.Store
	holder    *mapping.Holder
	pool      *tokens.Pool
	users     *care.Directory
	policy    care.Policy
}

func newWorld(ctx context.Context, latency time.Duration) (*world, error) {
	w := &world{users: benchDirectory, policy: benchPolicy}
	var err error
	if w.dir, err = os.MkdirTemp("", "cbbench-"); err != nil {
		return nil, err
	}
	w.simOffset.Store(int64(-2 * time.Hour))
	simNow := func() time.Time { return time.Now().Add(time.Duration(w.simOffset.Load())) }
	if w.sim, err = sfsim.NewServer(sfsim.Options{Latency: latency, DailyLimit: 10_000_000, Now: simNow}); err != nil {
		w.close()
		return nil, err
	}
	mapFile := filepath.Join(w.dir, "mapping.yaml")
	if err := os.WriteFile(mapFile, mapping.Sample(), 0o600); err != nil {
		w.close()
		return nil, err
	}
	w.holder = mapping.NewHolder(mapFile, mapping.HolderOptions{})
	if err := w.holder.Reload(ctx); err != nil {
		w.close()
		return nil, err
	}
	if w.store, err = bolt.Open(filepath.Join(w.dir, "data"), bolt.Options{Policy: w.policy, Users: w.users,
		Effects: connector.Effects{Mapping: w.holder.Current}}); err != nil {
		w.close()
		return nil, err
	}
	key, err := tokens.LoadKey("", filepath.Join(w.dir, "secret.key"), nil)
	if err != nil {
		w.close()
		return nil, err
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	cfg := simtest.OAuthConfig("http://127.0.0.1/oauth/salesforce/callback", hc)
	cfg.LoginURL = w.sim.LoginURL
	if w.pool, err = tokens.Open(ctx, tokens.Options{Store: w.store.KV(tokens.Namespace), Key: key,
		OAuth: tokens.NewOAuthSet(cfg), LoginURL: w.sim.LoginURL, HTTPClient: hc}); err != nil {
		w.close()
		return nil, err
	}
	if err := w.connect(ctx, cfg); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// connect runs the web-server flow at the simulated org (it approves at
// once) and stores the default token.
func (w *world) connect(ctx context.Context, cfg salesforce.OAuthConfig) error {
	auth, err := salesforce.NewOAuth(cfg)
	if err != nil {
		return err
	}
	tok, err := simtest.AuthorizeErr(ctx, auth, sfsim.DefaultUsername)
	if err != nil {
		return err
	}
	_, err = w.pool.Connect(ctx, tokens.Grant{Kind: tokens.KindDefault, UserID: "sue", Token: tok})
	return err
}

func (w *world) close() {
	if w.store != nil {
		w.store.Close()
	}
	if w.sim != nil {
		w.sim.Close()
	}
	os.RemoveAll(w.dir)
}

// linkedCase makes Care case n with backlog messages, and links it to a
// Salesforce case made directly in the org (so no escalation is measured).
func (w *world) linkedCase(ctx context.Context, n, backlog int, now time.Time) (care.Case, string, error) {
	community, _ := w.users.User("community")
	res, err := w.store.Escalate(ctx, community, care.EscalateInput{Message: incoming(fmt.Sprintf("case%d-0", n), n, now)})
	if err != nil {
		return care.Case{}, "", err
	}
	for j := 1; j < backlog; j++ {
		if _, err := w.store.Ingest(ctx, community, incoming(fmt.Sprintf("case%d-%d", n, j), n, now.Add(time.Duration(j)*time.Second))); err != nil {
			return care.Case{}, "", err
		}
	}
	sfID, err := w.sim.CreateRecord("Case", map[string]any{"Subject": fmt.Sprintf("Care case %d", res.Case.ID), "Status": "New",
		"Care_Case_Id__c": res.Case.ExternalKey})
	if err != nil {
		return care.Case{}, "", err
	}
	c, err := w.store.SetSalesforceLink(ctx, res.Case.ID, func(l *care.SalesforceLink) {
		l.CaseID, l.Status, l.ExternalIDField = sfID, "New", "Care_Case_Id__c" // as the escalation's upsert records it
	})
	return c, sfID, err
}

// present moves the simulated org's clock to now.
func (w *world) present() { w.simOffset.Store(0) }

// connectorDescribe describes an object with the client's cache.
func connectorDescribe(ctx context.Context, conn *tokens.Conn, object string) (*mapping.ObjectInfo, error) {
	return connector.Describer{Client: conn.Client}.Describe(ctx, object)
}
