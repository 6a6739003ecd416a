package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/sethvargo/go-retry"
)

// errNoRefreshToken: an entry from the web-server flow without a refresh
// token (the refresh_token scope was not granted) cannot be renewed.
var errNoRefreshToken = errors.New("tokens: no refresh token (was the refresh_token scope granted?)")

// errJWTNotConfigured: a stored JWT default token after the JWT bearer
// flow was removed from the config.
var errJWTNotConfigured = errors.New("tokens: the JWT bearer flow is no longer configured")

// session is the salesforce.Session of one entry. It looks the entry up on
// every call, so it keeps working across refreshes and reconnects.
type session struct {
	p   *Pool
	key string
}

// Token returns the entry's current access token. A missing or expired
// entry answers ErrTokenExpired. An entry whose last refresh could not be
// stored is stored first: no token is handed out before it is on disk.
func (s *session) Token(ctx context.Context) (salesforce.Token, error) {
	rec, dirty := s.p.current(s.key)
	if dirty {
		if err := s.p.flushLocking(ctx, s.key); err != nil {
			return salesforce.Token{}, err
		}
		rec, _ = s.p.current(s.key)
	}
	if rec == nil || !rec.Healthy || rec.AccessToken == "" {
		return salesforce.Token{}, fmt.Errorf("salesforce token %s: %w", s.key, ErrTokenExpired)
	}
	return rec.token(), nil
}

// Refresh renews the entry's token after stale was refused (single-flight).
func (s *session) Refresh(ctx context.Context, stale salesforce.Token) (salesforce.Token, error) {
	return s.p.refresh(ctx, s.key, &stale)
}

// renewTimeout bounds a renewal once started (see refresh).
const renewTimeout = 2 * time.Minute

// refresh renews the token of the entry under key. With stale set it is the
// client's refresh after a 401: when the entry already holds another access
// token (another caller refreshed first) that token is returned without a
// call. With stale nil (keepalive) it always renews.
//
// One renewal per entry runs at a time: callers wait on the entry's writer
// lock, honouring their ctx. Once started, the renewal and the storing of
// its result finish even if the caller gives up (a rotated refresh token
// must not be lost), bounded by renewTimeout.
//
// A new refresh token is stored before the new access token is handed out.
// Only an invalid_grant answer (revoked, expired, inactive user) marks the
// entry expired. A network error, a 5xx, a 429 or unknown_error is retried
// with backoff (renewRetrying); when that gives up the entry keeps its
// state with the error noted. invalid_client makes the pool misconfigured.
func (p *Pool) refresh(ctx context.Context, key string, stale *salesforce.Token) (salesforce.Token, error) {
	release, err := p.acquire(ctx, key)
	if err != nil {
		return salesforce.Token{}, err
	}
	defer release()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renewTimeout)
	defer cancel()

	rec, dirty := p.current(key)
	if rec == nil {
		return salesforce.Token{}, fmt.Errorf("salesforce token %s: %w", key, ErrTokenExpired)
	}
	if dirty {
		if err := p.flush(rctx, key); err != nil {
			return salesforce.Token{}, err
		}
	}
	if !rec.Healthy {
		return salesforce.Token{}, fmt.Errorf("salesforce token %s (%s): %w", key, rec.Error, ErrTokenExpired)
	}
	if stale != nil && rec.AccessToken != stale.AccessToken {
		return rec.token(), nil
	}
	next, err := p.renewRetrying(rctx, key, rec)
	p.m.refreshed(err)
	if err != nil {
		rec.Error = safeError(err)
		if clientRefused(err) {
			p.setMisconfigured("Salesforce refused the connected app's credentials (" + rec.Error +
				"): check salesforce.client_id and the client secret")
			p.log.Error("salesforce refused the connected app's credentials", "token", key, "error", rec.Error)
			p.setMemory(key, rec)
			return salesforce.Token{}, fmt.Errorf("tokens: refresh %s: %w", key, err)
		}
		if errors.Is(err, salesforce.ErrInvalidGrant) || errors.Is(err, errNoRefreshToken) ||
			errors.Is(err, errJWTNotConfigured) {
			rec.Healthy = false
			p.log.Warn("salesforce token expired; it must be connected again", "token", key,
				"sf_user_id", rec.SFUserID, "error", rec.Error)
			_ = p.commit(rctx, key, rec) // a failure is logged; the entry is expired in memory either way
			return salesforce.Token{}, fmt.Errorf("salesforce token %s: %w: %w", key, ErrTokenExpired, err)
		}
		p.log.Warn("salesforce token refresh failed", "token", key, "sf_user_id", rec.SFUserID, "error", rec.Error)
		p.setMemory(key, rec)
		return salesforce.Token{}, fmt.Errorf("tokens: refresh %s: %w", key, err)
	}
	if err := p.commit(rctx, key, next); err != nil {
		return salesforce.Token{}, err
	}
	p.setMisconfigured("")
	p.log.Debug("salesforce token refreshed", "token", key, "sf_user_id", next.SFUserID,
		"rotated", next.RefreshToken != rec.RefreshToken)
	return next.token(), nil
}

// renewRetrying is renew, retried while it fails transiently.
func (p *Pool) renewRetrying(ctx context.Context, key string, rec *record) (*record, error) {
	return retryTransient(ctx, p, key, func(ctx context.Context) (*record, error) { return p.renew(ctx, rec) })
}

// retryTransient runs a renewal or grant of the entry under key with a new
// backoff, again while it fails transiently (transientRenewal).
func retryTransient[T any](ctx context.Context, p *Pool, key string, fn func(context.Context) (T, error)) (T, error) {
	return retry.DoValue(ctx, p.backoff(), func(ctx context.Context) (T, error) {
		v, err := fn(ctx)
		if err != nil && transientRenewal(err) {
			p.log.Info("salesforce token renewal failed; retrying", "token", key, "error", safeError(err))
			return v, retry.RetryableError(err)
		}
		return v, err
	})
}

// transientRenewal reports a renewal failure that may pass: no answer, a
// 5xx, a 429, or Salesforce's unknown_error. The token may well be fine.
func transientRenewal(err error) bool {
	var oe *salesforce.OAuthError
	if errors.As(err, &oe) {
		return oe.Status >= 500 || oe.Status == http.StatusTooManyRequests || oe.Code == "unknown_error"
	}
	var ne *salesforce.NetworkError
	return errors.As(err, &ne)
}

// clientRefused reports Salesforce refusing the connected app itself
// (invalid_client, invalid_client_id): no token can be renewed until the
// config is fixed, and reconnecting does not help.
func clientRefused(err error) bool {
	var oe *salesforce.OAuthError
	return errors.As(err, &oe) && (oe.Code == "invalid_client" || oe.Code == "invalid_client_id")
}

// renew obtains a new token for rec: the refresh-token grant, or a new JWT
// bearer grant for a JWT default token.
func (p *Pool) renew(ctx context.Context, rec *record) (*record, error) {
	auth, err := p.oauth(p.loginURLOf(rec))
	if err != nil {
		return nil, err
	}
	var tok salesforce.Token
	switch {
	case rec.JWT && !p.jwt.Enabled():
		return nil, errJWTNotConfigured
	case rec.JWT:
		tok, err = p.jwtGrant(ctx, auth)
	case rec.RefreshToken == "":
		return nil, errNoRefreshToken
	default:
		tok, err = auth.Refresh(ctx, rec.RefreshToken)
	}
	if err != nil {
		return nil, err
	}
	next := *rec
	next.setToken(tok, p.now())
	return &next, nil
}
