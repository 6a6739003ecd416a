// Package outbox is the sync engine between the Care store and Salesforce:
// it delivers the Salesforce side effects the store records in its
// transactional outbox (automatic escalations, message backfills and
// pushes, status updates) and polls Salesforce for status changes made
// there.
//
// The Deliverer takes due entries in order per case and in parallel across
// cases (a small worker pool). Message pushes and backfills of many cases
// are packed into sObject Collections upserts of up to 200 records (by the
// mapping's external id field, so a retry never duplicates), status
// updates of many cases into one Collections update; a case's run of
// status updates sends only its last value. Per-record errors are handled
// per entry: one bad record does not fail its batch mates.
//
// Errors are sorted by salesforce.Classify: retryable ones (network, 5xx,
// UNABLE_TO_LOCK_ROW) are scheduled again with exponential backoff, jitter
// and a cap, the attempt count and next time stored in the outbox so a
// restart resumes; auth failures (no healthy token) park the deliverer
// until a token is healthy, without counting an attempt; a spent daily API
// quota (REQUEST_LIMIT_EXCEEDED) pauses background work; anything else is
// moved to failed with Salesforce's code and message, listed by the API and
// retried by hand. Entries leave the outbox only after Salesforce answered,
// so nothing is lost on a crash or shutdown.
//
// The Poller reads Salesforce status changes of the linked cases only
// (Id IN chunks of 300, one SOQL query per chunk and interval; never every
// changed Case of the org), on a SystemModstamp watermark with an overlap
// window. A real org's stamps have whole seconds: the watermark's second is
// read again and a change is skipped only when its stamp and value were
// handled. The first watermark is Salesforce's clock (its newest
// SystemModstamp), never ours. It applies from_salesforce to Care. A value
// the daemon wrote itself never comes back (it equals the value recorded on
// the case), and of two changes to one case the later wins. It also asks
// getDeleted for deleted Salesforce cases: their Care case gains
// salesforce.deleted_at (Care replies unlock) and its waiting work moves to
// failed with the code salesforce_record_deleted; the deliverer fails any
// later work of such a case the same way.
//
// Budget throttles background work (pushes, status, polling) once the
// org's daily API usage passes a share of its allocation.
package outbox
