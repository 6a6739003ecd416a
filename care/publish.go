package care

import "time"

// Publishing (SPEC §16): every reply an agent writes goes to the customer
// through the publisher (a webhook), by a durable publish outbox the store
// writes in the reply's transaction.

// DeliveryState is where a reply's publication stands.
type DeliveryState string

// Delivery states.
const (
	// DeliveryPending: waiting for (or being retried against) the publisher.
	DeliveryPending DeliveryState = "pending"
	// DeliverySent: the publisher took the reply.
	DeliverySent DeliveryState = "sent"
	// DeliveryFailed: the publisher refused the reply; a person retries it.
	DeliveryFailed DeliveryState = "failed"
)

// Delivery is a reply's publication as its message shows it. Notes and
// customer messages have none.
type Delivery struct {
	State DeliveryState `json:"state"`
	// Error is the publisher's refusal (failed) or the last transient
	// error (pending); "" after success.
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
}

// MaxDeliveryError bounds the error text kept on a delivery (the
// publisher's answer is cut to it).
const MaxDeliveryError = 1024

// Publishes reports whether m is what the publisher gets: a reply (an
// outbound message written in Care), never a note.
func (m *Message) Publishes() bool {
	return m.Direction == Outbound && m.Kind == KindMessage && m.ReplyType != ""
}

// Publication is a reply due at the publisher, as the store hands it out.
type Publication struct {
	ID uint64 // the publish outbox entry
	// DeliveryID is the same on every attempt of one reply and never
	// repeats across installs or restores (a ULID minted with the entry).
	DeliveryID string
	CaseID     int64
	Message    Message
	Customer   Customer
	// InReplyTo is the platform id of the customer message the reply
	// answers: the case's latest inbound message when it was written.
	InReplyTo string
	Attempts  int // failed attempts so far (the backoff's step)
	CreatedAt time.Time
}

// PublishStats is the publish outbox as the gauges read it at a scrape:
// replies waiting for the publisher, replies it refused, and how long the
// oldest waiting reply has waited since the agent wrote it.
type PublishStats = QueueStats

// CheckRetryDelivery lets the case's assignee or a supervisor requeue a
// reply the publisher refused.
func CheckRetryDelivery(actor User, c *Case) error {
	if actor.Role == RoleSupervisor || (actor.IsAgent() && c.Assignee == actor.ID) {
		return nil
	}
	return Errorf(CodeForbidden, "only the case's assignee or a supervisor may retry a reply")
}
