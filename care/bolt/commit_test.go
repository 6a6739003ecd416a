package bolt

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
)

// commitLog is an OnCommit that keeps what it is told.
type commitLog struct {
	mu      sync.Mutex
	batches [][]care.Change
	gate    chan struct{} // when set, each call waits for it to close
}

func (l *commitLog) onCommit(chs []care.Change) {
	if l.gate != nil {
		<-l.gate
	}
	l.mu.Lock()
	l.batches = append(l.batches, chs)
	l.mu.Unlock()
}

func (l *commitLog) changes() []care.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []care.Change
	for _, b := range l.batches {
		out = append(out, b...)
	}
	return out
}

func hookStore(t *testing.T, log *commitLog) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers, OnCommit: log.onCommit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitChanges waits (on the notifier, no clock) until log holds n changes.
func waitChanges(t *testing.T, s *Store, log *commitLog, n int) []care.Change {
	t.Helper()
	for range 10_000 {
		if chs := log.changes(); len(chs) >= n {
			return chs
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("OnCommit got %d changes, want %d", len(log.changes()), n)
	return nil
}

// OnCommit sees every case change once committed, in commit order: with
// concurrent writers on one case each change starts where the one before
// it ended; a refused write reports nothing.
func TestOnCommitInCommitOrder(t *testing.T) {
	log := &commitLog{}
	s := hookStore(t, log)
	ctx := context.Background()
	sue := user(t, "sue")
	c := escalateN(t, s, 0, 1)[0]
	var wg sync.WaitGroup
	const writers, each = 8, 25
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v := fmt.Sprintf("%d-%d", w, i)
				if _, err := s.PatchCase(ctx, sue, c.ID, care.CasePatch{Fields: map[string]*string{"n": &v}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := s.DeleteCase(ctx, sue, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchCase(ctx, sue, c.ID, patch(care.StatusOpen, nil)); care.ErrorCode(err) != care.CodeInvalidTransition {
		t.Fatalf("reopening a deleted case: %v", err)
	}
	if _, _, err := s.AddMessage(ctx, sue, c.ID, care.NewMessage{Kind: "note", Text: "n"}); care.ErrorCode(err) == "" {
		t.Fatalf("note on a deleted case: %v", err)
	}
	chs := waitChanges(t, s, log, 1+writers*each+1)
	if len(chs) != 1+writers*each+1 {
		t.Fatalf("%d changes, want %d", len(chs), 1+writers*each+1)
	}
	if chs[0].Before != nil || chs[0].After.ID != c.ID || chs[0].Message == nil {
		t.Fatalf("first change is not the creation: %+v", chs[0])
	}
	for i := 1; i < len(chs); i++ {
		prev, ch := chs[i-1], chs[i]
		if ch.Before == nil || ch.Before.Fields["n"] != prev.After.Fields["n"] || ch.Before.Status != prev.After.Status {
			t.Fatalf("change %d starts at %v, the one before ended at %v", i, ch.Before, prev.After)
		}
	}
	if last := chs[len(chs)-1]; last.After.Status != care.StatusDeleted || last.Actor.ID != "sue" {
		t.Fatalf("last change: %+v", last)
	}
}

// An OnCommit that never returns holds up no write; it is told every
// change once it goes on.
func TestOnCommitCannotBlockWrites(t *testing.T) {
	log := &commitLog{gate: make(chan struct{})}
	s := hookStore(t, log)
	done := make(chan error, 1)
	go func() {
		community := user(t, "community")
		for i := range 300 {
			if _, err := s.Escalate(context.Background(), community, care.EscalateInput{Message: benchMessage(fmt.Sprint("b-", i), i, time.Now())}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("writes wait for a stuck OnCommit")
	}
	close(log.gate)
	chs := waitChanges(t, s, log, 300)
	for i, ch := range chs {
		if ch.After.ID != int64(i+1) {
			t.Fatalf("change %d is of case %d", i, ch.After.ID)
		}
	}
}

// A notifier that falls too far behind drops what waits and says so with
// an empty batch, then goes on.
func TestNotifierOverflowSaysLost(t *testing.T) {
	var got [][]care.Change
	n := newNotifier(func(chs []care.Change) { got = append(got, chs) })
	n.max = 3
	one := []care.Change{{After: care.Case{ID: 1}}}
	n.push(one)
	n.push(one)
	n.push(one)
	n.push([]care.Change{{After: care.Case{ID: 2}}}) // over: the three are dropped
	n.close()
	n.run()
	if len(got) != 2 || len(got[0]) != 0 || got[1][0].After.ID != 2 {
		t.Fatalf("delivered %v, want an empty batch then case 2", got)
	}
}
