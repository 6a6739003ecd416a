package simtest

import (
	"sync"
	"time"
)

// Clock is the one settable clock of the tests: give it to the store, the
// API, the simulated org (sfsim.Options.Now) and the workers so that both
// sides of a test agree on the time. NewClock stands still at an instant;
// WallClock follows the wall clock until Set stops it. Advance moves
// either kind. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	at     time.Time     // the instant while stopped
	offset time.Duration // added to the wall clock while running
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{at: t} }

// WallClock returns a running clock: the wall clock plus what Advance adds.
func WallClock() *Clock { return &Clock{} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now().Add(c.offset)
	}
	return c.at
}

// Advance moves the clock by d (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	if !c.at.IsZero() {
		c.at = c.at.Add(d)
	}
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t
}
