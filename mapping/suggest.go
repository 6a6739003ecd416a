package mapping

import (
	"fmt"
	"strings"
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
		d := editDistance(ln, lc, limit)
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

// editDistance is the Levenshtein distance between a and b in runes; it
// gives up early and returns limit+1 once the distance must exceed limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
