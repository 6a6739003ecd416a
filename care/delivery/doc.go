// Package delivery is what the two outbox workers share: connector/outbox's
// deliverer (the sync outbox, to Salesforce) and care/publish's publisher
// (the publish outbox, to the customer's platform). Both run their
// deliveries on goroutines that outlive Run's context and drain them at
// shutdown (Lifecycle), and both retry an entry on the schedule Backoff
// computes from the attempts the outbox counts.
//
// It imports nothing of the product, so every room may import it.
package delivery
