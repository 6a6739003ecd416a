package tokens

import (
	"context"
	"strings"
)

// State is not_connected when there is no token, misconfigured while
// Salesforce refuses the connected app's credentials, connected while any
// token is healthy, expired when tokens exist but none is healthy.
func (p *Pool) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked()
}

func (p *Pool) stateLocked() State {
	if len(p.entries) == 0 {
		return NotConnected
	}
	if p.misconfigured != "" {
		return Misconfigured
	}
	for _, rec := range p.entries {
		if rec.Healthy {
			return Connected
		}
	}
	return Expired
}

// Status is a snapshot of the pool for the connection API.
type Status struct {
	State State
	// Environment and InstanceURL are the default token's, else those of
	// the first healthy personal token, else the configured environment
	// and "".
	Environment string
	InstanceURL string
	Default     *Info  // nil when there is no default token
	Users       []Info // personal tokens by user id
	// OrgID is the bound Salesforce org (salesforce.org_id when set), ""
	// before the first default connect.
	OrgID string
	// Error says why the state is misconfigured, that the stored tokens
	// are of another org than salesforce.org_id, or LostKeyError while
	// stored tokens do not open with the key; "" otherwise. Safe to show.
	Error string
}

// Status returns a snapshot of every token without secrets.
func (p *Pool) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{State: p.stateLocked(), Environment: p.environment, Users: []Info{}, OrgID: p.orgIDLocked()}
	switch {
	case p.orgProblem != "":
		st.Error = p.orgProblem
	case p.misconfigured != "":
		st.Error = p.misconfigured
	case len(p.lostKeys) > 0:
		st.Error = LostKeyError
	}
	var pick *record
	for _, k := range p.sortedKeysLocked() {
		rec := p.entries[k]
		info := rec.info()
		if k == defaultStoreKey {
			st.Default = &info
			pick = rec
			continue
		}
		st.Users = append(st.Users, info)
		if pick == nil && rec.Healthy {
			pick = rec
		}
	}
	if pick != nil {
		if pick.Environment != "" {
			st.Environment = pick.Environment
		}
		st.InstanceURL = pick.InstanceURL
	}
	return st
}

// Get describes the default token (kind default) or a user's personal
// token; ok is false when there is none.
func (p *Pool) Get(kind Kind, userID string) (Info, bool) {
	rec, _ := p.current(storeKey(kind, userID))
	if rec == nil {
		return Info{}, false
	}
	return rec.info(), true
}

// WaitHealthy returns nil once some token is healthy (at once when one
// is), or ctx's error. The outbox parks on it after an Auth error.
func (p *Pool) WaitHealthy(ctx context.Context) error {
	for {
		p.mu.Lock()
		st, ch := p.stateLocked(), p.changed
		p.mu.Unlock()
		if st == Connected {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// OAuth returns the OAuth flows of a login URL ("" = the configured one),
// for the connect handlers (authorize URL, code exchange).
func (p *Pool) OAuth(loginURL string) (Authorizer, error) {
	if loginURL == "" {
		loginURL = p.loginURL
	}
	return p.oauth(strings.TrimRight(loginURL, "/"))
}
