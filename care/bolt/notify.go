package bolt

import (
	"sync"

	"github.com/carebridge/carebridge/care"
)

// MaxCommitBacklog is how many case changes may wait for a slow OnCommit
// before the waiting ones are dropped (and OnCommit told so with an empty
// batch).
const MaxCommitBacklog = 100_000

// notifier calls OnCommit with committed changes, in commit order, on a
// goroutine of its own: the committer only appends to a queue, so a slow
// or stuck OnCommit never holds up a write.
type notifier struct {
	fn  func([]care.Change)
	max int // MaxCommitBacklog

	mu      sync.Mutex
	queue   [][]care.Change
	waiting int  // changes in queue
	lost    bool // changes were dropped: say so before the next batch
	closed  bool
	wake    chan struct{}
}

func newNotifier(fn func([]care.Change)) *notifier {
	return &notifier{fn: fn, max: MaxCommitBacklog, wake: make(chan struct{}, 1)}
}

// push queues a committed batch; it never blocks.
func (n *notifier) push(batch []care.Change) {
	n.mu.Lock()
	if n.waiting+len(batch) > n.max {
		n.queue, n.waiting, n.lost = nil, 0, true
	}
	n.queue = append(n.queue, batch)
	n.waiting += len(batch)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// close stops the notifier once it has delivered what is queued.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	for {
		n.mu.Lock()
		queue, lost, closed := n.queue, n.lost, n.closed
		n.queue, n.waiting, n.lost = nil, 0, false
		n.mu.Unlock()
		if lost {
			n.fn([]care.Change{})
		}
		for _, batch := range queue {
			n.fn(batch)
		}
		if closed && len(queue) == 0 {
			return
		}
		if len(queue) == 0 && !lost {
			<-n.wake
		}
	}
}
