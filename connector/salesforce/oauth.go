package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Login URLs of the two Salesforce environments.
const (
	ProductionLoginURL = "https://login.salesforce.com"
	SandboxLoginURL    = "https://test.salesforce.com"
)

const maxTokenBody = 1 << 20

// LoginURL picks the OAuth login URL: override when set (a My Domain host or
// the simulator), else production (login.salesforce.com, also for an empty
// environment) or sandbox (test.salesforce.com).
func LoginURL(environment, override string) (string, error) {
	if override != "" {
		u, err := url.Parse(override)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return "", fmt.Errorf("%w: login URL %q is not an http(s) base URL", ErrInvalidArgument, override)
		}
		return strings.TrimRight(override, "/"), nil
	}
	switch environment {
	case "", "production":
		return ProductionLoginURL, nil
	case "sandbox":
		return SandboxLoginURL, nil
	}
	return "", fmt.Errorf("%w: environment %q is not production or sandbox", ErrInvalidArgument, environment)
}

// OAuthConfig configures an OAuth.
type OAuthConfig struct {
	ClientID     string // the connected app's consumer key (required)
	ClientSecret string
	RedirectURL  string // the callback of the web-server flow
	// LoginURL is the authorization server, from LoginURL (required).
	LoginURL string
	// Scopes requested by the web-server flow; default api refresh_token openid.
	Scopes []string
	// JWTAudience is the aud claim of JWT bearer assertions; default
	// JWTAudience("", "", LoginURL). Set it from JWTAudience with the
	// configured audience and environment.
	JWTAudience string
	// HTTPClient carries the timeouts of every OAuth call; nil gets a client
	// with a 60 s timeout (never http.DefaultClient).
	HTTPClient *http.Client
	Metrics    Observer     // may be nil
	Logger     *slog.Logger // nil discards
	// Now is the clock for JWT expiry and missing issued_at; default time.Now.
	Now func() time.Time
}

// OAuth runs Salesforce's OAuth 2.0 flows against one login URL.
type OAuth struct {
	cfg      oauth2.Config
	loginURL string
	audience string
	http     *http.Client
	obs      Observer
	log      *slog.Logger
	now      func() time.Time
}

// NewOAuth checks cfg and returns an OAuth.
func NewOAuth(cfg OAuthConfig) (*OAuth, error) {
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("salesforce oauth: %w: no client id", ErrInvalidArgument)
	}
	login, err := LoginURL("", cfg.LoginURL)
	if err != nil || cfg.LoginURL == "" {
		return nil, fmt.Errorf("salesforce oauth: %w: login URL missing or invalid", ErrInvalidArgument)
	}
	scopes := cfg.Scopes
	if scopes == nil {
		scopes = []string{"api", "refresh_token", "openid"}
	}
	o := &OAuth{
		cfg: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
			Endpoint: oauth2.Endpoint{
				AuthURL:   login + "/services/oauth2/authorize",
				TokenURL:  login + "/services/oauth2/token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		loginURL: login,
		audience: cfg.JWTAudience,
		http:     cfg.HTTPClient,
		obs:      cfg.Metrics,
		log:      cfg.Logger,
		now:      cfg.Now,
	}
	if o.audience == "" {
		o.audience = JWTAudience("", "", login)
	}
	if o.http == nil {
		o.http = &http.Client{Timeout: defaultTimeout}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

// LoginURL returns the authorization server's base URL.
func (o *OAuth) LoginURL() string { return o.loginURL }

// NewVerifier returns a fresh PKCE code verifier (32 random bytes,
// base64url): keep it with the state until the callback.
func NewVerifier() string { return oauth2.GenerateVerifier() }

// AuthCodeURL returns the authorize URL of the web-server flow with a PKCE
// S256 challenge derived from verifier. loginHint, when set, pre-fills the
// username.
func (o *OAuth) AuthCodeURL(state, verifier, loginHint string) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return o.cfg.AuthCodeURL(state, opts...)
}

// Exchange trades an authorization code and its PKCE verifier for a token.
func (o *OAuth) Exchange(ctx context.Context, code, verifier string) (Token, error) {
	start := time.Now()
	t, err := o.cfg.Exchange(o.clientCtx(ctx), code, oauth2.VerifierOption(verifier))
	return o.finish("authorization_code", start, t, err)
}

// Refresh runs the refresh-token grant. Salesforce usually sends no new
// refresh token and the old one stays valid: the result then carries the
// old one. With refresh-token rotation on, the result carries the new one
// and the old one is dead; store it before using it.
func (o *OAuth) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, fmt.Errorf("salesforce oauth token: %w: no refresh token", ErrInvalidArgument)
	}
	start := time.Now()
	src := o.cfg.TokenSource(o.clientCtx(ctx), &oauth2.Token{RefreshToken: refreshToken})
	t, err := src.Token()
	return o.finish("refresh_token", start, t, err)
}

// JWTBearer obtains a token for username with the JWT bearer flow: an
// RS256 assertion (iss client id, sub username, aud the configured
// audience, exp three minutes ahead) signed with privateKeyPEM. The answer has no refresh
// token; minting a new assertion is the refresh.
func (o *OAuth) JWTBearer(ctx context.Context, username string, privateKeyPEM []byte) (Token, error) {
	if username == "" {
		return Token{}, fmt.Errorf("salesforce oauth token: %w: no username", ErrInvalidArgument)
	}
	key, err := ParseRSAPrivateKey(privateKeyPEM)
	if err != nil {
		return Token{}, fmt.Errorf("salesforce oauth token: %w", err)
	}
	assertion, err := signJWT(key, o.cfg.ClientID, username, o.audience, o.now())
	if err != nil {
		return Token{}, fmt.Errorf("salesforce oauth token: %w", err)
	}
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}
	status, body, err := o.post(ctx, OpToken, o.cfg.Endpoint.TokenURL, form)
	if err != nil {
		return Token{}, err
	}
	if status != http.StatusOK {
		return Token{}, newOAuthError(string(OpToken), status, body)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return Token{}, fmt.Errorf("salesforce oauth token: decode answer: %w", err)
	}
	if code, _ := raw["error"].(string); code != "" {
		return Token{}, newOAuthError(string(OpToken), status, body)
	}
	tok, err := o.tokenFrom(func(k string) any { return raw[k] })
	if err != nil {
		return Token{}, err
	}
	o.log.Info("salesforce token obtained", "grant", "jwt-bearer", "instance_url", tok.InstanceURL, "user_id", tok.UserID())
	return tok, nil
}

// Revoke revokes an access or refresh token at Salesforce (revoking a
// refresh token also kills its access tokens).
func (o *OAuth) Revoke(ctx context.Context, token string) error {
	if token == "" {
		return fmt.Errorf("salesforce oauth revoke: %w: no token", ErrInvalidArgument)
	}
	status, body, err := o.post(ctx, OpRevoke, o.loginURL+"/services/oauth2/revoke", url.Values{"token": {token}})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return newOAuthError(string(OpRevoke), status, body)
	}
	return nil
}

// Identity reads who tok acts as from the login URL's userinfo endpoint.
// The callback calls it right after Exchange.
func (o *OAuth) Identity(ctx context.Context, tok Token) (UserInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.loginURL+"/services/oauth2/userinfo", nil)
	if err != nil {
		return UserInfo{}, fmt.Errorf("salesforce oauth userinfo: %w", ErrInvalidArgument)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	status, body, err := o.roundTrip(OpUserInfo, req)
	if err != nil {
		return UserInfo{}, err
	}
	if status != http.StatusOK {
		return UserInfo{}, newOAuthError(string(OpUserInfo), status, body)
	}
	var ui UserInfo
	if err := json.Unmarshal(body, &ui); err != nil {
		return UserInfo{}, fmt.Errorf("salesforce oauth userinfo: decode answer: %w", err)
	}
	return ui, nil
}

// clientCtx hands the injected http.Client to x/oauth2, which otherwise
// falls back to http.DefaultClient.
func (o *OAuth) clientCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, o.http)
}

// finish converts the result of an x/oauth2 token call.
func (o *OAuth) finish(grant string, start time.Time, t *oauth2.Token, err error) (Token, error) {
	d := time.Since(start)
	if err != nil {
		var re *oauth2.RetrieveError
		var ue *url.Error
		switch {
		case errors.As(err, &re):
			status := 0
			if re.Response != nil {
				status = re.Response.StatusCode
			}
			o.observe(OpToken, status, d)
			if re.ErrorCode != "" {
				return Token{}, &OAuthError{Status: status, Code: re.ErrorCode, Description: re.ErrorDescription, Operation: string(OpToken)}
			}
			return Token{}, newOAuthError(string(OpToken), status, re.Body)
		case errors.As(err, &ue):
			o.observe(OpToken, 0, d)
			return Token{}, newNetworkError(string(OpToken), ue)
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			o.observe(OpToken, 0, d)
			return Token{}, &NetworkError{Operation: string(OpToken), Err: err}
		}
		// An answer x/oauth2 could not use (no access_token, bad JSON).
		o.observe(OpToken, http.StatusOK, d)
		return Token{}, fmt.Errorf("salesforce oauth token: %w", err)
	}
	o.observe(OpToken, http.StatusOK, d)
	tok, err := o.tokenFrom(t.Extra)
	if err != nil {
		return Token{}, err
	}
	tok.AccessToken, tok.RefreshToken = t.AccessToken, t.RefreshToken
	if tok.TokenType == "" {
		tok.TokenType = t.TokenType
	}
	o.log.Info("salesforce token obtained", "grant", grant, "instance_url", tok.InstanceURL, "user_id", tok.UserID())
	return tok, nil
}

// tokenFrom reads a token answer's fields: access_token, refresh_token,
// instance_url, id, issued_at (a string of milliseconds), scope,
// token_type. A missing issued_at becomes now.
func (o *OAuth) tokenFrom(get func(string) any) (Token, error) {
	str := func(k string) string { s, _ := get(k).(string); return s }
	tok := Token{
		AccessToken:  str("access_token"),
		RefreshToken: str("refresh_token"),
		InstanceURL:  strings.TrimRight(str("instance_url"), "/"),
		ID:           str("id"),
		Scope:        str("scope"),
		TokenType:    str("token_type"),
	}
	if _, err := instanceBase(tok.InstanceURL); err != nil {
		return Token{}, fmt.Errorf("salesforce oauth token: answer's instance_url: %w", err)
	}
	tok.IssuedAt = o.now()
	switch v := get("issued_at").(type) {
	case string:
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			tok.IssuedAt = time.UnixMilli(ms)
		}
	case float64:
		tok.IssuedAt = time.UnixMilli(int64(v))
	case json.Number:
		if ms, err := v.Int64(); err == nil {
			tok.IssuedAt = time.UnixMilli(ms)
		}
	}
	return tok, nil
}

// post sends a form to an OAuth endpoint and reads the answer.
func (o *OAuth) post(ctx context.Context, op Operation, endpoint string, form url.Values) (int, []byte, error) {
	if op == OpToken {
		form.Set("client_id", o.cfg.ClientID)
		if o.cfg.ClientSecret != "" {
			form.Set("client_secret", o.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, fmt.Errorf("salesforce oauth %s: %w", op, ErrInvalidArgument)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return o.roundTrip(op, req)
}

func (o *OAuth) roundTrip(op Operation, req *http.Request) (int, []byte, error) {
	start := time.Now()
	resp, err := o.http.Do(req)
	if err != nil {
		o.observe(op, 0, time.Since(start))
		return 0, nil, newNetworkError(string(op), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	o.observe(op, resp.StatusCode, time.Since(start))
	if err != nil {
		return 0, nil, newNetworkError(string(op), err)
	}
	return resp.StatusCode, bytes.TrimSpace(body), nil
}

func (o *OAuth) observe(op Operation, code int, d time.Duration) {
	if o.obs != nil {
		o.obs.ObserveRequest(op, code, d)
	}
}
