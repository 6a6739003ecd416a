package changeevents

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/connector/outbox"
	"github.com/carebridge/carebridge/connector/pubsub"
	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
)

// gapPrefix starts the change types of GAP_* events (GAP_CREATE,
// GAP_UPDATE, GAP_DELETE, GAP_UNDELETE, GAP_OVERFLOW): changes happened
// without their values, and a poll reads them.
const gapPrefix = "GAP_"

// change is what one decoded change event says.
type change struct {
	entity     string
	recordIDs  []string
	changeType string
	commit     time.Time
	// changed names the fields an UPDATE changed (changedFields, decoded
	// from its bitmap against the schema); nulled those it set to null
	// (nulledFields).
	changed, nulled []string
	// values are the event's field values by name (nil: null).
	values map[string]any
}

// statusValue returns the status field's value when the event carries a
// new one: an UPDATE that changed it, or a CREATE (which carries every
// field set).
func (c change) statusValue(field string) (string, bool) {
	switch c.changeType {
	case pubsub.ChangeUpdate:
		return c.updated(field)
	case pubsub.ChangeCreate:
		return c.value(field)
	}
	return "", false
}

// updated returns a field's value after an UPDATE that changed it ("":
// nulled); ok is false when the event is no UPDATE or left the field as
// it was.
func (c change) updated(field string) (v string, ok bool) {
	if c.changeType != pubsub.ChangeUpdate || !containsFold(c.changed, field) && !containsFold(c.nulled, field) {
		return "", false
	}
	v, _ = c.value(field)
	return v, true
}

// value returns a field's value in the event; ok is false when the event
// does not carry it (or carries null).
func (c change) value(field string) (string, bool) {
	for k, v := range c.values {
		if strings.EqualFold(k, field) {
			s, _ := v.(string)
			return s, true
		}
	}
	return "", false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// outcome is what applying one event did.
type outcome struct {
	changed bool // Care changed (its replay id is stored at once)
	catchUp bool // a poll must read what the event could not tell
}

// apply handles one event: decode by schema id, then hand each linked
// record's status change or delete to the poller's apply path. An event
// that cannot be read is logged and left to a catch-up poll rather than
// stopping the stream on it forever.
func (s *Subscriber) apply(ctx context.Context, object, field string, ev *pubsubapi.ConsumerEvent) (outcome, error) {
	var out outcome
	e := ev.GetEvent()
	if e == nil {
		return out, nil
	}
	codec, err := s.schemas.get(ctx, e.GetSchemaId())
	if err != nil {
		if ctx.Err() != nil {
			return out, err
		}
		return out, fmt.Errorf("changeevents: schema %s: %w", e.GetSchemaId(), err)
	}
	ch, err := codec.decode(e.GetPayload())
	if err != nil {
		s.log.Warn("changeevents: an event could not be decoded; a poll reads its change", "schema_id", e.GetSchemaId(), "err", err)
		out.catchUp = true
		return out, nil
	}
	if !strings.EqualFold(ch.entity, object) {
		return out, nil
	}
	if strings.HasPrefix(ch.changeType, gapPrefix) {
		s.log.Info("changeevents: a gap event; a poll reads the changes", "change_type", ch.changeType, "records", len(ch.recordIDs))
		s.metrics.gapSeen()
		out.catchUp = true
		return out, nil
	}
	keyField := s.poller.CaseKeyField()
	for _, id := range ch.recordIDs {
		var res outbox.PollResult
		switch {
		case ch.changeType == pubsub.ChangeDelete:
			res, err = s.poller.ApplyDeleted(ctx, id, ch.commit)
		default:
			if v, ok := ch.statusValue(field); ok {
				res, err = s.poller.ApplyChange(ctx, outbox.Change{SalesforceID: id, Status: v, At: ch.commit})
			}
		}
		if err != nil {
			return out, err
		}
		if res.Applied+res.Recorded+res.Deleted+res.Superseded > 0 {
			out.changed = true
			s.metrics.applied(s.now().Sub(ch.commit))
		}
		restored, err := s.restoreKey(ctx, ch, id, keyField)
		if err != nil {
			return out, err
		}
		out.changed = out.changed || restored
	}
	return out, nil
}

// restoreKey hands a linked case whose case external id field the event
// shows cleared or changed to the poller's write-back (RestoreKey), which
// restores carebridge's key at once rather than at a safety-net poll. A
// write-back Salesforce could not take now is left to the poll, and does
// not hold the stream. restored is true when a key was written back (or
// refused, and the case named by Id): the event's replay id is stored at
// once, so a restart does not write it again.
func (s *Subscriber) restoreKey(ctx context.Context, ch change, id, keyField string) (restored bool, err error) {
	if keyField == "" {
		return false, nil
	}
	v, ok := ch.updated(keyField)
	if !ok {
		return false, nil
	}
	res, err := s.poller.RestoreKey(ctx, outbox.KeyChange{SalesforceID: id, Value: v})
	if err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		s.log.Warn("changeevents: a cleared or changed case external id could not be written back now; the poll writes it back", "salesforce_case", id, "err", err)
	}
	return res.Restored+res.KeysRefused > 0, nil
}

// schemaCache keeps the event schemas by id: GetSchema once per id.
type schemaCache struct {
	api pubsubapi.PubSubClient
	mu  sync.Mutex
	by  map[string]*codec
}

func newSchemaCache(api pubsubapi.PubSubClient) *schemaCache {
	return &schemaCache{api: api, by: map[string]*codec{}}
}

// get returns the codec of a schema id, asking the server the first time.
// ctx carries the subscription's credentials.
func (c *schemaCache) get(ctx context.Context, id string) (*codec, error) {
	c.mu.Lock()
	cd, ok := c.by[id]
	c.mu.Unlock()
	if ok {
		return cd, nil
	}
	info, err := c.api.GetSchema(ctx, &pubsubapi.SchemaRequest{SchemaId: id})
	if err != nil {
		return nil, err
	}
	if cd, err = newCodec(info.GetSchemaJson()); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.by[id] = cd
	c.mu.Unlock()
	return cd, nil
}
