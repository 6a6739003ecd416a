package bolt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt/bolttest"
	bbolt "go.etcd.io/bbolt"
)

var benchUsers = care.NewDirectory([]care.User{
	{ID: "alice", Name: "Alice", Role: care.RoleAgent},
	{ID: "bob", Name: "Bob", Role: care.RoleAgent},
	{ID: "carol", Name: "Carol", Role: care.RoleAgent},
	{ID: "sue", Name: "Sue", Role: care.RoleSupervisor},
	{ID: "community", Name: "Community", Role: care.RoleIntegration},
})

func benchStore(b *testing.B) *Store { return benchStoreWith(b, Options{}) }

// benchStoreWith opens a benchmark store with opts' switches.
func benchStoreWith(b *testing.B, opts Options) *Store {
	b.Helper()
	opts.Policy, opts.Users = care.Policy{Grace: 24 * time.Hour}, benchUsers
	s, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkIngest measures messages taken in per second by concurrent
// callers (as HTTP handlers are), each message joining one of 1,000 open
// cases, with the search index and without it (what the index costs).
// Target: ≥ 5,000 messages/s on 2 cores, with the index.
func BenchmarkIngest(b *testing.B) {
	for _, bc := range []struct {
		name    string
		noIndex bool
	}{{"index", false}, {"no_index", true}} {
		b.Run(bc.name, func(b *testing.B) { benchIngest(b, benchStoreWith(b, Options{WithoutSearchIndex: bc.noIndex})) })
	}
}

// BenchmarkIngestAtScale is BenchmarkIngest into a store that already
// holds 100,000 cases and 900,000 messages (the scale of issue 17's goal:
// ingest with the search index on ≥ 5,000 messages/s at 100k cases and
// 1M messages); the messages join the seeded customers' cases.
func BenchmarkIngestAtScale(b *testing.B) {
	for _, bc := range []struct {
		name    string
		noIndex bool
	}{{"index", false}, {"no_index", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchStoreWith(b, Options{WithoutSearchIndex: bc.noIndex})
			seedCases(b, s, 100_000)
			seedMessages(b, s, 100_000, 9)
			benchIngestInto(b, s, openCustomers(b, s))
		})
	}
}

// openCustomers are the numbers of the customers seedCases wrote whose
// case is open (customer u(n) has case n+1), which ingest joins.
func openCustomers(b *testing.B, s *Store) []int {
	var out []int
	now := s.now()
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			c, err := getCase(tx, int64(getU64(k)))
			if err == nil && s.policy.IsOpen(c, now) {
				out = append(out, int(c.ID-1))
			}
			return err
		})
	})
	if err != nil || len(out) == 0 {
		b.Fatalf("%d open customers: %v", len(out), err)
	}
	return out
}

func benchIngest(b *testing.B, s *Store) {
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	const customers = 1000
	now := time.Now().UTC()
	for i := range customers {
		_, err := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage(fmt.Sprintf("seed-%d", i), i, now)})
		if err != nil {
			b.Fatal(err)
		}
	}
	benchIngestInto(b, s, customerNumbers(customers))
}

func customerNumbers(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// benchIngestInto times b.N messages of the customers u(n) of customers
// taken in by concurrent callers.
func benchIngestInto(b *testing.B, s *Store, customers []int) {
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	now := time.Now().UTC()
	var seq atomic.Int64
	b.SetParallelism(16) // 16 × GOMAXPROCS concurrent callers
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			m := benchMessage(fmt.Sprintf("m-%d", n), customers[int(n)%len(customers)], now)
			m.Text = benchText(uint64(n))
			res, err := s.Ingest(ctx, community, m)
			if err != nil {
				b.Error(err)
				return
			}
			if res.CaseID == 0 {
				b.Errorf("message %d found no case", n)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// benchMessage is customer n's mention (bolttest.Incoming), the message
// every store test ingests.
var benchMessage = bolttest.Incoming

// seedCases writes n cases straight into the store, in large transactions,
// with a realistic spread of statuses, assignees and priorities.
func seedCases(tb testing.TB, s *Store, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []care.Status{care.StatusNew, care.StatusOpen, care.StatusOpen, care.StatusPending, care.StatusOnHold,
		care.StatusDone, care.StatusDone, care.StatusDone, care.StatusSpam}
	assignees := []string{"", "alice", "bob", "sue"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const perTx = 10000
	for done := 0; done < n; done += perTx {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for i := done; i < min(done+perTx, n); i++ {
				// The names benchMessage gives: an ingest renames no one.
				cust := &care.Customer{CustomerIdentity: care.CustomerIdentity{Platform: "twitter", PlatformUserID: fmt.Sprintf("u%d", i),
					Username: fmt.Sprintf("@u%d", i), FirstName: "Joe", LastName: fmt.Sprintf("Doe%d", i)}, CreatedAt: t0}
				if err := s.putCustomer(tx, cust); err != nil {
					return err
				}
				created := t0.Add(time.Duration(i) * time.Minute)
				c := &care.Case{
					Status: statuses[rng.IntN(len(statuses))], Priority: care.Priorities[rng.IntN(4)], Sentiment: care.SentimentNone,
					Assignee: assignees[rng.IntN(len(assignees))], ProfileID: "brand", Platform: "twitter", CustomerID: cust.ID,
					Fields: map[string]string{"Team ownership": "Care"}, CreatedAt: created, UpdatedAt: created,
					LastCustomerMessageAt: created.Add(time.Duration(rng.IntN(1000)) * time.Minute),
				}
				if c.Status == care.StatusNew {
					c.Assignee = ""
				}
				if c.Status == care.StatusDone {
					c.DoneAt = created.Add(time.Hour)
				}
				if err := s.putCase(tx, nil, c); err != nil {
					return err
				}
				if err := claimPair(tx, nil, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkInboxView100k measures a page of views over 100,000 cases and
// reports the 95th percentile. Target: p95 under 20 ms.
func BenchmarkInboxView100k(b *testing.B) {
	s := benchStore(b)
	seedCases(b, s, 100_000)
	if fi, err := os.Stat(s.db.Path()); err == nil {
		b.Logf("bbolt file with 100k cases: %.1f MB", float64(fi.Size())/1e6)
	}
	ctx := context.Background()
	sue, _ := benchUsers.User("sue")
	alice, _ := benchUsers.User("alice")
	for _, bc := range []struct {
		name string
		user care.User
		q    care.CaseQuery
	}{
		{"supervisor_inbox", sue, care.CaseQuery{View: care.ViewInbox}},
		{"agent_inbox", alice, care.CaseQuery{View: care.ViewInbox}},
		{"agent_my_open", alice, care.CaseQuery{View: care.ViewMyOpen}},
		{"supervisor_inbox_by_priority", sue, care.CaseQuery{View: care.ViewInbox, Sort: "priority_desc"}},
		{"supervisor_inbox_filtered_high", sue, care.CaseQuery{View: care.ViewInbox, Priority: care.PriorityHigh}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				page, err := s.Cases(ctx, bc.user, bc.q)
				lat = append(lat, time.Since(t))
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Cases) != care.DefaultPageLimit {
					b.Fatalf("page of %d cases", len(page.Cases))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
