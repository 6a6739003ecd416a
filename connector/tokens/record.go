package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
)

// Kind tells the default token from a personal one.
type Kind string

// Token kinds; also the values of the kind metric label.
const (
	KindDefault Kind = "default"
	KindUser    Kind = "user"
)

// State is the connection state of SPEC §4.
type State string

// Connection states.
const (
	// Connected: at least one token is healthy.
	Connected State = "connected"
	// Expired: tokens exist but none is healthy.
	Expired State = "expired"
	// NotConnected: no token at all.
	NotConnected State = "not_connected"
	// Misconfigured: Salesforce refuses the connected app's credentials
	// (invalid_client): fix salesforce.client_id or the client secret.
	Misconfigured State = "misconfigured"
)

// Store keys of the entries.
const (
	defaultStoreKey = "default"
	userKeyPrefix   = "user/"
)

func storeKey(kind Kind, userID string) string {
	if kind == KindDefault {
		return defaultStoreKey
	}
	return userKeyPrefix + userID
}

// Info describes one token without its secrets: who it belongs to, whom
// it acts as in Salesforce, and its health. It is safe to log and to
// serve.
type Info struct {
	Kind Kind
	// UserID is the Care user id: the owner of a personal token, or the
	// supervisor who connected the default token. Empty for a default
	// token obtained through the JWT bearer flow.
	UserID string
	// Holder is UserID, or the Salesforce username of a JWT default token.
	Holder string
	// JWT is true for a default token from the JWT bearer flow.
	JWT bool

	SFUserID    string // Salesforce user id (005...)
	SFUsername  string // Salesforce username
	OrgID       string // Salesforce org id (00D...)
	InstanceURL string
	// Environment is production or sandbox (what the token was connected
	// for); LoginURL the authorization server that issued it.
	Environment string
	LoginURL    string

	Healthy         bool
	ConnectedAt     time.Time
	LastRefreshedAt time.Time // when the token was last obtained or refreshed
	// Error is the last refresh error, safe to show: Salesforce's error
	// code and description, never a token or a raw body. Empty when the
	// last refresh succeeded.
	Error string
}

// record is what is stored (encrypted) per entry.
type record struct {
	Kind   Kind   `json:"kind"`
	UserID string `json:"user_id,omitempty"`
	Holder string `json:"holder"`
	JWT    bool   `json:"jwt,omitempty"`

	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	InstanceURL  string    `json:"instance_url"`
	IdentityURL  string    `json:"id,omitempty"`
	IssuedAt     time.Time `json:"issued_at"`
	Scope        string    `json:"scope,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`

	SFUserID    string `json:"sf_user_id,omitempty"`
	SFUsername  string `json:"sf_username,omitempty"`
	OrgID       string `json:"org_id,omitempty"`
	Environment string `json:"environment,omitempty"`
	LoginURL    string `json:"login_url,omitempty"`

	Healthy         bool      `json:"healthy"`
	ConnectedAt     time.Time `json:"connected_at"`
	LastRefreshedAt time.Time `json:"last_refreshed_at"`
	Error           string    `json:"error,omitempty"`
}

func (r *record) token() salesforce.Token {
	return salesforce.Token{
		AccessToken:  r.AccessToken,
		RefreshToken: r.RefreshToken,
		InstanceURL:  r.InstanceURL,
		ID:           r.IdentityURL,
		IssuedAt:     r.IssuedAt,
		Scope:        r.Scope,
		TokenType:    r.TokenType,
	}
}

// setToken takes a freshly obtained token. A token without a refresh token
// (a refresh answer without rotation, a JWT grant) keeps the one held.
func (r *record) setToken(t salesforce.Token, now time.Time) {
	r.AccessToken = t.AccessToken
	if t.RefreshToken != "" {
		r.RefreshToken = t.RefreshToken
	}
	if t.InstanceURL != "" {
		r.InstanceURL = t.InstanceURL
	}
	if t.ID != "" {
		r.IdentityURL = t.ID
	}
	r.IssuedAt = t.IssuedAt
	if t.Scope != "" {
		r.Scope = t.Scope
	}
	if t.TokenType != "" {
		r.TokenType = t.TokenType
	}
	if r.OrgID == "" {
		r.OrgID = t.OrgID()
	}
	if r.SFUserID == "" {
		r.SFUserID = t.UserID()
	}
	r.Healthy = true
	r.Error = ""
	r.LastRefreshedAt = now
}

func (r *record) info() Info {
	return Info{
		Kind: r.Kind, UserID: r.UserID, Holder: r.Holder, JWT: r.JWT,
		SFUserID: r.SFUserID, SFUsername: r.SFUsername, OrgID: r.OrgID,
		InstanceURL: r.InstanceURL, Environment: r.Environment, LoginURL: r.LoginURL,
		Healthy: r.Healthy, ConnectedAt: r.ConnectedAt, LastRefreshedAt: r.LastRefreshedAt,
		Error: r.Error,
	}
}

// metricUser is the user label of the entry's health series: the Care user
// id (empty for a JWT default token, which has no Care user).
func (r *record) metricUser() string { return r.UserID }

func (s *sealer) sealRecord(key string, r *record) ([]byte, error) {
	pt, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("tokens: encode %s: %w", key, err)
	}
	return s.seal(key, pt)
}

func (s *sealer) openRecord(key string, sealed []byte) (*record, error) {
	pt, err := s.open(key, sealed)
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(pt, &r); err != nil {
		return nil, fmt.Errorf("tokens: decode %s: %w", key, err)
	}
	if want := kindOfKey(key); r.Kind != want {
		return nil, fmt.Errorf("%w: record %q holds a %s token", ErrUndecryptable, key, r.Kind)
	}
	return &r, nil
}

func kindOfKey(key string) Kind {
	if strings.HasPrefix(key, userKeyPrefix) {
		return KindUser
	}
	return KindDefault
}

// maxErrorText caps the error string kept per entry.
const maxErrorText = 200

// safeError turns a refresh or grant failure into text fit for the
// connection API and the logs: Salesforce's error code and description, or
// the kind of failure. It never holds a token, a URL or a raw body.
func safeError(err error) string {
	var oe *salesforce.OAuthError
	var ae *salesforce.APIError
	var ne *salesforce.NetworkError
	var s string
	switch {
	case errors.As(err, &oe):
		s = oe.Code
		if oe.Description != "" {
			if s != "" {
				s += ": "
			}
			s += oe.Description
		}
		if s == "" {
			s = fmt.Sprintf("token endpoint answered %d", oe.Status)
		}
	case errors.As(err, &ae):
		s = ae.Code
		if s == "" {
			s = fmt.Sprintf("Salesforce answered %d", ae.Status)
		}
	case errors.As(err, &ne):
		s = "network error: Salesforce did not answer"
	case errors.Is(err, salesforce.ErrBadPrivateKey):
		s = "JWT private key is not a PEM RSA private key"
	case errors.Is(err, errJWTKeyFile):
		s = "JWT private key file cannot be read"
	case errors.Is(err, errNoRefreshToken):
		s = "no refresh token (was the refresh_token scope granted?)"
	case errors.Is(err, ErrOrgMismatch):
		s = "org_mismatch: the token belongs to another Salesforce org"
	case errors.Is(err, errJWTNotConfigured):
		s = "the JWT bearer flow is no longer configured"
	default:
		s = "token renewal failed"
	}
	if len(s) > maxErrorText {
		s = s[:maxErrorText] + "…"
	}
	return s
}
