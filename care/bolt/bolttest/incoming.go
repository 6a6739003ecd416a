package bolttest

import (
	"fmt"
	"time"

	"github.com/carebridge/carebridge/care"
)

// Incoming is the message the store's tests and benchmarks (and cbbench)
// ingest: a mention on twitter to the profile "brand" with id ext, sent at
// sent by customer n (platform user "u<n>", username "@u<n>", Joe Doe<n>).
// The same n always names the same customer, so an ingest renames no one.
func Incoming(ext string, customer int, sent time.Time) care.IncomingMessage {
	return care.IncomingMessage{
		ExternalID: ext, Platform: "twitter", ProfileID: "brand",
		Customer: care.CustomerInput{PlatformUserID: fmt.Sprintf("u%d", customer), Username: fmt.Sprintf("@u%d", customer),
			FirstName: "Joe", LastName: fmt.Sprintf("Doe%d", customer)},
		Type: care.TypeMention, Text: "Hi, does your new perfume have hibiscus in it? I would love to know before I order.",
		SentAt: sent,
	}
}
