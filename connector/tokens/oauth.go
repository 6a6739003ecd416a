package tokens

import (
	"context"
	"fmt"
	"sync"

	"github.com/carebridge/carebridge/connector/salesforce"
)

// Authorizer is the part of *salesforce.OAuth the pool and the connect
// handlers use, for one login URL. *salesforce.OAuth implements it.
type Authorizer interface {
	AuthCodeURL(state, verifier, loginHint string) string
	Exchange(ctx context.Context, code, verifier string) (salesforce.Token, error)
	Refresh(ctx context.Context, refreshToken string) (salesforce.Token, error)
	JWTBearer(ctx context.Context, username string, privateKeyPEM []byte) (salesforce.Token, error)
	Revoke(ctx context.Context, token string) error
	Identity(ctx context.Context, tok salesforce.Token) (salesforce.UserInfo, error)
}

var _ Authorizer = (*salesforce.OAuth)(nil)

// OAuthFunc returns the Authorizer of a login URL. A token is refreshed
// and revoked at the login URL that issued it (production, sandbox or the
// configured one).
type OAuthFunc func(loginURL string) (Authorizer, error)

// NewOAuthSet returns an OAuthFunc that builds one *salesforce.OAuth per
// login URL from base (its LoginURL replaced by the one asked for) and
// reuses it.
func NewOAuthSet(base salesforce.OAuthConfig) OAuthFunc {
	var mu sync.Mutex
	byURL := map[string]*salesforce.OAuth{}
	return func(loginURL string) (Authorizer, error) {
		mu.Lock()
		defer mu.Unlock()
		if o, ok := byURL[loginURL]; ok {
			return o, nil
		}
		cfg := base
		cfg.LoginURL = loginURL
		o, err := salesforce.NewOAuth(cfg)
		if err != nil {
			return nil, fmt.Errorf("tokens: oauth for %s: %w", loginURL, err)
		}
		byURL[loginURL] = o
		return o, nil
	}
}
