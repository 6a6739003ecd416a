// The pending connect flows: single-use states bound to the browser that
// started them.

package sfapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/carebridge/carebridge/connector/tokens"
)

type pending struct {
	verifier    string
	kind        tokens.Kind
	userID      string
	loginURL    string
	environment string
	binding     string // the binding cookie's value
	expires     time.Time
}

// Refusals of stateStore.put.
var (
	errUserPending = errors.New("sfapi: too many connects of this user pending")
	errAllPending  = errors.New("sfapi: too many connects pending")
)

// stateStore keeps the pending flows in memory by state: single use, with
// a lifetime, at most max in all and perUser per user. A full store
// refuses new flows rather than dropping anyone's (one user must not
// evict another's). A restart forgets them (the user connects again).
type stateStore struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	perUser int
	m       map[string]pending
	byUser  map[string]int
}

func newStateStore(ttl time.Duration, max, perUser int) *stateStore {
	return &stateStore{ttl: ttl, max: max, perUser: perUser, m: map[string]pending{}, byUser: map[string]int{}}
}

func (s *stateStore) put(state string, p pending, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.expires = now.Add(s.ttl)
	for k, v := range s.m {
		if !now.Before(v.expires) {
			s.deleteLocked(k, v)
		}
	}
	switch {
	case s.byUser[p.userID] >= s.perUser:
		return errUserPending
	case len(s.m) >= s.max:
		return errAllPending
	}
	s.m[state] = p
	s.byUser[p.userID]++
	return nil
}

func (s *stateStore) deleteLocked(state string, p pending) {
	delete(s.m, state)
	if s.byUser[p.userID]--; s.byUser[p.userID] <= 0 {
		delete(s.byUser, p.userID)
	}
}

// take removes and returns the flow of state; ok is false when it is
// unknown, already used or expired.
func (s *stateStore) take(state string, now time.Time) (pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[state]
	if !ok {
		return pending{}, false
	}
	s.deleteLocked(state, p)
	if !now.Before(p.expires) {
		return pending{}, false
	}
	return p, true
}

// newState returns 32 random bytes, base64url: a state or a binding.
func newState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// binding returns the browser's binding cookie value, or a new one. A
// browser keeps one value across connects, so several connects started in
// one browser (two tabs) all stay valid.
func binding(r *http.Request) (string, error) {
	if c, err := r.Cookie(BindingCookie); err == nil && len(c.Value) == 43 {
		if _, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			return c.Value, nil
		}
	}
	return newState()
}

// boundTo reports whether r carries the binding cookie of p.
func boundTo(r *http.Request, p pending) bool {
	c, err := r.Cookie(BindingCookie)
	return err == nil && p.binding != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.binding)) == 1
}
