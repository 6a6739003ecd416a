package care

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// ExternalKeyLen is the length of an external key.
const ExternalKeyLen = 26

// crockford is Crockford's base32 alphabet (no I, L, O, U), as ULIDs use it.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewExternalKey mints the key a case or message is known by in Salesforce
// (SPEC §11): a ULID, 26 characters of Crockford base32 over 48 bits of
// milliseconds and 80 random bits. Unlike ids from a sequence it never
// repeats across installs, databases started afresh or restores from
// backup, so an upsert by it can never land on another customer's record.
func NewExternalKey(now time.Time) string {
	if now.IsZero() {
		now = time.Now()
	}
	var b [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		// crypto/rand never fails on the platforms we run on (Go 1.24+
		// crashes the program instead); keep the contract anyway.
		panic("care: no randomness for an external key: " + err.Error())
	}
	return encodeULID(b)
}

// encodeULID writes the 128 bits of b as 26 base32 characters, most
// significant first (the first character carries the top 3 bits).
func encodeULID(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [ExternalKeyLen]byte
	for i := ExternalKeyLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidExternalKey reports whether s has the shape of an external key.
func ValidExternalKey(s string) bool {
	if len(s) != ExternalKeyLen || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := false
		for j := 0; j < len(crockford); j++ {
			if crockford[j] == c {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
