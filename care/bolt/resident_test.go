package bolt

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// rssFile is the process's file-backed resident memory, in bytes.
func rssFile(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "RssFile:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	t.Skip("no RssFile line")
	return 0
}

func TestTrimResidentKeepsDataAndDropsPages(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	// ~24 MB of values.
	val := []byte(strings.Repeat("x", 3000))
	for batch := range 8 {
		err := s.update(ctx, func(tx *bbolt.Tx) error {
			for i := range 1000 {
				if err := tx.Bucket(bucketMeta).Put([]byte(fmt.Sprintf("k%d-%04d", batch, i)), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readAll := func() int {
		n := 0
		s.view(func(tx *bbolt.Tx) error {
			return tx.Bucket(bucketMeta).ForEach(func(k, v []byte) error {
				if len(v) == len(val) && v[0] == 'x' && v[len(v)-1] == 'x' {
					n++
				}
				return nil
			})
		})
		return n
	}
	if n := readAll(); n != 8000 {
		t.Fatalf("read %d values", n)
	}
	if mappingSize(s.db.Info().Data) == 0 {
		t.Fatal("the store's mapping is not found in /proc/self/maps")
	}
	before := rssFile(t)
	s.trimResident()
	after := rssFile(t)
	if before-after < 16<<20 {
		t.Fatalf("trim released %d bytes of %d resident", before-after, before)
	}
	// Everything reads back the same after the trim.
	if n := readAll(); n != 8000 {
		t.Fatalf("after trim read %d values", n)
	}
	community, _ := benchUsers.User("community")
	if _, err := s.Escalate(ctx, community, care.EscalateInput{Message: benchMessage("after-trim", 1, s.now())}); err != nil {
		t.Fatal(err)
	}
}
