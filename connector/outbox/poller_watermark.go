package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

func (p *Poller) watermark(ctx context.Context) (watermark, error) {
	if p.wm != nil {
		return *p.wm, nil
	}
	b, err := p.kv.Get(ctx, watermarkKey)
	if err != nil {
		return watermark{}, fmt.Errorf("outbox: read poll watermark: %w", err)
	}
	var wm watermark
	if b != nil {
		if err := json.Unmarshal(b, &wm); err != nil {
			p.log.Warn("outbox: unreadable poll watermark; starting over", "err", err)
			wm = watermark{}
		}
	}
	p.wm = &wm
	return wm, nil
}

// loadTime reads a time kept under key (zero when none).
func (p *Poller) loadTime(ctx context.Context, key string) (time.Time, error) {
	b, err := p.kv.Get(ctx, key)
	if err != nil {
		return time.Time{}, fmt.Errorf("outbox: read %s: %w", key, err)
	}
	var t time.Time
	if b != nil && t.UnmarshalText(b) != nil {
		p.log.Warn("outbox: unreadable poll window; starting over", "key", key)
		return time.Time{}, nil
	}
	return t, nil
}

// saveTime keeps t under key.
func (p *Poller) saveTime(ctx context.Context, key string, t time.Time) error {
	b, err := t.UTC().MarshalText()
	if err != nil {
		return err
	}
	if err := p.kv.Put(context.WithoutCancel(ctx), key, b); err != nil {
		return fmt.Errorf("outbox: save %s: %w", key, err)
	}
	return nil
}

func (p *Poller) saveWatermark(ctx context.Context, wm watermark) error {
	b, err := json.Marshal(wm)
	if err != nil {
		return err
	}
	if err := p.kv.Put(context.WithoutCancel(ctx), watermarkKey, b); err != nil {
		return fmt.Errorf("outbox: save poll watermark: %w", err)
	}
	p.wm = &wm
	return nil
}

// prune forgets the changes that fell out of the overlap window.
func (p *Poller) prune() {
	if p.wm == nil {
		return
	}
	cut := p.wm.At.Add(-p.overlap)
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	for id, at := range p.seen {
		if at.Before(cut) {
			delete(p.seen, id)
		}
	}
}
