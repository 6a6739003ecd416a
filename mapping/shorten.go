package mapping

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ellipsis ends a cut value. It is one UTF-16 code unit.
const ellipsis = "…"

// Length is the length of s as Salesforce counts it for a field's length:
// UTF-16 code units, so a character outside the Basic Multilingual Plane
// (most emoji) counts two. Invalid UTF-8 bytes count one each (they travel
// as U+FFFD).
func Length(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Shorten returns s cut to at most limit UTF-16 code units, ending with "…",
// and whether it cut. A limit below 1 means no limit. The cut falls on a
// rune boundary outside any emoji or combining sequence, and trailing spaces
// before the "…" are dropped.
func Shorten(s string, limit int) (string, bool) {
	if limit < 1 || Length(s) <= limit {
		return s, false
	}
	return cutTo(s, limit-1) + ellipsis, true
}

// shortenLines fits a digest: it drops the oldest whole lines until the rest
// fits; when even the newest line alone is too long it is cut with "…".
func shortenLines(lines []string, limit int) (string, bool) {
	all := strings.Join(lines, "\n")
	if limit < 1 || Length(all) <= limit {
		return all, false
	}
	// Keep the longest suffix of lines that fits.
	total, start := 0, len(lines)
	for i := len(lines) - 1; i >= 0; i-- {
		n := Length(lines[i])
		if i < len(lines)-1 {
			n++ // the "\n" after it
		}
		if total+n > limit {
			break
		}
		total += n
		start = i
	}
	if start < len(lines) {
		return strings.Join(lines[start:], "\n"), true
	}
	last, _ := Shorten(lines[len(lines)-1], limit)
	return last, true
}

// cutTo returns the longest clean prefix of s of at most units UTF-16 code
// units.
func cutTo(s string, units int) string {
	n, end := 0, 0
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > units {
			break
		}
		n += w
		end += size
	}
	end = cleanCut(s, end)
	return strings.TrimRightFunc(s[:end], unicode.IsSpace)
}

// cleanCut moves a cut at byte offset end back until it does not split a
// character sequence: no ZWJ, variation selector, skin-tone modifier, tag,
// combining mark or half a flag at the boundary.
func cleanCut(s string, end int) int {
	for end > 0 && end < len(s) {
		next, _ := utf8.DecodeRuneInString(s[end:])
		prev, size := utf8.DecodeLastRuneInString(s[:end])
		switch {
		case extends(next), prev == '\u200d':
			end -= size
		case isRegional(prev) && isRegional(next) && regionalRun(s[:end])%2 == 1:
			end -= size
		default:
			return end
		}
	}
	return end
}

// extends reports whether r attaches to the character before it.
func extends(r rune) bool {
	switch {
	case r == '\u200d', // zero width joiner
		r >= 0xfe00 && r <= 0xfe0f,   // variation selectors
		r >= 0x1f3fb && r <= 0x1f3ff, // skin-tone modifiers
		r >= 0xe0020 && r <= 0xe007f, // tags (subdivision flags)
		r >= 0xe0100 && r <= 0xe01ef, // variation selectors supplement
		unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), unicode.Is(unicode.Mc, r):
		return true
	}
	return false
}

func isRegional(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// regionalRun counts the regional indicators that end s.
func regionalRun(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegional(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n
}
