package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Cookie names. The console's own pages use a SameSite=Lax cookie; the page
// embedded in Salesforce needs a cookie a third-party iframe may send
// (SameSite=None; Secure; Partitioned over https), so it gets its own name
// and never overwrites the other.
const (
	CookieName      = "carebridge_session"
	EmbedCookieName = "carebridge_embed_session"
	// CSRFHeader carries the session's CSRF token on state-changing API
	// requests; the page holds it in <meta name="csrf-token">.
	CSRFHeader = "X-CSRF-Token"
	// DefaultSessionTTL is how long a sign-in lasts.
	DefaultSessionTTL = 12 * time.Hour
	// MinKeySize is the shortest session key New accepts.
	MinKeySize = 32
)

// session is what the signed cookie carries. The CSRF token is not stored:
// it is an HMAC of the session id under its own derived key, so it cannot be
// computed without the server key and changes with every sign-in.
type session struct {
	ID      string `json:"sid"`
	UserID  string `json:"uid"`
	Expires int64  `json:"exp"` // Unix seconds
	Embed   bool   `json:"emb,omitempty"`
}

func (s session) expiresAt() time.Time { return time.Unix(s.Expires, 0) }

// signer seals and opens session cookies.
type signer struct {
	macKey  []byte
	csrfKey []byte
}

func newSigner(key []byte) signer {
	sub := func(label string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return signer{macKey: sub("cookie-mac"), csrfKey: sub("csrf")}
}

const cookieVersion = "v1."

// b64 is strict: a value has one encoding, so a cookie cannot be altered
// in its unused trailing bits and still verify.
var b64 = base64.RawURLEncoding.Strict()

func (k signer) mac(msg string) []byte {
	m := hmac.New(sha256.New, k.macKey)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// seal returns the cookie value for s: v1.<payload>.<mac>.
func (k signer) seal(s session) string {
	payload, _ := json.Marshal(s) // a struct of strings and ints cannot fail
	body := cookieVersion + b64.EncodeToString(payload)
	return body + "." + b64.EncodeToString(k.mac(body))
}

// open verifies a cookie value and decodes its session. It does not check
// expiry or revocation.
func (k signer) open(v string) (session, bool) {
	if !strings.HasPrefix(v, cookieVersion) || len(v) > 4096 {
		return session{}, false
	}
	i := strings.LastIndexByte(v, '.')
	if i <= len(cookieVersion) {
		return session{}, false
	}
	body, sig := v[:i], v[i+1:]
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, k.mac(body)) {
		return session{}, false
	}
	payload, err := b64.DecodeString(body[len(cookieVersion):])
	if err != nil {
		return session{}, false
	}
	var s session
	if err := json.Unmarshal(payload, &s); err != nil || s.ID == "" || s.UserID == "" {
		return session{}, false
	}
	return s, true
}

// csrf is the CSRF token of session id sid.
func (k signer) csrf(sid string) string {
	m := hmac.New(sha256.New, k.csrfKey)
	m.Write([]byte(sid))
	return b64.EncodeToString(m.Sum(nil))
}

func (k signer) csrfOK(sid, token string) bool {
	if token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(k.csrf(sid)), []byte(token)) == 1
}

func newSessionID() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	return b64.EncodeToString(b[:]), nil
}

// RevocationStore keeps the ids of signed-out sessions durably, so a cookie
// copied before sign-out stays dead across restarts. A *bolt.KV namespace
// fits. Values are the session's expiry (8-byte big-endian Unix seconds);
// entries are deleted once the session would have expired anyway.
type RevocationStore interface {
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string) (map[string][]byte, error)
}

// revocations is the set of signed-out session ids, kept in memory (every
// request checks it) and written through to the optional store.
type revocations struct {
	mu    sync.Mutex
	ids   map[string]time.Time // sid -> session expiry
	store RevocationStore
}

func (v *revocations) load(ctx context.Context, now time.Time) error {
	v.ids = map[string]time.Time{}
	if v.store == nil {
		return nil
	}
	all, err := v.store.List(ctx, "")
	if err != nil {
		return fmt.Errorf("load revoked sessions: %w", err)
	}
	for sid, raw := range all {
		if len(raw) != 8 {
			continue
		}
		exp := time.Unix(int64(binary.BigEndian.Uint64(raw)), 0)
		if !now.Before(exp) {
			if err := v.store.Delete(ctx, sid); err != nil {
				return fmt.Errorf("prune revoked session: %w", err)
			}
			continue
		}
		v.ids[sid] = exp
	}
	return nil
}

func (v *revocations) revoked(sid string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.ids[sid]
	return ok
}

// revoke records s as signed out and prunes entries past their expiry.
func (v *revocations) revoke(ctx context.Context, s session, now time.Time) error {
	v.mu.Lock()
	v.ids[s.ID] = s.expiresAt()
	var expired []string
	for sid, exp := range v.ids {
		if !now.Before(exp) {
			expired = append(expired, sid)
			delete(v.ids, sid)
		}
	}
	v.mu.Unlock()
	if v.store == nil {
		return nil
	}
	var raw [8]byte
	binary.BigEndian.PutUint64(raw[:], uint64(s.Expires))
	if err := v.store.Put(ctx, s.ID, raw[:]); err != nil {
		return fmt.Errorf("store revoked session: %w", err)
	}
	for _, sid := range expired {
		if err := v.store.Delete(ctx, sid); err != nil {
			return fmt.Errorf("prune revoked session: %w", err)
		}
	}
	return nil
}

// sameOrigin reports whether a state-changing request comes from the
// console's own pages: Sec-Fetch-Site, where the browser sends it, must be
// same-origin, and Origin, where present, must be the console's origin
// (public_url's, or this request's own host under either scheme, which a
// cross-site page cannot forge). Clients that send neither (curl, Go) pass;
// they carry no ambient cookie a forged request could ride on.
func (c *Console) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if c.publicOrigin != "" && strings.EqualFold(origin, c.publicOrigin) {
		return true
	}
	return r.Host != "" && (strings.EqualFold(origin, "http://"+r.Host) || strings.EqualFold(origin, "https://"+r.Host))
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
