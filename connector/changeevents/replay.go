package changeevents

import (
	"context"
	"fmt"

	"github.com/carebridge/carebridge/connector/outbox"
)

// ReplayKey keeps the replay id of the last change event handled, in the
// outbox's key-value namespace beside the poller's watermark. A replay id
// is opaque bytes: stored as they came, never computed on.
const ReplayKey = "change_events_replay_id"

// replayStore keeps the replay id durable.
type replayStore struct{ kv outbox.KV }

// load returns the stored replay id (nil: none, subscribe from the latest).
func (r replayStore) load(ctx context.Context) ([]byte, error) {
	b, err := r.kv.Get(ctx, ReplayKey)
	if err != nil {
		return nil, fmt.Errorf("changeevents: read replay id: %w", err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// save stores id; it outlives a cancelled ctx so an applied change's
// replay id is not lost to a shutdown.
func (r replayStore) save(ctx context.Context, id []byte) error {
	if len(id) == 0 {
		return nil
	}
	if err := r.kv.Put(context.WithoutCancel(ctx), ReplayKey, id); err != nil {
		return fmt.Errorf("changeevents: save replay id: %w", err)
	}
	return nil
}

// forget drops the stored replay id (past retention: it will never be
// served again).
func (r replayStore) forget(ctx context.Context) error {
	if err := r.kv.Put(context.WithoutCancel(ctx), ReplayKey, []byte{}); err != nil {
		return fmt.Errorf("changeevents: forget replay id: %w", err)
	}
	return nil
}
