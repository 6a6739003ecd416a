package delivery

import (
	"time"

	"github.com/sethvargo/go-retry"
)

// JitterPercent spreads the retries of entries that failed together.
const JitterPercent = 20

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
