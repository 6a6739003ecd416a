package simtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
)

// JWTKey returns an RSA key for the JWT bearer flow (the simulator's
// Options.JWTPublicKey takes its public half) and the key as PKCS #1 PEM.
// It is generated once per test binary: RSA generation is slow under
// -race.
func JWTKey(tb testing.TB) (*rsa.PrivateKey, []byte) {
	tb.Helper()
	k, err := jwtKey()
	if err != nil {
		tb.Fatalf("JWT key: %v", err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

var jwtKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
