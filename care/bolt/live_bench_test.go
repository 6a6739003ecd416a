package bolt

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// benchVocabulary is 5,000 made-up words and a few real ones; benchText
// draws from it with a Zipf law, as people write.
var benchVocabulary = func() []string {
	words := []string{"refund", "parcel", "order", "perfume", "hibiscus", "delivery", "broken", "lavender"}
	syll := []string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "zen", "bri", "sha"}
	for i := 0; len(words) < 5000; i++ {
		var sb strings.Builder
		for n := i; ; n /= len(syll) {
			sb.WriteString(syll[n%len(syll)])
			if n < len(syll) {
				break
			}
		}
		words = append(words, sb.String())
	}
	return words
}()

// benchText is message n's text: 12 words of the vocabulary.
func benchText(n uint64) string {
	rng := rand.New(rand.NewPCG(n, 99))
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(benchVocabulary)-1))
	words := make([]string, 12)
	for i := range words {
		words[i] = benchVocabulary[zipf.Uint64()]
	}
	return strings.Join(words, " ")
}

// seedMessages writes perCase messages into each of the first cases
// cases, straight into the store in large transactions (indexed as ingest
// indexes them).
func seedMessages(tb testing.TB, s *Store, cases, perCase int) {
	tb.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const perTx = 20000
	total := cases * perCase
	for done := 0; done < total; done += perTx {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for i := done; i < min(done+perTx, total); i++ {
				m := &care.Message{CaseID: int64(i%cases + 1), Platform: "twitter", ProfileID: "brand", Direction: care.Inbound,
					Kind: care.KindMessage, Type: care.TypeMention, Text: benchText(uint64(i)), SentAt: t0.Add(time.Duration(i) * time.Second),
					Attachments: []care.Attachment{}, CreatedAt: t0}
				if _, err := s.putMessage(tx, m, 0, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		if err := s.compactSearchLog(); err != nil {
			tb.Fatal(err)
		}
	}
}

func p95Millis(lat []time.Duration) float64 {
	slices.Sort(lat)
	return float64(lat[len(lat)*95/100].Microseconds()) / 1000
}

// BenchmarkViewCounts100k measures the counts of every default view over
// 100,000 cases. Target: p95 under 5 ms.
func BenchmarkViewCounts100k(b *testing.B) {
	s := benchStore(b)
	seedCases(b, s, 100_000)
	ctx := context.Background()
	for _, id := range []string{"sue", "alice"} {
		u, _ := benchUsers.User(id)
		b.Run(id, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				counts, err := s.ViewCounts(ctx, u)
				lat = append(lat, time.Since(t))
				if err != nil || counts[care.ViewInbox] == 0 {
					b.Fatalf("counts %v, %v", counts, err)
				}
			}
			b.ReportMetric(p95Millis(lat), "p95-ms")
		})
	}
}

// BenchmarkSearch100k measures searches over 100,000 cases and 1,000,000
// messages: a rare word, a common one, two words, a prefix, a customer's
// name. Target: p95 under 50 ms.
func BenchmarkSearch100k(b *testing.B) {
	s := benchStore(b)
	seedCases(b, s, 100_000)
	seedMessages(b, s, 100_000, 10)
	ctx := context.Background()
	sue, _ := benchUsers.User("sue")
	alice, _ := benchUsers.User("alice")
	queries := []string{benchVocabulary[3000], benchVocabulary[9], "refund order", "lav", "@u4242", "hibiscus delivery bro"}
	for _, bc := range []struct {
		name string
		user care.User
		view care.View
	}{{"supervisor_all", sue, care.ViewAll}, {"agent_inbox", alice, care.ViewInbox}} {
		b.Run(bc.name, func(b *testing.B) {
			var lat []time.Duration
			i := 0
			for b.Loop() {
				q := queries[i%len(queries)]
				i++
				t := time.Now()
				_, err := s.Cases(ctx, bc.user, care.CaseQuery{View: bc.view, Q: q})
				lat = append(lat, time.Since(t))
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(p95Millis(lat), "p95-ms")
		})
	}
	for _, q := range queries {
		page, _ := s.Cases(ctx, sue, care.CaseQuery{Q: q})
		b.Logf("q=%q: %d cases on the first page", q, len(page.Cases))
	}
}
