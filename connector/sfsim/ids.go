package sfsim

import (
	"strings"
	"sync/atomic"
)

// Salesforce record ids: 15 case-sensitive characters (a 3-character key
// prefix, a 2-character instance code, a reserved character and a 9-digit
// base-62 counter), plus a 3-character suffix that makes the 18-character
// form case-insensitive-safe.

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const checksumAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// simInstance is the 2-character instance code in every id the simulator
// mints ("Sm" for simulator).
const simInstance = "Sm"

// checksum returns the 3-character suffix of a 15-character id: for each
// 5-character chunk, bit i is set when character i is an upper-case A-Z.
func checksum(id15 string) string {
	var out [3]byte
	for chunk := 0; chunk < 3; chunk++ {
		v := 0
		for i := 0; i < 5; i++ {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				v |= 1 << i
			}
		}
		out[chunk] = checksumAlphabet[v]
	}
	return string(out[:])
}

// To18 turns a 15-character id into its 18-character form. It returns the
// id unchanged when it is not a well-formed 15-character id.
func To18(id string) string {
	if len(id) != 15 || !isAlnum(id) {
		return id
	}
	return id + checksum(id)
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// NormalizeID validates a 15- or 18-character id and returns its canonical
// 18-character form. An 18-character id must carry the right suffix (compared
// case-insensitively, as Salesforce does).
func NormalizeID(id string) (string, bool) {
	switch len(id) {
	case 15:
		if !isAlnum(id) {
			return "", false
		}
		return id + checksum(id), true
	case 18:
		if !isAlnum(id) {
			return "", false
		}
		if !strings.EqualFold(id[15:], checksum(id[:15])) {
			return "", false
		}
		return id[:15] + checksum(id[:15]), true
	}
	return "", false
}

// idGen mints ids. One counter is shared by all objects, so ids sort in
// creation order within an object (the base-62 digits are in ASCII order).
type idGen struct{ n atomic.Uint64 }

func (g *idGen) next(prefix string) string { return fixedID(prefix, g.n.Add(1)) }

// fixedID builds the 18-character id of a well-known record (the org, the
// master record type) from its prefix and a number.
func fixedID(prefix string, n uint64) string {
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = base62[n%62]
		n /= 62
	}
	id15 := prefix + simInstance + "0" + string(digits[:])
	return id15 + checksum(id15)
}
