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
// an RSA PUBLIC KEY.
func ParseJWTKey(pemBytes []byte) (*rsa.PublicKey, error) {
	for rest := pemBytes; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("sfsim: no certificate or RSA public key found in PEM data")
		}
		switch blk.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("sfsim: parse certificate: %w", err)
			}
			if k, ok := cert.PublicKey.(*rsa.PublicKey); ok {
				return k, nil
			}
			return nil, errors.New("sfsim: certificate key is not RSA")
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("sfsim: parse public key: %w", err)
			}
			if rk, ok := k.(*rsa.PublicKey); ok {
				return rk, nil
			}
			return nil, errors.New("sfsim: public key is not RSA")
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("sfsim: parse RSA public key: %w", err)
			}
			return k, nil
		}
	}
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
