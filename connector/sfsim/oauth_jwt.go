package sfsim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The JWT bearer grant (server-to-server, no refresh token).

// ParseJWTKey reads the public key that verifies JWT bearer assertions
// from PEM: a CERTIFICATE (as uploaded to a connected app), a PUBLIC KEY or
// an RSA PUBLIC KEY. Blocks of other types are passed over.
func ParseJWTKey(pemBytes []byte) (*rsa.PublicKey, error) {
	for rest := pemBytes; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("sfsim: no certificate or RSA public key found in PEM data")
		}
		parse, ok := jwtKeyParsers[blk.Type]
		if !ok {
			continue
		}
		what := strings.ToLower(blk.Type)
		k, err := parse(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sfsim: parse %s: %w", what, err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("sfsim: the key of the %s is not RSA", what)
		}
		return rk, nil
	}
}

// jwtKeyParsers read the public key of each PEM block type ParseJWTKey
// takes.
var jwtKeyParsers = map[string]func(der []byte) (any, error){
	"CERTIFICATE": func(der []byte) (any, error) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	},
	"PUBLIC KEY":     x509.ParsePKIXPublicKey,
	"RSA PUBLIC KEY": func(der []byte) (any, error) { return x509.ParsePKCS1PublicKey(der) },
}

// jwtMaxAhead bounds exp: Salesforce asks for an assertion that expires
// within minutes. The simulator accepts up to a day ahead (clients such as
// golang.org/x/oauth2/jwt default to one hour) and refuses anything further,
// which catches an exp written in milliseconds.
const jwtMaxAhead = 24 * time.Hour

func (s *Server) tokenJWT(w http.ResponseWriter, r *http.Request) {
	invalid := func(desc string) { oauthError(w, http.StatusBadRequest, "invalid_grant", desc) }
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		invalid("invalid assertion")
		return
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		invalid("invalid assertion")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || s.opts.JWTPublicKey == nil {
		invalid("invalid assertion")
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(s.opts.JWTPublicKey, crypto.SHA256, sum[:], sig) != nil {
		invalid("invalid assertion")
		return
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp json.Number     `json:"exp"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		invalid("invalid assertion")
		return
	}
	if claims.Iss != s.opts.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if !s.audienceOK(claims.Aud) {
		invalid("audience is invalid")
		return
	}
	exp, err := claims.Exp.Int64()
	now := s.now()
	switch {
	case err != nil:
		invalid("invalid assertion")
		return
	case exp <= now.Unix():
		invalid("expired authorization code")
		return
	case exp > now.Add(jwtMaxAhead).Unix():
		invalid("invalid assertion")
		return
	}
	s.store.mu.RLock()
	u := s.userByName(claims.Sub)
	s.store.mu.RUnlock()
	if u == nil {
		invalid("user hasn't approved this consumer")
		return
	}
	s.writeToken(w, r, u.id, []string{"api"}, nil, false, idLogin{})
}

func (s *Server) audienceOK(raw json.RawMessage) bool {
	want := strings.TrimRight(s.LoginURL, "/")
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return strings.TrimRight(one, "/") == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, a := range many {
			if strings.TrimRight(a, "/") == want {
				return true
			}
		}
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
}
