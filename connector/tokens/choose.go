package tokens

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/carebridge/carebridge/connector/salesforce"
)

// Conn is a chosen token: a ready client whose session refreshes that
// token on a 401, and a description of the token.
//
// The client stays bound to the entry (the default token, or that user's
// personal token), also across a reconnect of it. When a call fails with an
// error salesforce.Classify sorts as Auth (the token expired meanwhile),
// choose again: the pool has marked the token expired and picks the next
// one.
type Conn struct {
	Client *salesforce.Client
	Info   Info
	key    string
}

// ForUser chooses the token for work done on behalf of a Care user (an
// agent creating a case, lead or contact, a contact search): the user's own
// healthy token, else the default token, else any healthy personal token
// (by user id order). ErrNoHealthyToken when no token is healthy.
func (p *Pool) ForUser(ctx context.Context, userID string) (*Conn, error) {
	return p.choose(storeKey(KindUser, userID))
}

// Background chooses the token for background work (message pushes,
// status updates, polling): the default token, else any healthy personal
// token. ErrNoHealthyToken when no token is healthy.
func (p *Pool) Background(ctx context.Context) (*Conn, error) {
	return p.choose("")
}

// DoForUser runs fn with the token ForUser chooses. When fn fails with an
// error salesforce.Classify sorts as Auth (the token expired meanwhile; the
// refused call was not carried out), fn runs again with the next choice,
// once per token. fn must therefore be safe to run again from the start: a
// single call, or upserts by external id. With no healthy token left the
// error matches ErrNoHealthyToken.
func (p *Pool) DoForUser(ctx context.Context, userID string, fn func(*Conn) error) error {
	return p.do(ctx, storeKey(KindUser, userID), fn)
}

// DoBackground is DoForUser with the Background choice.
func (p *Pool) DoBackground(ctx context.Context, fn func(*Conn) error) error {
	return p.do(ctx, "", fn)
}

func (p *Pool) do(ctx context.Context, first string, fn func(*Conn) error) error {
	tried := map[string]bool{}
	var last error
	for {
		conn, err := p.choose(first)
		if err != nil {
			if last != nil {
				return fmt.Errorf("%w; last failure: %w", err, last)
			}
			return err
		}
		if tried[conn.key] {
			return last
		}
		tried[conn.key] = true
		err = fn(conn)
		if err == nil || salesforce.Classify(err) != salesforce.Auth || ctx.Err() != nil {
			return err
		}
		p.log.Info("salesforce call refused for its token; trying the next token", "token", conn.key)
		last = err
	}
}

func (p *Pool) choose(first string) (*Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	order := make([]string, 0, len(p.entries)+2)
	if first != "" {
		order = append(order, first)
	}
	order = append(order, defaultStoreKey)
	for _, k := range p.sortedKeysLocked() {
		if strings.HasPrefix(k, userKeyPrefix) {
			order = append(order, k)
		}
	}
	for _, k := range order {
		rec, ok := p.entries[k]
		if ok && rec.Healthy && rec.AccessToken != "" {
			return &Conn{Client: p.clientLocked(k), Info: rec.info(), key: k}, nil
		}
	}
	return nil, ErrNoHealthyToken
}

func (p *Pool) sortedKeysLocked() []string {
	keys := make([]string, 0, len(p.entries))
	for k := range p.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (p *Pool) clientLocked(key string) *salesforce.Client {
	c, ok := p.clients[key]
	if !ok {
		c = salesforce.New(p.httpClient, &session{p: p, key: key}, p.clientOpts)
		p.clients[key] = c
	}
	return c
}

// Session returns the salesforce.Session of the default token or of a
// user's personal token (userID ignored for the default), whether or not
// it exists yet: it answers ErrTokenExpired while the entry is missing or
// expired.
func (p *Pool) Session(kind Kind, userID string) salesforce.Session {
	return &session{p: p, key: storeKey(kind, userID)}
}
