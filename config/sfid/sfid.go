// Package sfid compares and checks Salesforce ids. A 15-character id is
// case-sensitive; the 18-character form adds three characters that encode
// the case of the first 15, so it may be compared case-insensitively.
// Both forms of one id are the same id.
package sfid

import (
	"fmt"
	"strings"
)

// suffixAlphabet maps the 5 case bits of a 5-character chunk to the
// chunk's suffix character.
const suffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// OrgPrefix is the key prefix of an Organization id.
const OrgPrefix = "00D"

// Canonical is the case-sensitive 15-character form of a 15- or
// 18-character id: an 18-character id's first 15 characters take the case
// its suffix says, so one typed or pasted in another case still names the
// same record. ok is false when id has another length, a character other
// than an ASCII letter or digit, or a suffix that cannot be one.
func Canonical(id string) (string, bool) {
	if len(id) != 15 && len(id) != 18 {
		return "", false
	}
	b := []byte(id)
	for _, c := range b {
		if !isLetter(c) && (c < '0' || c > '9') {
			return "", false
		}
	}
	if len(b) == 15 {
		return id, true
	}
	for chunk := range 3 {
		bits := strings.IndexByte(suffixAlphabet, upper(b[15+chunk]))
		if bits < 0 {
			return "", false
		}
		for i := range 5 {
			c, up := b[chunk*5+i], bits>>i&1 == 1
			switch {
			case isLetter(c) && up:
				b[chunk*5+i] = upper(c)
			case isLetter(c):
				b[chunk*5+i] = c | 0x20
			case up: // a digit cannot be upper case
				return "", false
			}
		}
	}
	return string(b[:15]), true
}

// Same reports whether a and b are the same Salesforce id, each in its
// 15- or 18-character form. An empty or malformed id is the same as none.
func Same(a, b string) bool {
	ca, ok := Canonical(a)
	cb, okb := Canonical(b)
	return ok && okb && ca == cb
}

// CheckOrg says what is wrong with an org id (nil when it is one): 15 or
// 18 letters and digits starting with 00D, as Setup → Company Information
// shows it.
func CheckOrg(id string) error {
	if c, ok := Canonical(id); !ok || c[:3] != OrgPrefix {
		return fmt.Errorf("must be a Salesforce org id: 15 or 18 letters and digits starting with %s "+
			"(Setup → Company Information → Salesforce.com Organization ID)", OrgPrefix)
	}
	return nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 0x20
	}
	return c
}
