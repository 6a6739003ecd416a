package mapping

import (
	"fmt"
	"strings"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// suggest returns ` (did you mean "X"?)` for the candidate closest to name,
// or "" when none is close. Close means an edit distance (ignoring case) of
// at most 2, or a third of the name's length for long names, or one name
// being a prefix of the other.
func suggest(name string, candidates []string) string {
	best, bestD := "", -1
	ln := strings.ToLower(name)
	limit := max(2, len([]rune(name))/3)
	for _, c := range candidates {
		if c == name {
			continue
		}
		lc := strings.ToLower(c)
		d := yamlsafe.EditDistance(ln, lc, limit)
		if d > limit && len(ln) >= 4 && (strings.HasPrefix(lc, ln) || strings.HasPrefix(ln, lc)) {
			d = limit // a prefix: "parent" for "parent_field"
		}
		if d > limit {
			continue
		}
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
