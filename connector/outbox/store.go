package outbox

import (
	"context"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/tokens"
)

// Store is the part of the Care store the deliverer uses: the outbox, and
// the cases and messages its entries are about. (*bolt.Store) implements
// it.
type Store interface {
	OutboxDue(ctx context.Context, now time.Time, max int, busy func(caseID int64) bool) ([]care.OutboxEntry, error)
	NextOutboxAttempt(ctx context.Context) (time.Time, error)
	OutboxSignal() <-chan struct{}
	OutboxDone(ctx context.Context, ids []uint64) error
	OutboxDoneWith(ctx context.Context, ids []uint64, caseID int64, fn func(c *care.Case)) (care.Case, error)
	OutboxRetry(ctx context.Context, ids []uint64, next time.Time, msg string) error
	OutboxFail(ctx context.Context, ids []uint64, msg string) error
	Case(ctx context.Context, actor care.User, id int64) (care.Case, error)
	Message(ctx context.Context, id string) (care.Message, error)
	RecentMessages(ctx context.Context, caseID int64, n int) ([]care.Message, error)
}

// PollStore is the part of the Care store the poller uses. (*bolt.Store)
// implements it.
type PollStore interface {
	Case(ctx context.Context, actor care.User, id int64) (care.Case, error)
	CaseBySalesforceID(ctx context.Context, sfCaseID string) (care.Case, error)
	LinkedSalesforceCases(ctx context.Context) ([]care.LinkedSalesforceCase, error)
	RecordSalesforceExternalIDField(ctx context.Context, field string, sfCaseIDs []string) (int, error)
	ApplyFromSalesforce(ctx context.Context, caseID int64, fn func(c *care.Case, now time.Time) error) (care.Case, error)
	OutboxDue(ctx context.Context, now time.Time, max int, busy func(caseID int64) bool) ([]care.OutboxEntry, error)
	OutboxDone(ctx context.Context, ids []uint64) error
	OutboxFail(ctx context.Context, ids []uint64, msg string) error
}

// AdminStore is the part of the Care store the outbox API uses.
// (*bolt.Store) implements it.
type AdminStore interface {
	OutboxList(ctx context.Context, state care.OutboxState, limit int) ([]care.OutboxEntry, error)
	OutboxRequeue(ctx context.Context, id uint64) (care.OutboxEntry, error)
}

// StatsSource summarises the outbox for the gauges. (*bolt.Store)
// implements it.
type StatsSource interface {
	OutboxStats(ctx context.Context) (care.OutboxStats, error)
}

// KV is a durable key-value namespace: the poller keeps its watermark
// there. (*bolt.KV) implements it (store.KV(outbox.Namespace)).
type KV interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
}

// Namespace is the key-value namespace the daemon should hand the poller.
const Namespace = "salesforce_sync"

// Tokens hands out Salesforce connections for background work.
// (*tokens.Pool) implements it.
type Tokens interface {
	// DoBackground runs fn with the background token, again with the next
	// healthy one when fn fails for its token (an Auth error).
	DoBackground(ctx context.Context, fn func(*tokens.Conn) error) error
	// WaitHealthy returns once some token is healthy.
	WaitHealthy(ctx context.Context) error
}

// Escalator creates the Salesforce case of an automatic escalation (SPEC
// §6: contact sync, create the case, link it). It records the link on the
// Care case itself, through the store, which queues the message backfill,
// and returns nil for a case linked already (a retry after the link was
// recorded but before the entry was completed). Its errors wrap
// Salesforce's, so salesforce.Classify sorts them: retryable ones are
// tried again later, Auth ones park the deliverer until a token is
// healthy, anything else fails the entry with its message.
type Escalator interface {
	EscalateAutomatically(ctx context.Context, caseID int64, actor string) error
}

// EscalatorFunc adapts a function to Escalator.
type EscalatorFunc func(ctx context.Context, caseID int64, actor string) error

// EscalateAutomatically calls f.
func (f EscalatorFunc) EscalateAutomatically(ctx context.Context, caseID int64, actor string) error {
	return f(ctx, caseID, actor)
}

var _ Tokens = (*tokens.Pool)(nil)
