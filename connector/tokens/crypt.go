package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// ErrUndecryptable is returned when a stored record does not open with the
// key: the key changed (another CAREBRIDGE_SECRET_KEY, a new secret.key) or
// the record was tampered with or moved to another entry's key.
var ErrUndecryptable = errors.New("tokens: stored token does not decrypt with the secret key")

// sealVersion prefixes every stored record, so the format can evolve.
const sealVersion byte = 1

// aadPrefix binds a sealed record to its store key: a record copied under
// another entry's key fails to open.
const aadPrefix = "carebridge/salesforce-token/v1\x00"

// sealer encrypts records with AES-256-GCM: version byte, 12-byte random
// nonce, ciphertext and tag.
type sealer struct{ aead cipher.AEAD }

func newSealer(k *Key) (*sealer, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: no key", ErrBadKey)
	}
	block, err := aes.NewCipher(k.b[:])
	if err != nil {
		return nil, fmt.Errorf("tokens: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tokens: cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func aad(storeKey string) []byte { return []byte(aadPrefix + storeKey) }

// seal encrypts plaintext for storeKey with a fresh random nonce.
func (s *sealer) seal(storeKey string, plaintext []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(rand.Reader, out[1:]); err != nil {
		return nil, fmt.Errorf("tokens: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+ns], plaintext, aad(storeKey)), nil
}

// open decrypts a record stored under storeKey.
func (s *sealer) open(storeKey string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: record %q has an unknown format", ErrUndecryptable, storeKey)
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad(storeKey))
	if err != nil {
		return nil, fmt.Errorf("%w: record %q", ErrUndecryptable, storeKey)
	}
	return pt, nil
}
