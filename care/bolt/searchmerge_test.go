package bolt

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// segmentState is what the index holds: the levels of the segments
// searches read and the number of unpublished ones.
func segmentState(t testing.TB, s *Store) (levels []byte, unpublished int) {
	t.Helper()
	_ = s.view(func(tx *bbolt.Tx) error {
		for _, name := range segments(tx) {
			levels = append(levels, name[0])
		}
		return tx.Bucket(bucketSearchMerging).ForEachBucket(func([]byte) error {
			unpublished++
			return nil
		})
	})
	return levels, unpublished
}

// A merge cut short at any of its transactions (the first chunk, a later
// one, its publication) leaves the searches right: the half-written
// segment is never read, and the next open, or the next merge, drops it
// and merges again.
func TestSearchSurvivesMergeCutShort(t *testing.T) {
	for _, step := range []struct {
		name    string
		at      string
		failing int // the how-manieth transaction at `at` fails
		written int // unpublished segments left
	}{{"first chunk", "merge chunk", 1, 0}, {"third chunk", "merge chunk", 3, 1}, {"publication", "merge", 1, 1}} {
		for _, then := range []string{"reopen", "merge"} {
			t.Run(step.name+", then "+then, func(t *testing.T) {
				setForTest(t, &mergeChunkKeys, 2)
				s, dir := mergeDueStore(t)
				crash := errors.New("crash")
				var seen int
				setForTest(t, &searchFault, func(at string) error {
					if at == step.at {
						if seen++; seen == step.failing {
							return crash
						}
					}
					return nil
				})
				if err := s.compactSearchLog(); !errors.Is(err, crash) {
					t.Fatalf("compact: %v, want the crash", err)
				}
				checkSearchTruth(t, s, truthQueries)
				if levels, unpublished := segmentState(t, s); !slices.Equal(levels, []byte{0, 0}) || unpublished != step.written {
					t.Errorf("after the failure: segments of levels %v, %d unpublished; want [0 0], %d", levels, unpublished, step.written)
				}
				searchFault = func(string) error { return nil }
				if then == "reopen" {
					s.Close()
					s = openAt(t, dir)
					if levels, unpublished := segmentState(t, s); !slices.Equal(levels, []byte{0, 0}) || unpublished != 0 {
						t.Errorf("reopened: segments of levels %v, %d unpublished; want [0 0], none", levels, unpublished)
					}
					checkSearchTruth(t, s, truthQueries)
				}
				if err := s.mergeSearchSegments(nil); err != nil {
					t.Fatal(err)
				}
				if levels, unpublished := segmentState(t, s); !slices.Equal(levels, []byte{1}) || unpublished != 0 {
					t.Errorf("merged: segments of levels %v, %d unpublished; want [1], none", levels, unpublished)
				}
				checkSearchTruth(t, s, truthQueries)
			})
		}
	}
}

// Merges run beside the committer, a chunk of keys a transaction, while
// writers add messages (folded every four) and searches run: the searches
// see each message once committed and never one not written (run with
// -race).
func TestSearchWhileMerging(t *testing.T) {
	setForTest(t, &mergeChunkKeys, 1)
	var chunks atomic.Int64
	setForTest(t, &searchFault, func(at string) error {
		if at == "merge chunk" {
			chunks.Add(1)
		}
		return nil
	})
	s, cases := foldingStore(t, 4, 6)
	searchWhileWriting(t, s, cases)
	if n := chunks.Load(); n < 10 {
		t.Errorf("%d chunks of merges were written, want them beside the writers", n)
	}
	if fold, merge := s.LongestIndexWriteHold(); fold <= 0 || merge <= 0 {
		t.Errorf("longest index write holds %v (fold), %v (merge): want both noted", fold, merge)
	}
}

// Close stops a merge running beside the committer between two of its
// transactions; the store reopens with the searches right and nothing
// unpublished.
func TestCloseStopsMerge(t *testing.T) {
	setForTest(t, &mergeChunkKeys, 1)
	started := make(chan struct{})
	var s *Store
	var once atomic.Bool
	setForTest(t, &searchFault, func(at string) error {
		if at == "merge chunk" && once.CompareAndSwap(false, true) {
			close(started)
			<-s.closing // the merge goes on only once Close began
		}
		return nil
	})
	s, dir := mergeDueStore(t)
	s.compactAt.Store(1) // the committer folds after its next group, and merges
	added := make(chan error, 1)
	go func() {
		// The merge may start before this write (the committer's turn after
		// the last one may see the new compactAt) and then holds it back.
		_, _, err := s.AddMessage(context.Background(), user(t, "sue"), 1, care.NewMessage{Kind: "note", Text: "kiwi"})
		added <- err
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-added; err != nil && !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	s = openAt(t, dir)
	if levels, unpublished := segmentState(t, s); len(levels) < 2 || slices.Max(levels) != 0 || unpublished != 0 {
		t.Errorf("reopened: segments of levels %v, %d unpublished; want those of level 0 unmerged, none unpublished", levels, unpublished)
	}
	checkSearchTruth(t, s, append(truthQueries, "kiwi"))
}

// BenchmarkSearchMergeHold writes 1.3M messages to 100,000 cases, folded
// 20,000 at a time, so segments merge up to level 3 (1.28M messages), and
// reports the longest write transaction of a fold (of 20,000 messages,
// five times the committer's) and of a merge (run with
// -benchtime=1x; README "Measured").
func BenchmarkSearchMergeHold(b *testing.B) {
	for b.Loop() {
		s := benchStore(b)
		start := time.Now()
		seedMessages(b, s, 100_000, 13)
		levels, _ := segmentState(b, s)
		b.Logf("segments of levels %v after %v", levels, time.Since(start).Round(time.Second))
		fold, merge := s.LongestIndexWriteHold()
		b.ReportMetric(float64(fold.Microseconds())/1000, "fold-hold-ms")
		b.ReportMetric(float64(merge.Microseconds())/1000, "merge-hold-ms")
	}
}
