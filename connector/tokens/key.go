package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the size of the token encryption key: AES-256.
const KeySize = 32

// EnvSecretKey names the environment variable that may hold the key; it is
// only used in error messages (the daemon reads the variable through config).
const EnvSecretKey = "CAREBRIDGE_SECRET_KEY"

// ErrBadKey is returned for a key that is not 32 bytes in a known encoding,
// and for a key file that is not safe to use. The error never holds key
// material.
var ErrBadKey = errors.New("tokens: bad secret key")

const redacted = "[redacted]"

// Key is the AES-256 key that encrypts stored tokens. It never shows
// itself: fmt (every verb), slog and JSON print "[redacted]".
type Key struct{ b [KeySize]byte }

// NewKey copies b, which must be exactly 32 bytes, into a Key.
func NewKey(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: need %d bytes, got %d", ErrBadKey, KeySize, len(b))
	}
	k := &Key{}
	copy(k.b[:], b)
	return k, nil
}

// GenerateKey returns a new random key.
func GenerateKey() (*Key, error) {
	k := &Key{}
	if _, err := io.ReadFull(rand.Reader, k.b[:]); err != nil {
		return nil, fmt.Errorf("tokens: generate key: %w", err)
	}
	return k, nil
}

// String implements fmt.Stringer without revealing the key.
func (k Key) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the key.
func (k Key) GoString() string { return "tokens.Key(" + redacted + ")" }

// Format implements fmt.Formatter so that no verb prints the key bytes.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (k Key) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler without revealing the key.
func (k Key) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// ParseKey decodes a key written as hex (64 digits) or base64 (standard or
// URL alphabet, padded or not) of exactly 32 bytes. Surrounding white space
// is ignored. The error says what was wrong without echoing the value.
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadKey)
	}
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return NewKey(b)
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KeySize {
			return nil, fmt.Errorf("%w: base64 value decodes to %d bytes, need %d", ErrBadKey, len(b), KeySize)
		}
		return NewKey(b)
	}
	return nil, fmt.Errorf("%w: not %d bytes in hex (64 digits) or base64 (%d characters)", ErrBadKey, KeySize, base64.StdEncoding.EncodedLen(KeySize))
}

// LoadKey returns the token encryption key (SPEC §6):
//
//   - envValue, the value of CAREBRIDGE_SECRET_KEY, when it is not empty
//     (hex or base64 of 32 bytes; anything else is an error);
//   - else the key file at path (data_dir/secret.key): 32 raw bytes, or
//     their hex or base64 on one line. When the file does not exist it is
//     created with 32 random bytes and mode 0600 (its directory with 0700).
//
// A key file that group or others may read or write is refused: the error
// says to chmod it to 0600. A nil logger discards.
func LoadKey(envValue, path string, log *slog.Logger) (*Key, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(envValue) != "" {
		k, err := ParseKey(envValue)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSecretKey, err)
		}
		log.Info("token encryption key loaded", "source", "env", "variable", EnvSecretKey)
		return k, nil
	}
	if path == "" {
		return nil, fmt.Errorf("%w: neither %s nor a key file path is set", ErrBadKey, EnvSecretKey)
	}
	k, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = createKeyFile(path)
		if err == nil {
			log.Info("token encryption key created", "source", "file", "path", path)
			return k, nil
		}
		if errors.Is(err, fs.ErrExist) { // another process created it first
			k, err = readKeyFile(path)
		}
	}
	if err != nil {
		return nil, err
	}
	log.Info("token encryption key loaded", "source", "file", "path", path)
	return k, nil
}

func readKeyFile(path string) (*Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: secret key file %s is not a regular file", ErrBadKey, path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: secret key file %s has mode %04o and is open to group or others; run chmod 600 %s",
			ErrBadKey, path, perm, path)
	}
	if fi.Size() > 1024 {
		return nil, fmt.Errorf("%w: secret key file %s is %d bytes; it must hold %d bytes (raw, hex or base64)",
			ErrBadKey, path, fi.Size(), KeySize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	if len(b) == KeySize {
		return NewKey(b)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w (the file holds %d bytes)", path, err, len(b))
	}
	return k, nil
}

func createKeyFile(path string) (*Key, error) {
	k, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret key directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret key file %s: %w", path, err)
	}
	_, werr := f.Write(k.b[:])
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write secret key file %s: %w", path, werr)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		_ = d.Sync()
		_ = d.Close()
	}
	return k, nil
}

// Derive returns a 32-byte key for another purpose, named by label (an HMAC
// of this key), so one secret can protect several things without reuse.
func (k *Key) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.b[:])
	m.Write([]byte("carebridge derive: " + label))
	return m.Sum(nil)
}
