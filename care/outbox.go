package care

import "time"

// OpKind is the kind of a Salesforce side effect waiting in the outbox.
type OpKind string

// Outbox operation kinds.
const (
	// OpEscalate creates the Salesforce case of an automatic escalation.
	OpEscalate OpKind = "escalate"
	// OpBackfill pushes the case's last messages once its Salesforce case
	// exists.
	OpBackfill OpKind = "backfill"
	// OpPushMessage pushes one message to the Salesforce message object.
	OpPushMessage OpKind = "push_message"
	// OpSetStatus sets the Salesforce case status to Value.
	OpSetStatus OpKind = "set_status"
)

// OutboxOp is a Salesforce side effect of a Care change. The store records
// it in the same transaction as the change.
type OutboxOp struct {
	Kind      OpKind `json:"kind"`
	CaseID    int64  `json:"case_id"`
	MessageID string `json:"message_id,omitempty"`
	Value     string `json:"value,omitempty"` // OpSetStatus: the Salesforce status
	Actor     string `json:"actor,omitempty"` // the Care user whose change caused it
}

// OutboxState is where an outbox entry stands.
type OutboxState string

// Outbox states. Delivered entries leave the outbox.
const (
	OutboxPending OutboxState = "pending"
	OutboxFailed  OutboxState = "failed"
)

// OutboxEntry is a recorded operation and its delivery state.
type OutboxEntry struct {
	ID uint64 `json:"id"`
	OutboxOp
	State         OutboxState `json:"state"`
	Attempts      int         `json:"attempts"`
	NextAttemptAt time.Time   `json:"next_attempt_at"`
	LastError     string      `json:"last_error,omitempty"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// QueueStats is a queue of the store (the Salesforce outbox, the publish
// outbox) as its gauges read it at a scrape.
type QueueStats struct {
	Pending int64 // entries waiting to go out (new or retried)
	Failed  int64 // entries the other side refused, waiting for a person
	// OldestAge is how long the oldest pending entry has waited since it
	// was written (one retried by hand counts from then too); 0 when none
	// waits. One entry stuck in retries shows here while others go out.
	OldestAge time.Duration
}

// OutboxStats summarises the outbox.
type OutboxStats = QueueStats

// Effects decides the Salesforce side effects of a Care change. It runs
// inside the store's write transaction, so it must be quick and must not
// call the network.
type Effects interface {
	Effects(ch Change) []OutboxOp
}
