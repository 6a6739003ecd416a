package changeevents

import (
	"fmt"

	"github.com/carebridge/carebridge/connector/pubsub"
)

// codec reads the events of one schema id.
type codec struct{ schema *pubsub.Schema }

func newCodec(schemaJSON string) (*codec, error) {
	s, err := pubsub.ParseSchema(schemaJSON)
	if err != nil {
		return nil, err
	}
	return &codec{schema: s}, nil
}

// decode reads an event's Avro payload and its changedFields bitmap.
func (c *codec) decode(payload []byte) (change, error) {
	ev, err := c.schema.Decode(payload)
	if err != nil {
		return change{}, err
	}
	h := ev.Header
	changed, err := c.schema.Names(h.ChangedFields)
	if err != nil {
		return change{}, fmt.Errorf("changedFields: %w", err)
	}
	return change{entity: h.EntityName, recordIDs: h.RecordIDs, changeType: h.ChangeType, commit: h.CommitTime(),
		changed: changed, values: ev.Fields}, nil
}
