package salesforce

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// jwtLifetime is how far in the future the assertion's exp lies. Salesforce
// asks for at most three minutes.
const jwtLifetime = 3 * time.Minute

// ErrBadPrivateKey is returned for a JWT signing key that is not an RSA
// private key in PEM (PKCS #1 or PKCS #8). The error never holds key bytes.
var ErrBadPrivateKey = errors.New("salesforce: private key is not a PEM RSA private key")

// ParseRSAPrivateKey reads an RSA private key from PEM, PKCS #1
// ("RSA PRIVATE KEY") or PKCS #8 ("PRIVATE KEY").
func ParseRSAPrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, ErrBadPrivateKey
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, ErrBadPrivateKey
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrBadPrivateKey
	}
	return rk, nil
}

// jwtClaims are the claims Salesforce reads from a JWT bearer assertion.
type jwtClaims struct {
	Iss string `json:"iss"` // the connected app's consumer key
	Sub string `json:"sub"` // the Salesforce username
	Aud string `json:"aud"` // the login URL (not the token URL)
	Exp int64  `json:"exp"` // seconds since the epoch
}

// signJWT builds an RS256-signed assertion for the JWT bearer flow.
func signJWT(key *rsa.PrivateKey, clientID, username, audience string, now time.Time) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256"})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(jwtClaims{
		Iss: clientID,
		Sub: username,
		Aud: audience,
		Exp: now.Add(jwtLifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return signingInput + "." + enc.EncodeToString(sig), nil
}

// JWTAudience is the aud claim of JWT bearer assertions (SPEC §11
// "Tokens"): configured (salesforce.jwt_audience) when set; else the
// login URL itself when it is not a salesforce.com host (an Experience
// Cloud site, the simulator); else https://test.salesforce.com for a
// sandbox (environment sandbox, test.salesforce.com, or a sandbox My
// Domain *.sandbox.my.salesforce.com) and https://login.salesforce.com
// otherwise. A My Domain login URL (https://acme.my.salesforce.com) does
// not change it: Salesforce accepts only those two audiences from its own
// hosts.
func JWTAudience(configured, environment, loginURL string) string {
	if configured != "" {
		return strings.TrimRight(configured, "/")
	}
	host := ""
	if u, err := url.Parse(loginURL); err == nil {
		host = strings.ToLower(u.Hostname())
	}
	switch {
	case host != "" && host != "salesforce.com" && !strings.HasSuffix(host, ".salesforce.com"):
		return strings.TrimRight(loginURL, "/")
	case environment == "sandbox", host == "test.salesforce.com", strings.HasSuffix(host, ".sandbox.my.salesforce.com"):
		return SandboxLoginURL
	}
	return ProductionLoginURL
}
