package outbox

import (
	"errors"
	"strings"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/sethvargo/go-retry"
)

// jitterPercent spreads the retries of entries that failed together.
const jitterPercent = 20

// backoffDelay is the wait before the next attempt of an entry that has
// failed attempts times before this failure: the (attempts+1)-th step of a
// new exponential go-retry backoff from base, capped at ceiling, with
// ±20% jitter. A fresh backoff per entry and failure keeps no shared
// state; the attempt count lives in the outbox, so a restart resumes the
// schedule.
func backoffDelay(attempts int, base, ceiling time.Duration) time.Duration {
	b := retry.WithJitterPercent(jitterPercent, retry.WithCappedDuration(ceiling, retry.NewExponential(base)))
	var d time.Duration
	for range min(max(attempts, 0), 62) + 1 {
		d, _ = b.Next()
	}
	return d
}

// ReasonRecordDeleted is the code of the error recorded on the entries of
// a case whose Salesforce case was deleted (SPEC §11); the outbox API
// shows it as the error's code.
const ReasonRecordDeleted = "salesforce_record_deleted"

// errRecordDeleted marks the entries of a case whose Salesforce case was
// deleted: nothing more is sent for that case.
var errRecordDeleted = errors.New("the Salesforce case was deleted; nothing more is sent for this case")

// errorText is the message recorded on an entry: Salesforce's code and
// message when Salesforce refused, else the error.
func errorText(err error) string {
	if errors.Is(err, errRecordDeleted) {
		return ReasonRecordDeleted + ": " + errRecordDeleted.Error()
	}
	var ae *salesforce.APIError
	if errors.As(err, &ae) && ae.Code != "" {
		s := ae.Code + ": " + ae.Message
		if len(ae.Fields) > 0 {
			s += " (fields: " + strings.Join(ae.Fields, ", ") + ")"
		}
		return s
	}
	return err.Error()
}
