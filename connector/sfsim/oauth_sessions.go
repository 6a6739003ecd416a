package sfsim

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sessions and refresh tokens: what the token endpoint hands out and the
// data API checks.

// grant is a refresh token and what it was issued for.
type grant struct {
	token  string
	userID string
	scopes []string
	// seq orders grants by approval: the oldest has the lowest.
	seq uint64
	// authTime is when the user logged in for this approval: the
	// auth_time of every id_token refreshed from it.
	authTime time.Time
}

type session struct {
	token   string
	userID  string
	expires time.Time
	grant   *grant // nil for JWT bearer sessions
}

type authState struct {
	mu       sync.Mutex
	codes    map[string]*authCode
	sessions map[string]*session
	grants   map[string]*grant
	seq      uint64 // last grant seq handed out

	keys idKeys // sign id_tokens
	// changes counts changes of grants and sessions, for the state file.
	changes *changeCount
}

func newAuthState() *authState {
	return &authState{codes: map[string]*authCode{}, sessions: map[string]*session{}, grants: map[string]*grant{}}
}

// bearer reads the access token of a request: Authorization: Bearer or
// OAuth, as Salesforce accepts both.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// authenticate returns the live session of the request, or nil.
func (a *authState) authenticate(r *http.Request, now time.Time) *session {
	tok := bearer(r)
	if tok == "" {
		return nil
	}
	return a.lookup(tok, now)
}

func (a *authState) lookup(tok string, now time.Time) *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[tok]
	if s == nil {
		return nil
	}
	if !now.Before(s.expires) {
		delete(a.sessions, tok)
		return nil
	}
	return s
}

func (a *authState) expireAll() {
	a.changes.bump()
	a.mu.Lock()
	a.sessions = map[string]*session{}
	a.mu.Unlock()
}

func (a *authState) revokeUser(userID string) {
	a.changes.bump()
	a.mu.Lock()
	defer a.mu.Unlock()
	for t, g := range a.grants {
		if g.userID == userID {
			delete(a.grants, t)
		}
	}
	for t, s := range a.sessions {
		if s.userID == userID {
			delete(a.sessions, t)
		}
	}
}

// refreshTokens counts the user's live refresh tokens.
func (a *authState) refreshTokens(userID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, g := range a.grants {
		if g.userID == userID {
			n++
		}
	}
	return n
}

// revokeGrant voids a refresh token and the sessions issued from it.
// Callers hold a.mu.
func (a *authState) revokeGrant(g *grant) {
	a.changes.bump()
	delete(a.grants, g.token)
	for t, sess := range a.sessions {
		if sess.grant == g {
			delete(a.sessions, t)
		}
	}
}

// maxApprovals is how many refresh tokens a user keeps per connected app;
// a strict org revokes the oldest on the next approval, as Salesforce does.
const maxApprovals = 5

// approvals is how many refresh tokens userID holds. Callers hold a.mu.
func (a *authState) approvals(userID string) int {
	n := 0
	for _, g := range a.grants {
		if g.userID == userID {
			n++
		}
	}
	return n
}

// keepApprovals revokes the user's oldest refresh tokens until fewer than
// maxApprovals remain. Callers hold a.mu.
func (a *authState) keepApprovals(userID string) {
	for {
		var oldest *grant
		n := 0
		for _, g := range a.grants {
			if g.userID != userID {
				continue
			}
			n++
			if oldest == nil || g.seq < oldest.seq {
				oldest = g
			}
		}
		if n < maxApprovals {
			return
		}
		a.revokeGrant(oldest)
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
