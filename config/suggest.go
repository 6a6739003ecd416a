package config

import (
	"strings"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// suggest returns the candidate closest to name, or "" when none is close:
// a case-insensitive edit distance of at most 2 (1 for short names), or a
// prefix relation of at least 3 characters ("token" for "token_sha256").
func suggest(name string, candidates []string) string {
	lname := strings.ToLower(name)
	best, bestDist := "", -1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		dist := yamlsafe.EditDistance(lname, lc, len(lname)+len(lc))
		limit := 2
		if len(lname) <= 4 {
			limit = 1
		}
		if dist > limit && !(len(lname) >= 3 && (strings.HasPrefix(lc, lname) || strings.HasPrefix(lname, lc))) {
			continue
		}
		if bestDist < 0 || dist < bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}
