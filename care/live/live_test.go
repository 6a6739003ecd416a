package live_test

import (
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/live"
)

var (
	alice = care.User{ID: "alice", Role: care.RoleAgent}
	sue   = care.User{ID: "sue", Role: care.RoleSupervisor}
)

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }

func change(id int64, before, after care.Status, beforeAssignee, afterAssignee string) care.Change {
	ch := care.Change{After: care.Case{ID: id, Status: after, Assignee: afterAssignee}}
	if before != "" {
		ch.Before = &care.Case{ID: id, Status: before, Assignee: beforeAssignee}
	}
	return ch
}

func next(t *testing.T, s *live.Subscription) live.Event {
	t.Helper()
	select {
	case e := <-s.Events():
		return e
	default:
		t.Fatal("no event queued")
	}
	return live.Event{}
}

// An empty batch from the store (changes were lost) tells every
// subscriber to reset, and no one resumes from before it.
func TestLostChangesReset(t *testing.T) {
	b := live.New(live.Options{Clock: fixedClock{}})
	s, err := b.Subscribe(sue, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	b.Publish([]care.Change{change(1, "", care.StatusNew, "", "")})
	before := next(t, s)
	b.Publish([]care.Change{})
	if e := next(t, s); e.Type != live.TypeReset || e.ID <= before.ID {
		t.Fatalf("after lost changes: %+v", e)
	}
	r, _ := b.Subscribe(sue, before.ID, true)
	if bl := r.Backlog(); len(bl) != 1 || bl[0].Type != live.TypeReset {
		t.Fatalf("resume from before the loss: %+v", bl)
	}
}

// A subscriber whose queue is full is dropped, never waited for; the
// publisher goes on.
func TestFullQueueDropsSubscriber(t *testing.T) {
	b := live.New(live.Options{Queue: 2, Clock: fixedClock{}})
	s, _ := b.Subscribe(alice, 0, false)
	other, _ := b.Subscribe(sue, 0, false)
	for i := range 5 {
		b.Publish([]care.Change{change(int64(i+1), "", care.StatusNew, "", "")})
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("a subscriber with a full queue was kept")
	}
	if !s.Lagged() || !other.Lagged() || b.Stats().Dropped != 2 || b.Stats().Streams != 0 {
		t.Fatalf("stats %+v", b.Stats())
	}
}

// Agents get what they see before or after a change; an unrelated
// agent's case never reaches them.
func TestEventVisibility(t *testing.T) {
	for _, tc := range []struct {
		name string
		ch   care.Change
		want bool
	}{
		{"new unassigned", change(1, "", care.StatusNew, "", ""), true},
		{"bob's case", change(1, care.StatusOpen, care.StatusOpen, "bob", "bob"), false},
		{"given to alice", change(1, care.StatusOpen, care.StatusOpen, "bob", "alice"), true},
		{"taken from alice", change(1, care.StatusOpen, care.StatusOpen, "alice", "bob"), true},
		{"new leaves for bob", change(1, care.StatusNew, care.StatusOpen, "", "bob"), true},
		{"bob's pending", change(1, care.StatusOpen, care.StatusPending, "bob", "bob"), false},
	} {
		b := live.New(live.Options{Clock: fixedClock{}})
		s, _ := b.Subscribe(alice, 0, false)
		b.Publish([]care.Change{tc.ch})
		got := len(s.Events()) == 1
		if got != tc.want {
			t.Errorf("%s: delivered %v, want %v", tc.name, got, tc.want)
		}
	}
	b := live.New(live.Options{Clock: fixedClock{}})
	if _, err := b.Subscribe(care.User{ID: "x", Role: care.RoleIntegration}, 0, false); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := b.Subscribe(alice, 0, false); err != live.ErrClosed {
		t.Fatalf("subscribe after close: %v", err)
	}
}
