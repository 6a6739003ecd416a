package tokens

import (
	"context"
	"errors"
	"time"
)

// Run keeps the tokens alive until ctx is cancelled, then returns nil.
//
// Every KeepaliveInterval it refreshes every healthy token (Keepalive): a
// refresh keeps Salesforce's idle expiry of refresh tokens away, and a JWT
// default token is granted anew. When the JWT bearer flow is configured,
// every RetryInterval it also obtains the default token if it is missing or
// expired (after a failed grant at startup, a revoke, a disconnect).
func (p *Pool) Run(ctx context.Context) error {
	keep := p.newTicker(p.keepalive)
	defer keep.Stop()
	var retry <-chan time.Time // nil (never ready) without JWT
	if p.jwt.Enabled() {
		t := p.newTicker(p.retry)
		defer t.Stop()
		retry = t.C()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-keep.C():
			if err := p.Keepalive(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("salesforce token keepalive had failures", "error", err)
			}
		case <-retry:
			if err := p.ensureJWT(ctx, true); err != nil && ctx.Err() == nil {
				p.log.Warn("salesforce JWT default token not obtained; will retry", "error", safeError(err))
			}
		}
	}
}

// Keepalive refreshes every healthy token now and stores any entry whose
// earlier storing failed. Expired personal tokens stay expired until they
// are connected again; an expired JWT default token is granted anew. It
// returns the failures joined.
func (p *Pool) Keepalive(ctx context.Context) error {
	p.mu.Lock()
	keys := p.sortedKeysLocked()
	p.mu.Unlock()
	var errs []error
	ok := 0
	for _, key := range keys {
		if err := ctx.Err(); err != nil { // shutting down: start no more renewals
			return errors.Join(append(errs, err)...)
		}
		rec, dirty := p.current(key)
		switch {
		case rec == nil:
			continue
		case rec.Healthy:
			if _, err := p.refresh(ctx, key, nil); err != nil {
				errs = append(errs, err)
				continue
			}
			ok++
		case dirty:
			if err := p.flushLocking(ctx, key); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := p.ensureJWT(ctx, true); err != nil {
		errs = append(errs, err)
	}
	p.log.Info("salesforce tokens kept alive", "refreshed", ok, "failed", len(errs))
	return errors.Join(errs...)
}
