package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/expect"
)

func sampleToken() Token {
	return Token{
		AccessToken:  testAccess,
		RefreshToken: testRefresh,
		InstanceURL:  "https://acme.my.salesforce.com",
		ID:           "https://login.salesforce.com/id/00D5e000000XXXXEAA/0055e000001YYYYAAA",
		IssuedAt:     time.UnixMilli(1676372418560),
		Scope:        "refresh_token api openid",
		TokenType:    "Bearer",
	}
}

func TestTokenRedaction(t *testing.T) {
	tok := sampleToken()
	var logs logBuffer
	logs.Logger().Info("token", "tok", tok)
	js, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := fmt.Errorf("connect: %v", tok)
	outputs := map[string]string{
		"String": tok.String(),
		"%v":     fmt.Sprintf("%v", tok),
		"%+v":    fmt.Sprintf("%+v", tok),
		"%#v":    fmt.Sprintf("%#v", tok),
		"%s ptr": fmt.Sprintf("%s", &tok),
		"slog":   logs.String(),
		"json":   string(js),
		"error":  wrapped.Error(),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			expect.NoSecret(t, name, out, testAccess, testRefresh, "SECRET")
			if !strings.Contains(out, "acme.my.salesforce.com") {
				t.Errorf("non-secret instance URL missing: %s", out)
			}
			if !strings.Contains(out, redacted) {
				t.Errorf("no redaction marker: %s", out)
			}
		})
	}
}

func TestTokenIdentityIDs(t *testing.T) {
	tests := []struct{ id, org, user string }{
		{"https://login.salesforce.com/id/00D5e000000XXXXEAA/0055e000001YYYYAAA", "00D5e000000XXXXEAA", "0055e000001YYYYAAA"},
		{"http://127.0.0.1:4000/id/00Dx/005x", "00Dx", "005x"},
		{"https://login.salesforce.com/services/oauth2/userinfo", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			tok := Token{ID: tt.id}
			if tok.OrgID() != tt.org || tok.UserID() != tt.user {
				t.Errorf("got %q %q", tok.OrgID(), tok.UserID())
			}
		})
	}
}

func TestRefreshingSessionSingleRenewal(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	s := NewRefreshingSession(Token{AccessToken: "old"}, func(ctx context.Context, stale Token) (Token, error) {
		calls.Add(1)
		<-release
		return Token{AccessToken: "new-" + stale.AccessToken}, nil
	})
	ctx := context.Background()
	stale, _ := s.Token(ctx)
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := s.Refresh(ctx, stale)
			if err != nil {
				t.Error(err)
			}
			results[i] = tok.AccessToken
		}()
	}
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("renewed %d times, want 1", calls.Load())
	}
	for _, r := range results {
		if r != "new-old" {
			t.Errorf("got %q", r)
		}
	}
	cur, _ := s.Token(ctx)
	if cur.AccessToken != "new-old" {
		t.Errorf("current %q", cur.AccessToken)
	}
}

func TestRefreshingSessionErrorsAndCancel(t *testing.T) {
	s := NewRefreshingSession(Token{AccessToken: "a"}, func(ctx context.Context, stale Token) (Token, error) {
		return Token{}, &OAuthError{Status: 400, Code: "invalid_grant"}
	})
	_, err := s.Refresh(context.Background(), Token{AccessToken: "a"})
	if !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("err %v", err)
	}
	// A token that failed keeps being the current one.
	if tok, _ := s.Token(context.Background()); tok.AccessToken != "a" {
		t.Errorf("token replaced after failed refresh: %q", tok.AccessToken)
	}

	// Waiting for a renewal in flight honours ctx.
	block := make(chan struct{})
	started := make(chan struct{})
	s2 := NewRefreshingSession(Token{AccessToken: "a"}, func(ctx context.Context, stale Token) (Token, error) {
		close(started)
		<-block
		return Token{AccessToken: "b"}, nil
	})
	go func() { _, _ = s2.Refresh(context.Background(), Token{AccessToken: "a"}) }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s2.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Token while blocked: %v", err)
	}
	close(block)

	if _, err := (StaticSession{}).Refresh(context.Background(), Token{}); !errors.Is(err, ErrNoRefresh) {
		t.Errorf("static refresh: %v", err)
	}
}
