package publish_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/publish"
)

// The body a delivery POSTs is the publisher's contract (SPEC §16): every
// field in its place, the customer without email or Salesforce contact,
// attachments as a list even when there are none, in_reply_to null
// without a customer message to answer.
func TestBodyJSON(t *testing.T) {
	sent := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	pub := care.Publication{DeliveryID: "01JD", CaseID: 4,
		Message: care.Message{ID: "m1", ExternalKey: "01JM", Platform: "twitter", ProfileID: "brand", Type: care.TypeDirectMessage,
			ReplyType: care.ReplyDirectMessage, Author: "Alice", AuthorID: "alice", Text: "hi Joe", SentAt: sent},
		Customer: care.Customer{CustomerIdentity: care.CustomerIdentity{ID: 7, Platform: "twitter", PlatformUserID: "u-77",
			Username: "@joedoe", FirstName: "Joe", LastName: "Doe"}, Email: "joe@example.com", ContactID: "003A"}}
	const want = `{"delivery_id":"01JD","case_id":4,"message":{"id":"m1","external_key":"01JM","platform":"twitter",` +
		`"type":"direct_message","author":"Alice","author_id":"alice","text":"hi Joe","sent_at":"2026-03-01T09:00:00Z","attachments":[]},` +
		`"customer":{"id":7,"platform":"twitter","platform_user_id":"u-77","username":"@joedoe","first_name":"Joe","last_name":"Doe"},` +
		`"profile_id":"brand","reply_type":"direct_message","in_reply_to":null}`
	got, err := json.Marshal(publish.BodyOf(pub))
	if err != nil || string(got) != want {
		t.Fatalf("body:\n got %s (%v)\nwant %s", got, err, want)
	}
}
