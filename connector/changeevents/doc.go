// Package changeevents carries Salesforce case changes to Care as they
// happen: Change Data Capture over the Salesforce Pub/Sub API (SPEC §15).
//
// A Subscriber subscribes to the case object's change events
// (/data/CaseChangeEvent) over gRPC with pull flow control, decodes each
// event's Avro payload by its schema id (schemas cached), and hands status
// changes and deletes of linked cases to the poller's own apply path
// (outbox.Poller.ApplyChange, ApplyDeleted): the same maps, no ping-pong,
// no Salesforce REST call. The replay id of the last event handled is kept
// in the outbox's key-value namespace after the event is applied; applying
// is idempotent, so a crash between the two applies the change once. A
// restart resumes from it. After a replay id past retention, a lost
// stream or a refused subscription it subscribes again with backoff (an
// auth error refreshes the token first), and once the new stream is up a
// poll catches up from the poller's watermark: nothing changed meanwhile
// falls between the poll and the stream. While the stream is up the poller runs as a safety net
// (outbox.Poller.SetChangeStream).
package changeevents
