// Package pubsub holds what both ends of Salesforce's Pub/Sub API in
// carebridge share: the Avro schema of a change event (CaseChangeEvent as
// Salesforce publishes it), its encoding and decoding, and the bitmap form of
// the field lists in a ChangeEventHeader (changedFields, nulledFields,
// diffFields). sfsim publishes with it and the daemon's subscriber reads
// with it. The gRPC service itself is in pubsubapi.
package pubsub
