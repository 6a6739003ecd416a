package salesforce

// Test doubles of Session, for this package's tests and the external ones
// beside them (sim_test.go). The daemon's sessions are connector/tokens'.

import (
	"context"
	"fmt"
)

// ErrNoRefresh is returned by StaticSession.Refresh. Like every "no usable
// token" error of a Session it wraps ErrNoToken, so Classify sorts it Auth.
var ErrNoRefresh = fmt.Errorf("salesforce: session cannot be refreshed (%w)", ErrNoToken)

// StaticSession is a Session with one fixed token that cannot be refreshed.
type StaticSession struct{ T Token }

// Token returns the fixed token.
func (s StaticSession) Token(context.Context) (Token, error) { return s.T, nil }

// Refresh always fails with ErrNoRefresh.
func (s StaticSession) Refresh(context.Context, Token) (Token, error) {
	return Token{}, ErrNoRefresh
}

// RenewFunc obtains a new token to replace stale, e.g. by calling
// OAuth.Refresh with stale.RefreshToken or OAuth.JWTBearer.
type RenewFunc func(ctx context.Context, stale Token) (Token, error)

// RefreshingSession holds one token and renews it with a RenewFunc when the
// client reports it stale. One renewal runs at a time; a caller reporting a
// token that was already replaced gets the newer token without another
// renewal. Waiting for a renewal honours ctx.
type RefreshingSession struct {
	lock  chan struct{} // one-slot semaphore guarding tok
	tok   Token
	renew RenewFunc
}

// NewRefreshingSession returns a session starting with tok.
func NewRefreshingSession(tok Token, renew RenewFunc) *RefreshingSession {
	return &RefreshingSession{lock: make(chan struct{}, 1), tok: tok, renew: renew}
}

func (s *RefreshingSession) acquire(ctx context.Context) error {
	select {
	case s.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *RefreshingSession) release() { <-s.lock }

// Token returns the current token.
func (s *RefreshingSession) Token(ctx context.Context) (Token, error) {
	if err := s.acquire(ctx); err != nil {
		return Token{}, err
	}
	defer s.release()
	return s.tok, nil
}

// Refresh renews the token unless stale was already replaced.
func (s *RefreshingSession) Refresh(ctx context.Context, stale Token) (Token, error) {
	if err := s.acquire(ctx); err != nil {
		return Token{}, err
	}
	defer s.release()
	if s.tok.AccessToken != stale.AccessToken {
		return s.tok, nil
	}
	if s.renew == nil {
		return Token{}, ErrNoRefresh
	}
	tok, err := s.renew(ctx, stale)
	if err != nil {
		return Token{}, fmt.Errorf("refresh token: %w", err)
	}
	s.tok = tok
	return tok, nil
}
