package bolt

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// stallingWriter holds the backup's read transaction open: its first
// write waits until release is closed.
type stallingWriter struct {
	w       io.Writer
	started chan struct{}
	release chan struct{}
	first   bool
}

func (s *stallingWriter) Write(p []byte) (int, error) {
	if !s.first {
		s.first = true
		close(s.started)
		<-s.release
	}
	return s.w.Write(p)
}

// A backup is a consistent copy that opens as a store with every case,
// and writers that grow the file go on while it streams.
func TestBackup(t *testing.T) {
	s := openAt(t, t.TempDir())
	ctx := context.Background()
	before := escalateN(t, s, 0, 5)
	restored := t.TempDir()
	out, err := os.Create(filepath.Join(restored, FileName))
	if err != nil {
		t.Fatal(err)
	}
	w := &stallingWriter{w: out, started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := s.Backup(w)
		done <- err
	}()
	<-w.started
	wrote := make(chan []int64, 1)
	go func() {
		var ids []int64
		for _, c := range escalateN(t, s, 100, 200) {
			ids = append(ids, c.ID)
		}
		wrote <- ids
	}()
	var later []int64
	select {
	case later = <-wrote:
	case <-time.After(10 * time.Second):
		close(w.release)
		t.Fatal("writes waited for the backup")
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(out.Name()); err != nil {
		t.Fatal(err)
	}
	b := openAt(t, restored)
	sue, _ := benchUsers.User("sue")
	for _, c := range before {
		got, err := b.Case(ctx, sue, c.ID)
		if err != nil || got.ExternalKey != c.ExternalKey {
			t.Fatalf("case %d in the backup: %v %+v", c.ID, err, got)
		}
	}
	if _, err := b.Case(ctx, sue, later[0]); err == nil {
		t.Fatalf("case %d, written after the backup began, is in it", later[0])
	}
}
