package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

const redacted = "REDACTED"

// Token is a Salesforce OAuth token as the token endpoint answers it.
// Salesforce sends no expiry: a token is good until a call answers 401.
//
// String, GoString, LogValue and MarshalJSON redact AccessToken and
// RefreshToken, so a Token can be logged or printed safely. Code that must
// persist the secrets copies the fields into its own (encrypted) record.
type Token struct {
	AccessToken  string
	RefreshToken string
	InstanceURL  string    // base URL of every data call
	ID           string    // identity URL: https://login.salesforce.com/id/<org id>/<user id>
	IssuedAt     time.Time // from issued_at (milliseconds since the epoch)
	Scope        string
	TokenType    string
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String describes the token with its secrets redacted.
func (t Token) String() string {
	return fmt.Sprintf("salesforce.Token{AccessToken:%s RefreshToken:%s InstanceURL:%s ID:%s IssuedAt:%s Scope:%q TokenType:%s}",
		redact(t.AccessToken), redact(t.RefreshToken), t.InstanceURL, t.ID,
		t.IssuedAt.UTC().Format(time.RFC3339), t.Scope, t.TokenType)
}

// GoString is String, so %#v redacts too.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer with the secrets redacted.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", redact(t.AccessToken)),
		slog.String("refresh_token", redact(t.RefreshToken)),
		slog.String("instance_url", t.InstanceURL),
		slog.String("id", t.ID),
		slog.Time("issued_at", t.IssuedAt),
		slog.String("scope", t.Scope),
	)
}

// MarshalJSON writes the token with its secrets redacted. It is meant for
// API answers and debug dumps, never for storage.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessToken  string    `json:"access_token,omitempty"`
		RefreshToken string    `json:"refresh_token,omitempty"`
		InstanceURL  string    `json:"instance_url"`
		ID           string    `json:"id"`
		IssuedAt     time.Time `json:"issued_at"`
		Scope        string    `json:"scope,omitempty"`
		TokenType    string    `json:"token_type,omitempty"`
	}{redact(t.AccessToken), redact(t.RefreshToken), t.InstanceURL, t.ID, t.IssuedAt, t.Scope, t.TokenType})
}

// OrgID returns the organization id from the identity URL, or "".
func (t Token) OrgID() string {
	org, _ := identityIDs(t.ID)
	return org
}

// UserID returns the user id from the identity URL, or "".
func (t Token) UserID() string {
	_, user := identityIDs(t.ID)
	return user
}

func identityIDs(id string) (org, user string) {
	u, err := url.Parse(id)
	if err != nil {
		return "", ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "id" {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// Session hands the client its current token and renews it on demand.
//
// Token returns the token to use now. Refresh is called when a call with
// stale answered 401; it returns a working token (a fresh one, or one another
// caller already obtained) or an error, typically wrapping ErrInvalidGrant
// when the user must reconnect. Implementations must be safe for concurrent
// use; the token pool (connector/tokens) implements single-flight refresh
// behind this.
type Session interface {
	Token(ctx context.Context) (Token, error)
	Refresh(ctx context.Context, stale Token) (Token, error)
}
