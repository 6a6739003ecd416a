package bolt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

func testStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// A write that fails with an internal error fails alone: the writes grouped
// with it commit, and nothing of the failed one does.
func TestGroupCommitIsolatesFailure(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.update(ctx, func(tx *bbolt.Tx) error {
				if err := tx.Bucket(bucketMeta).Put([]byte(fmt.Sprintf("k%03d", i)), []byte("v")); err != nil {
					return err
				}
				if i%10 == 0 {
					return boom // after writing: the whole group must roll back and retry without it
				}
				if i%10 == 5 {
					return care.Errorf(care.CodeConflict, "domain error %d", i)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	err := s.view(func(tx *bbolt.Tx) error {
		for i, err := range errs {
			v := tx.Bucket(bucketMeta).Get([]byte(fmt.Sprintf("k%03d", i)))
			switch i % 10 {
			case 0:
				if !errors.Is(err, boom) || v != nil {
					return fmt.Errorf("write %d: err %v, stored %q; want boom and nothing stored", i, err, v)
				}
			case 5:
				if care.ErrorCode(err) != care.CodeConflict {
					return fmt.Errorf("write %d: err %v, want its domain error", i, err)
				}
			default:
				if err != nil || v == nil {
					return fmt.Errorf("write %d: err %v, stored %q; want committed", i, err, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOneProcessPerDataDir(t *testing.T) {
	_, dir := testStore(t)
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "one carebridge per data directory") {
		t.Fatalf("second open: %v", err)
	}
}

func TestCloseFinishesQueuedWrites(t *testing.T) {
	s, dir := testStore(t)
	ctx := context.Background()
	community, _ := benchUsers.User("community")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage(fmt.Sprintf("x%d", i), i, time.Now())})
			switch {
			case err == nil:
				mu.Lock()
				ok++
				mu.Unlock()
			case !errors.Is(err, ErrClosed):
				t.Errorf("escalate: %v", err)
			}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// Every write that reported success is on disk.
	s2, err := Open(dir, Options{Users: benchUsers})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	counts, err := s2.StatusCounts()
	if err != nil {
		t.Fatal(err)
	}
	if counts[care.StatusNew] != int64(ok) {
		t.Fatalf("%d new cases on disk, %d escalations succeeded", counts[care.StatusNew], ok)
	}
	if err := s.Ping(); !errors.Is(err, ErrClosed) {
		t.Fatalf("ping after close: %v", err)
	}
}

func TestStatusCountsFollowChanges(t *testing.T) {
	s, _ := testStore(t)
	seedCases(t, s, 500)
	counts, err := s.StatusCounts()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	if total != 500 {
		t.Fatalf("counts sum to %d: %v", total, counts)
	}
	// Count by scanning the cases themselves and compare.
	want := map[care.Status]int64{}
	err = s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			c, err := getCase(tx, int64(getU64(k)))
			if err == nil {
				want[c.Status]++
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for st, n := range want {
		if counts[st] != n {
			t.Errorf("%s: counted %d, stored %d", st, counts[st], n)
		}
	}
}
