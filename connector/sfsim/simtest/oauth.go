package simtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
)

// NewServer starts a simulated org with o (strict when the run asks for a
// production org, see Options) and closes it when tb ends.
func NewServer(tb testing.TB, o sfsim.Options) *sfsim.Server {
	tb.Helper()
	sim, err := sfsim.NewServer(Options(o))
	if err != nil {
		tb.Fatalf("sfsim: %v", err)
	}
	tb.Cleanup(func() {
		sim.Close()
		logStrict(tb, sim.StrictDifferences())
	})
	return sim
}

// Authorizer is the part of an OAuth web-server flow Authorize drives
// (tokens.Authorizer, *salesforce.OAuth).
type Authorizer interface {
	AuthCodeURL(state, verifier, loginHint string) string
	Exchange(ctx context.Context, code, verifier string) (salesforce.Token, error)
}

// Callback runs the browser leg of the web-server flow at a simulated org
// as loginHint (the org approves at once): it follows the authorize URL to
// the redirect and returns the callback URL the org sent the browser to,
// whose query holds the code. The org must redirect (302) with a code and
// echo state.
func Callback(ctx context.Context, auth Authorizer, state, verifier, loginHint string) (*url.URL, error) {
	c := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, auth.AuthCodeURL(state, verifier, loginHint), nil)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return nil, fmt.Errorf("authorize: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc, nil
}

// AuthorizeErr runs the web-server flow with PKCE at a simulated org as
// loginHint (the org approves at once) and returns the token, not stored.
func AuthorizeErr(ctx context.Context, auth Authorizer, loginHint string) (salesforce.Token, error) {
	verifier := salesforce.NewVerifier()
	loc, err := Callback(ctx, auth, "st", verifier, loginHint)
	if err != nil {
		return salesforce.Token{}, err
	}
	tok, err := auth.Exchange(ctx, loc.Query().Get("code"), verifier)
	if err != nil {
		return salesforce.Token{}, fmt.Errorf("exchange: %w", err)
	}
	return tok, nil
}

// Authorize is AuthorizeErr failing tb on an error.
func Authorize(tb testing.TB, auth Authorizer, loginHint string) salesforce.Token {
	tb.Helper()
	tok, err := AuthorizeErr(context.Background(), auth, loginHint)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// OAuthConfig is the OAuth configuration of the simulated org's connected
// app, redirecting to redirect, calling through hc.
func OAuthConfig(redirect string, hc *http.Client) salesforce.OAuthConfig {
	return salesforce.OAuthConfig{ClientID: sfsim.DefaultClientID, ClientSecret: sfsim.DefaultClientSecret,
		RedirectURL: redirect, HTTPClient: hc}
}
