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

// decode reads an event's Avro payload and its changedFields and
// nulledFields bitmaps.
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
	nulled, err := c.schema.Names(h.NulledFields)
	if err != nil {
		return change{}, fmt.Errorf("nulledFields: %w", err)
	}
	return change{entity: h.EntityName, recordIDs: h.RecordIDs, changeType: h.ChangeType, commit: h.CommitTime(),
		changed: changed, nulled: nulled, values: ev.Fields}, nil
}
