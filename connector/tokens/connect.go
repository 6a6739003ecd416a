package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carebridge/carebridge/config/sfid"
	"github.com/carebridge/carebridge/connector/salesforce"
)

// Grant is a token obtained through the OAuth web-server flow, to be
// stored as the default token or a personal one.
type Grant struct {
	Kind Kind
	// UserID is the Care user: the owner of a personal token, the holder
	// of the default token (required).
	UserID string
	Token  salesforce.Token
	// LoginURL is the authorization server that issued the token (""
	// means Options.LoginURL); Environment is what the user connected
	// for ("" means Options.Environment).
	LoginURL    string
	Environment string
}

// Connect reads the identity of g.Token from Salesforce (userinfo), stores
// the token encrypted and makes it healthy. It replaces the entry it
// stands for (a supervisor connecting the default token becomes its
// holder); the refresh token of the replaced entry is revoked, best effort.
//
// The first default token binds the pool to its org, unless
// Options.OrgID bound it from the start. A token of another org, default
// or personal, is refused with ErrOrgMismatch. A token
// Connect does not keep (another org, an unreadable identity, a refused
// grant) is revoked at Salesforce at once: an org keeps only 5 approvals
// per user and connected app and silently drops the oldest.
//
// A successful connect also drops the entries the secret key no longer
// opens (SPEC §12 "Lost key") and those of another org than Options.OrgID
// (revoked), and clears a misconfigured state.
func (p *Pool) Connect(ctx context.Context, g Grant) (info Info, err error) {
	loginURL := strings.TrimRight(g.LoginURL, "/")
	if loginURL == "" {
		loginURL = p.loginURL
	}
	kept := false
	defer func() {
		if !kept {
			p.revokeSecret(ctx, loginURL, storeKey(g.Kind, g.UserID), "refused", g.Token)
		}
	}()
	if g.Kind != KindDefault && g.Kind != KindUser {
		return Info{}, fmt.Errorf("%w: kind %q", ErrInvalidArgument, g.Kind)
	}
	if g.UserID == "" || strings.ContainsAny(g.UserID, "\x00") {
		return Info{}, fmt.Errorf("%w: no Care user id", ErrInvalidArgument)
	}
	if g.Token.AccessToken == "" {
		return Info{}, fmt.Errorf("%w: no access token", ErrInvalidArgument)
	}
	env := g.Environment
	if env == "" {
		env = p.environment
	}
	auth, err := p.oauth(loginURL)
	if err != nil {
		return Info{}, err
	}
	ui, err := auth.Identity(ctx, g.Token)
	if err != nil {
		return Info{}, fmt.Errorf("tokens: read Salesforce identity: %w", err)
	}
	org := orgOf(ui, g.Token)
	key := storeKey(g.Kind, g.UserID)
	if err := p.bindOrg(ctx, g.Kind, org); err != nil {
		p.log.Warn("salesforce token of another org refused", "token", key, "org_id", org, "sf_user_id", ui.UserID)
		return Info{}, err
	}
	now := p.now()
	rec := &record{
		Kind: g.Kind, UserID: g.UserID, Holder: g.UserID,
		SFUserID: ui.UserID, SFUsername: ui.PreferredUsername, OrgID: org,
		Environment: env, LoginURL: loginURL, ConnectedAt: now,
	}
	rec.setToken(g.Token, now)
	release, err := p.acquire(ctx, key)
	if err != nil {
		return Info{}, err
	}
	kept = true // from here on the token is held, in memory at least
	old, _ := p.current(key)
	err = p.commit(ctx, key, rec)
	release()
	if err != nil {
		return Info{}, err
	}
	p.log.Info("salesforce token connected", "token", key, "sf_user_id", rec.SFUserID, "org_id", rec.OrgID)
	p.arrived(ctx, "connect")
	if old != nil && old.RefreshToken != "" && old.RefreshToken != rec.RefreshToken {
		p.revoke(ctx, key, old)
	}
	return rec.info(), nil
}

// bindOrg checks org against the bound org (Options.OrgID when set). The
// first default token stores it (before the token is stored); a personal
// token connected before any default token binds nothing, but without
// Options.OrgID the first default must be of its org.
func (p *Pool) bindOrg(ctx context.Context, kind Kind, org string) error {
	release, err := p.acquire(ctx, orgStoreKey)
	if err != nil {
		return err
	}
	defer release()
	p.mu.Lock()
	bound, stored := p.orgIDLocked(), p.orgID
	if bound == "" && kind == KindDefault {
		// Personal tokens connected before any default token: the
		// default must be of their org.
		for _, rec := range p.entries {
			if rec.OrgID != "" && !sfid.Same(rec.OrgID, org) {
				bound = rec.OrgID
			}
		}
	}
	p.mu.Unlock()
	switch {
	case bound != "" && !sfid.Same(org, bound):
		return fmt.Errorf("%w (token of org %q)", ErrOrgMismatch, org)
	case kind != KindDefault || org == "" || stored != "":
		return nil
	}
	if err := p.store.Put(ctx, orgStoreKey, []byte(org)); err != nil {
		return fmt.Errorf("tokens: store the org id: %w", err)
	}
	p.mu.Lock()
	p.orgID = org
	p.mu.Unlock()
	p.log.Info("salesforce org bound", "org_id", org)
	return nil
}

// orgOf is the org of a token: its identity's, else its identity URL's.
func orgOf(ui salesforce.UserInfo, tok salesforce.Token) string {
	if ui.OrganizationID != "" {
		return ui.OrganizationID
	}
	return tok.OrgID()
}

// OrgID is the Salesforce org the pool is bound to: Options.OrgID when
// set (in the 18-character form once a token of it connected), else the
// org of the first default token connected, "" before it.
func (p *Pool) OrgID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.orgIDLocked()
}

func (p *Pool) orgIDLocked() string {
	if p.pinnedOrg != "" && p.orgID == "" {
		return p.pinnedOrg
	}
	return p.orgID
}

// checkPinnedOrg refuses an Options.OrgID that is not an org id.
func checkPinnedOrg(org string) error {
	if org == "" {
		return nil
	}
	if err := sfid.CheckOrg(org); err != nil {
		return fmt.Errorf("%w: OrgID %w", ErrInvalidArgument, err)
	}
	return nil
}

// setAsideOtherOrgLocked, at load, takes the stored entries of another org
// than Options.OrgID out of use (an admin changed salesforce.org_id):
// carebridge never sends Care data to an org the config does not name,
// and never silently picks one of the two. They stay on disk, the bound
// org reads Options.OrgID, and Status.Error says what to do, until a
// token of the configured org arrives (a connect, the JWT bearer flow:
// arrived) or Forget revokes and deletes them. The caller holds p.mu.
func (p *Pool) setAsideOtherOrgLocked() {
	if p.pinnedOrg == "" {
		return
	}
	other := ""
	if p.orgID != "" && !sfid.Same(p.orgID, p.pinnedOrg) {
		other, p.orgID = p.orgID, ""
	}
	for key, rec := range p.entries {
		if rec.OrgID != "" && !sfid.Same(rec.OrgID, p.pinnedOrg) {
			p.otherOrg[key] = rec
			delete(p.entries, key)
			p.m.set(rec, nil)
			if other == "" {
				other = rec.OrgID
			}
		}
	}
	if other == "" {
		return
	}
	p.orgProblem = fmt.Sprintf("salesforce.org_id is %s, but the stored Salesforce connection is of org %s: "+
		"its tokens are not used. Connect the default token of org %s (or Forget the connection), "+
		"or set salesforce.org_id back", p.pinnedOrg, other, p.pinnedOrg)
	p.log.Error("salesforce.org_id differs from the org of the stored Salesforce connection; its tokens are not used",
		"org_id", p.pinnedOrg, "stored_org_id", other, "tokens", len(p.otherOrg))
}

// arrived follows a token of the bound org arriving, by a connect through
// the console (Connect) or by the JWT bearer flow (ensureJWT): Salesforce
// took the connected app's credentials, and the stored entries the key no
// longer opens and those set aside as of another org than Options.OrgID
// are of no more use: they are dropped (the latter revoked). via says how
// the token came, for the log. The caller holds no entry's writer lock.
func (p *Pool) arrived(ctx context.Context, via string) {
	p.setMisconfigured("")
	p.dropLostKeys(ctx)
	p.dropOtherOrg(ctx, via)
}

// dropOtherOrg revokes (best effort) and deletes the entries set aside as
// of another org than Options.OrgID, once a token of that org arrived or
// Forget has made them useless. via says which, for the log.
func (p *Pool) dropOtherOrg(ctx context.Context, via string) {
	p.mu.Lock()
	other := p.otherOrg
	p.otherOrg, p.orgProblem = map[string]*record{}, ""
	p.mu.Unlock()
	for key, rec := range other {
		p.revoke(ctx, key, rec)
		release, err := p.acquire(ctx, key)
		if err != nil {
			p.log.Warn("salesforce token of another org not deleted", "token", key, "error", err)
			continue
		}
		if cur, _ := p.current(key); cur == nil { // not replaced by a token of the configured org
			if err := p.store.Delete(ctx, key); err != nil {
				p.log.Warn("salesforce token of another org not deleted", "token", key, "error", err)
			}
		}
		release()
		p.log.Info("salesforce token of another org dropped", "token", key, "org_id", rec.OrgID, "after", via)
	}
}

// dropReplacedOtherOrg drops, at Open, the entries set aside as of
// another org when the stored default token is already of the bound org:
// it arrived before (a release whose JWT bearer flow left them set aside,
// or a grant not stored until later), so they are of no more use.
func (p *Pool) dropReplacedOtherOrg(ctx context.Context) {
	p.mu.Lock()
	d := p.entries[defaultStoreKey]
	replaced := len(p.otherOrg) > 0 && d != nil && d.OrgID != "" && sfid.Same(d.OrgID, p.pinnedOrg)
	p.mu.Unlock()
	if replaced {
		p.dropOtherOrg(ctx, "restart")
	}
}

// dropLostKeys deletes the stored entries the key does not open, once a
// reconnect has replaced them.
func (p *Pool) dropLostKeys(ctx context.Context) {
	p.mu.Lock()
	keys := make([]string, 0, len(p.lostKeys))
	for k := range p.lostKeys {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	for _, k := range keys {
		if err := p.store.Delete(ctx, k); err != nil {
			p.log.Warn("salesforce token that does not decrypt not deleted", "token", k, "error", err)
			continue
		}
		p.mu.Lock()
		delete(p.lostKeys, k)
		p.m.setUp(p.stateLocked())
		p.mu.Unlock()
	}
}

// setMisconfigured notes (or with "" clears) that Salesforce refused the
// connected app's credentials.
func (p *Pool) setMisconfigured(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.misconfigured == reason {
		return
	}
	p.misconfigured = reason
	p.m.setUp(p.stateLocked())
	close(p.changed)
	p.changed = make(chan struct{})
}

// DisconnectUser revokes the personal token of a Care user at Salesforce
// (best effort, logged) and deletes it. ErrNotFound when there is none.
// Permissions are the caller's business (see connector/sfapi).
func (p *Pool) DisconnectUser(ctx context.Context, userID string) error {
	return p.disconnect(ctx, storeKey(KindUser, userID))
}

// DisconnectDefault revokes the default token (best effort) and deletes
// it. With the JWT bearer flow configured, Run grants a new one at its
// next retry.
func (p *Pool) DisconnectDefault(ctx context.Context) error {
	return p.disconnect(ctx, defaultStoreKey)
}

func (p *Pool) disconnect(ctx context.Context, key string) error {
	release, err := p.acquire(ctx, key)
	if err != nil {
		return err
	}
	defer release()
	rec, _ := p.current(key)
	if rec == nil {
		return ErrNotFound
	}
	p.revoke(ctx, key, rec)
	if err := p.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("tokens: delete %s: %w", key, err)
	}
	p.mu.Lock()
	old := p.entries[key]
	delete(p.entries, key)
	delete(p.dirty, key)
	p.changedLocked(old, nil)
	p.mu.Unlock()
	p.log.Info("salesforce token disconnected", "token", key, "sf_user_id", rec.SFUserID)
	return nil
}

// Forget revokes every token at Salesforce (best effort) and deletes
// them all, the entries the key no longer opens and the bound org id too
// (SPEC §12 "Forget"). With the JWT bearer flow configured, Run grants a
// new default token at its next retry.
func (p *Pool) Forget(ctx context.Context) error {
	p.mu.Lock()
	keys := p.sortedKeysLocked()
	for k := range p.lostKeys {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	var errs []error
	for _, key := range keys {
		if err := p.disconnect(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	p.dropLostKeys(ctx)
	p.dropOtherOrg(ctx, "forget")
	release, err := p.acquire(ctx, orgStoreKey)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer release()
	if err := p.store.Delete(ctx, orgStoreKey); err != nil {
		return errors.Join(append(errs, fmt.Errorf("tokens: delete the org id: %w", err))...)
	}
	p.mu.Lock()
	p.orgID = ""
	p.mu.Unlock()
	p.setMisconfigured("")
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.log.Info("salesforce connection forgotten", "tokens", len(keys))
	return nil
}

// revoke revokes rec's refresh token (or its access token when it has
// none) at Salesforce. Failures are logged, never returned.
func (p *Pool) revoke(ctx context.Context, key string, rec *record) {
	p.revokeSecret(ctx, p.loginURLOf(rec), key, "revoked", rec.token())
}

// revokeSecret revokes tok's refresh token, else its access token, at the
// login URL that issued it, best effort: failures are logged. It runs
// even when ctx is done (bounded by revokeTimeout): a token left alive
// takes one of the user's 5 approvals. what says why, for the log.
func (p *Pool) revokeSecret(ctx context.Context, loginURL, key, what string, tok salesforce.Token) {
	secret := tok.RefreshToken
	if secret == "" {
		secret = tok.AccessToken
	}
	if secret == "" {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	auth, err := p.oauth(loginURL)
	if err == nil {
		err = auth.Revoke(rctx, secret)
	}
	if err != nil {
		p.log.Warn("salesforce token revoke failed", "token", key, "error", safeError(err))
		return
	}
	p.log.Info("salesforce token revoked", "token", key, "why", what)
}

// revokeTimeout bounds one revoke call.
const revokeTimeout = 30 * time.Second

func (p *Pool) loginURLOf(rec *record) string {
	if rec.LoginURL != "" {
		return rec.LoginURL
	}
	return p.loginURL
}
