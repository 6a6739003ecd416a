package sfsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// OpenID Connect as Salesforce serves it: userinfo, the identity URL,
// discovery, the keys and RS256 id tokens.

// tokenFromRequest reads the bearer token, or an oauth_token / access_token
// parameter as the identity URL also accepts.
func tokenFromRequest(r *http.Request) string {
	if t := bearer(r); t != "" {
		return t
	}
	if t := r.URL.Query().Get("oauth_token"); t != "" {
		return t
	}
	return r.URL.Query().Get("access_token")
}

func badOAuthToken(w http.ResponseWriter) {
	writeRaw(w, http.StatusForbidden, "text/plain;charset=UTF-8", "Bad_OAuth_Token")
}

func (s *Server) userRecord(userID string) *record {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	r := s.store.byID(userID)
	if r == nil {
		return nil
	}
	cp := *r
	return &cp
}

func (s *Server) urls(version string) jobj {
	in := s.InstanceURL
	return jobj{
		{"enterprise", in + "/services/Soap/c/" + version + "/" + s.orgID[:15]},
		{"metadata", in + "/services/Soap/m/" + version + "/" + s.orgID[:15]},
		{"partner", in + "/services/Soap/u/" + version + "/" + s.orgID[:15]},
		{"rest", in + "/services/data/v" + version + "/"},
		{"sobjects", in + "/services/data/v" + version + "/sobjects/"},
		{"search", in + "/services/data/v" + version + "/search/"},
		{"query", in + "/services/data/v" + version + "/query/"},
		{"recent", in + "/services/data/v" + version + "/recent/"},
		{"tooling_soap", in + "/services/Soap/T/" + version + "/" + s.orgID[:15]},
		{"tooling_rest", in + "/services/data/v" + version + "/tooling/"},
		{"feeds", in + "/services/data/v" + version + "/chatter/feeds"},
		{"groups", in + "/services/data/v" + version + "/chatter/groups"},
		{"users", in + "/services/data/v" + version + "/chatter/users"},
		{"feed_items", in + "/services/data/v" + version + "/chatter/feed-items"},
		{"custom_domain", in},
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	sess := s.auth.lookup(tokenFromRequest(r), s.now())
	if sess == nil {
		badOAuthToken(w)
		return
	}
	u := s.userRecord(sess.userID)
	if u == nil {
		badOAuthToken(w)
		return
	}
	updated := u.vals["LastModifiedDate"].(time.Time)
	writeJSON(w, http.StatusOK, append(jobj{
		{"sub", s.identityURL(u.id)},
		{"user_id", u.id},
		{"organization_id", s.orgOf(u.id)},
		{"preferred_username", str(u.vals["Username"])},
		{"nickname", str(u.vals["CommunityNickname"])},
		{"name", str(u.vals["Name"])},
		{"email", str(u.vals["Email"])},
		{"email_verified", true},
		{"given_name", str(u.vals["FirstName"])},
		{"family_name", str(u.vals["LastName"])},
		{"zoneinfo", "GMT"},
		s.photos(),
		{"profile", s.InstanceURL + "/" + u.id},
		{"picture", s.InstanceURL + "/profilephoto/005/F"},
		{"address", jobj{}},
		{"is_salesforce_integration_user", false},
	}, s.userSettings(u, "{version}",
		kv{"updated_at", updated.UTC().Format("2006-01-02T15:04:05Z")})...))
}

// photos are the user's profile photos (the default ones).
func (s *Server) photos() kv {
	return kv{"photos", jobj{{"picture", s.InstanceURL + "/profilephoto/005/F"}, {"thumbnail", s.InstanceURL + "/profilephoto/005/T"}}}
}

// userSettings closes the userinfo and identity answers: the URLs for
// version, the user's state and settings, then modified (each answer names
// the last change its own way) and is_app_installed.
func (s *Server) userSettings(u *record, version string, modified kv) jobj {
	return jobj{
		{"urls", s.urls(version)},
		{"active", u.vals["IsActive"] == true},
		{"user_type", "STANDARD"},
		{"language", "en_US"},
		{"locale", "en_US"},
		{"utcOffset", 0},
		modified,
		{"is_app_installed", true},
	}
}

// handleIdentity serves the identity URL /id/{orgId}/{userId}.
func (s *Server) handleIdentity(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(strings.TrimPrefix(r.URL.Path, "/id/"))
	sess := s.auth.lookup(tokenFromRequest(r), s.now())
	if sess == nil {
		badOAuthToken(w)
		return
	}
	if len(parts) != 2 {
		writeRaw(w, http.StatusNotFound, "text/plain;charset=UTF-8", "Bad_Id")
		return
	}
	org, okOrg := NormalizeID(parts[0])
	uid, okUser := NormalizeID(parts[1])
	if !okOrg || !okUser || org != s.orgOf(uid) || uid != sess.userID {
		writeRaw(w, http.StatusForbidden, "text/plain;charset=UTF-8", "Bad_Id")
		return
	}
	u := s.userRecord(uid)
	if u == nil {
		writeRaw(w, http.StatusNotFound, "text/plain;charset=UTF-8", "Bad_Id")
		return
	}
	version := "{version}"
	if v := r.URL.Query().Get("version"); v != "" {
		version = v
	}
	writeJSON(w, http.StatusOK, append(jobj{
		{"id", s.identityURL(u.id)},
		{"asserted_user", true},
		{"user_id", u.id},
		{"organization_id", s.orgOf(u.id)},
		{"username", str(u.vals["Username"])},
		{"nick_name", str(u.vals["CommunityNickname"])},
		{"display_name", str(u.vals["Name"])},
		{"email", str(u.vals["Email"])},
		{"email_verified", true},
		{"first_name", u.vals["FirstName"]},
		{"last_name", str(u.vals["LastName"])},
		{"timezone", "GMT"},
		s.photos(),
		{"addr_street", nil}, {"addr_city", nil}, {"addr_state", nil}, {"addr_country", nil}, {"addr_zip", nil},
		{"mobile_phone", nil},
		{"mobile_phone_verified", false},
		{"is_lightning_login_user", false},
		{"status", jobj{{"created_date", nil}, {"body", nil}}},
	}, s.userSettings(u, version,
		kv{"last_modified_date", formatTime(u.vals["LastModifiedDate"].(time.Time))})...))
}

// idKeys holds the RSA key that signs id_tokens, made on first use (most
// tests never ask for openid) or loaded from the state file, and its kid.
type idKeys struct {
	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
	// made is called after a new key is generated (the state file keeps it).
	made func()
}

// signingKey returns the key and its kid, generating the key on first use.
func (k *idKeys) signingKey() (*rsa.PrivateKey, string, error) {
	k.mu.Lock()
	if k.key != nil {
		defer k.mu.Unlock()
		return k.key, k.kid, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		k.mu.Unlock()
		return nil, "", fmt.Errorf("generate id_token key: %w", err)
	}
	k.key, k.kid = key, keyID(&key.PublicKey)
	made := k.made
	k.mu.Unlock()
	if made != nil {
		made()
	}
	return key, keyID(&key.PublicKey), nil
}

// current is the key when there is one, without making it.
func (k *idKeys) current() *rsa.PrivateKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.key
}

// set installs a key kept from an earlier run.
func (k *idKeys) set(key *rsa.PrivateKey) {
	k.mu.Lock()
	k.key, k.kid = key, keyID(&key.PublicKey)
	k.mu.Unlock()
}

// jwk is the public half of an RSA key as a JSON Web Key member list.
func jwk(pub *rsa.PublicKey) (n, e string) {
	return base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}

// keyID is the RFC 7638 thumbprint of the key: the same key always has the
// same kid, across restarts from a state file.
func keyID(pub *rsa.PublicKey) string {
	n, e := jwk(pub)
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// idLogin is what an id_token says of the login behind it: when the user
// logged in, and the nonce of the authorization request (only on the
// code exchange; a refreshed id_token carries none, OIDC Core §12.2).
type idLogin struct {
	authTime time.Time
	nonce    string
}

// idToken signs the id_token of a token response: the standard claims of
// the user (Salesforce's connected apps include them), sub the identity
// URL, aud the client id.
func (s *Server) idToken(userID, accessToken string, login idLogin, now time.Time) (string, error) {
	key, kid, err := s.auth.keys.signingKey()
	if err != nil {
		return "", err
	}
	u := s.userRecord(userID)
	if u == nil {
		return "", fmt.Errorf("no user %s", userID)
	}
	sum := sha256.Sum256([]byte(accessToken))
	claims := jobj{
		{"at_hash", base64.RawURLEncoding.EncodeToString(sum[:16])},
		{"sub", s.identityURL(userID)},
		{"aud", s.opts.ClientID},
		{"iss", s.LoginURL},
		{"exp", now.Add(5 * time.Minute).Unix()},
		{"iat", now.Unix()},
		{"auth_time", login.authTime.Unix()},
	}
	if login.nonce != "" {
		claims = append(claims, kv{"nonce", login.nonce})
	}
	claims = append(claims,
		kv{"user_id", u.id},
		kv{"organization_id", s.orgOf(u.id)},
		kv{"preferred_username", str(u.vals["Username"])},
		kv{"nickname", str(u.vals["CommunityNickname"])},
		kv{"name", str(u.vals["Name"])},
		kv{"given_name", str(u.vals["FirstName"])},
		kv{"family_name", str(u.vals["LastName"])},
		kv{"email", str(u.vals["Email"])},
		kv{"email_verified", true},
		kv{"zoneinfo", "GMT"},
		kv{"locale", "en_US"},
	)
	hb, err := marshal(jobj{{"kid", kid}, {"typ", "JWT"}, {"alg", "RS256"}})
	if err != nil {
		return "", err
	}
	cb, err := marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// handleJWKS serves /id/keys: the public key that verifies id_tokens.
func (s *Server) handleJWKS(w http.ResponseWriter) {
	key, kid, err := s.auth.keys.signingKey()
	if err != nil {
		s.log.Error("sfsim: id_token key", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	n, e := jwk(&key.PublicKey)
	writeJSON(w, http.StatusOK, jobj{{"keys", []jobj{{
		{"kty", "RSA"}, {"n", n}, {"e", e}, {"alg", "RS256"}, {"use", "sig"}, {"kid", kid},
	}}}})
}

// handleDiscovery serves /.well-known/openid-configuration: the issuer is
// the login URL, as login.salesforce.com's own document says.
func (s *Server) handleDiscovery(w http.ResponseWriter) {
	l := s.LoginURL
	writeJSON(w, http.StatusOK, jobj{
		{"issuer", l},
		{"authorization_endpoint", l + "/services/oauth2/authorize"},
		{"token_endpoint", l + "/services/oauth2/token"},
		{"revocation_endpoint", l + "/services/oauth2/revoke"},
		{"userinfo_endpoint", l + "/services/oauth2/userinfo"},
		{"jwks_uri", l + "/id/keys"},
		{"response_types_supported", []string{"code"}},
		{"grant_types_supported", []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"}},
		{"code_challenge_methods_supported", []string{"S256", "plain"}},
		{"scopes_supported", sortedKeys(knownScopes)},
		{"id_token_signing_alg_values_supported", []string{"RS256"}},
		{"subject_types_supported", []string{"public"}},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_post", "client_secret_basic", "none"}},
		{"claims_supported", []string{"active", "address", "email", "email_verified", "family_name", "given_name",
			"is_app_installed", "language", "locale", "name", "nickname", "organization_id", "photos", "picture",
			"preferred_username", "profile", "sub", "updated_at", "urls", "user_id", "user_type", "zoneinfo"}},
	})
}
