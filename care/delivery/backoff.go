package delivery

import (
	"time"

	"github.com/sethvargo/go-retry"
)

// Defaults of both workers' timing options.
const (
	DefaultBaseBackoff  = time.Second      // the wait after an entry's first failure
	DefaultMaxBackoff   = 10 * time.Minute // the longest wait between two attempts
	DefaultDrainTimeout = 10 * time.Second // Lifecycle.Timeout
	DefaultIdleCheck    = 5 * time.Second  // the longest sleep without looking at the outbox
)

// JitterPercent spreads the retries of entries that failed together.
const JitterPercent = 20

// Retry is the retry schedule of an outbox entry: exponential from Base
// with ±20% jitter, capped at Max.
type Retry struct{ Base, Max time.Duration }

// NewRetry is the schedule of a worker's BaseBackoff and MaxBackoff
// options: DefaultBaseBackoff and DefaultMaxBackoff where they are not
// positive, and Max at least Base.
func NewRetry(base, ceiling time.Duration) Retry {
	if base <= 0 {
		base = DefaultBaseBackoff
	}
	if ceiling <= 0 {
		ceiling = DefaultMaxBackoff
	}
	return Retry{Base: base, Max: max(ceiling, base)}
}

// Wait is the wait before the next attempt of an entry that failed
// attempts times before this failure (Backoff).
func (r Retry) Wait(attempts int) time.Duration { return Backoff(attempts, r.Base, r.Max) }

// Backoff is the wait before the next attempt of an entry that has failed
// attempts times before this failure: the (attempts+1)-th step of a new
// exponential go-retry backoff from base, capped at ceiling, with ±20%
// jitter. A fresh backoff per entry and failure keeps no shared state; the
// attempt count lives in the outbox, so a restart resumes the schedule.
func Backoff(attempts int, base, ceiling time.Duration) time.Duration {
	b := retry.WithJitterPercent(JitterPercent, retry.WithCappedDuration(ceiling, retry.NewExponential(base)))
	var d time.Duration
	for range min(max(attempts, 0), 62) + 1 {
		d, _ = b.Next()
	}
	return d
}
