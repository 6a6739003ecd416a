package tokens

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/carebridge/carebridge/connector/salesforce"
)

func (p *Pool) readJWTKey() ([]byte, error) {
	f, err := os.Open(p.jwt.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJWTKeyFile, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errJWTKeyFile, err)
	}
	return b, nil
}

// ensureJWT obtains the default token through the JWT bearer flow when
// it is configured and the default token is missing or expired. counted
// says whether the attempt counts as a refresh in the metrics. A token
// granted is the bound org's default token arriving, as a console connect
// is (arrived): the entries set aside as of another org go.
func (p *Pool) ensureJWT(ctx context.Context, counted bool) error {
	if !p.jwt.Enabled() {
		return nil
	}
	granted, err := p.grantJWT(ctx, counted)
	if granted {
		p.arrived(ctx, "jwt-bearer")
	}
	return err
}

// grantJWT is ensureJWT under the default entry's writer lock; granted
// says a new default token was stored.
func (p *Pool) grantJWT(ctx context.Context, counted bool) (granted bool, err error) {
	release, err := p.acquire(ctx, defaultStoreKey)
	if err != nil {
		return false, err
	}
	defer release()
	old, dirty := p.current(defaultStoreKey)
	if old != nil && old.Healthy {
		if dirty {
			return false, p.flush(ctx, defaultStoreKey)
		}
		return false, nil
	}
	auth, err := p.oauth(p.loginURL)
	var tok salesforce.Token
	if err == nil {
		tok, err = retryTransient(ctx, p, defaultStoreKey, func(ctx context.Context) (salesforce.Token, error) {
			return p.jwtGrant(ctx, auth)
		})
	}
	var ui salesforce.UserInfo
	if err == nil {
		ui, err = auth.Identity(ctx, tok)
	}
	if err == nil {
		if err = p.bindOrg(ctx, KindDefault, orgOf(ui, tok)); err != nil {
			p.revokeSecret(ctx, p.loginURL, defaultStoreKey, "refused", tok)
		}
	}
	if counted {
		p.m.refreshed(err)
	}
	if err != nil {
		rec := old // a copy: mark it, keep what it knows
		if rec == nil {
			rec = &record{Kind: KindDefault, Holder: p.jwt.Username, JWT: true,
				SFUsername: p.jwt.Username, Environment: p.environment, LoginURL: p.loginURL}
		}
		rec.Healthy = false
		rec.Error = safeError(err)
		p.setMemory(defaultStoreKey, rec)
		if clientRefused(err) {
			p.setMisconfigured("Salesforce refused the connected app's credentials (" + rec.Error +
				"): check salesforce.client_id")
		}
		return false, fmt.Errorf("tokens: JWT bearer grant: %w", err)
	}
	now := p.now()
	rec := &record{Kind: KindDefault, Holder: p.jwt.Username, JWT: true,
		SFUserID: ui.UserID, SFUsername: ui.PreferredUsername, OrgID: orgOf(ui, tok),
		Environment: p.environment, LoginURL: p.loginURL, ConnectedAt: now}
	if rec.SFUsername == "" {
		rec.SFUsername = p.jwt.Username
	}
	rec.setToken(tok, now)
	if err := p.commit(ctx, defaultStoreKey, rec); err != nil {
		return false, err
	}
	p.log.Info("salesforce default token obtained", "flow", "jwt-bearer", "sf_user_id", rec.SFUserID, "org_id", rec.OrgID)
	return true, nil
}

func (p *Pool) jwtGrant(ctx context.Context, auth Authorizer) (salesforce.Token, error) {
	pem, err := p.readJWTKey()
	if err != nil {
		return salesforce.Token{}, err
	}
	return auth.JWTBearer(ctx, p.jwt.Username, pem)
}
