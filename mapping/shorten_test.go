package mapping

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLength(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},        // 2 UTF-8 bytes, one unit
		{"日本語", 3},      // 9 bytes
		{"🌺", 2},        // a surrogate pair
		{"👍🏽", 4},       // two astral runes
		{"👨‍👩‍👧‍👦", 11}, // 4 astral + 3 ZWJ
		{"\xff", 1},     // invalid byte: sent as U+FFFD
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Length(tc.in); got != tc.want {
				t.Errorf("Length(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestShorten(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		limit int
		want  string
		cut   bool
	}{
		{"fits", "hello", 5, "hello", false},
		{"no limit", "hello", 0, "hello", false},
		{"ascii", "hello world", 8, "hello w…", true},
		{"trailing space dropped", "hello world", 7, "hello…", true},
		{"limit one", "hello", 1, "…", true},
		{"two-byte runes", "ééééé", 3, "éé…", true},
		{"emoji not split", "ab🌺cd", 3, "ab…", true},
		{"emoji kept whole", "ab🌺cd", 5, "ab🌺…", true},
		{"skin tone kept with its emoji", "a👍🏽b", 4, "a…", true},
		{"zwj sequence not split", "a👨‍👩‍👧b", 9, "a…", true},
		{"flag pair not split", "🇫🇷🇩🇪", 6, "🇫🇷…", true},
		{"combining mark kept", "cafe\u0301!", 5, "caf…", true},
		{"variation selector kept", "a❤\ufe0fb", 3, "a…", true},
		{"invalid utf8", "ab\xffcd", 4, "ab\xff…", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := Shorten(tc.in, tc.limit)
			if got != tc.want || cut != tc.cut {
				t.Errorf("Shorten(%q, %d) = %q, %v; want %q, %v", tc.in, tc.limit, got, cut, tc.want, tc.cut)
			}
			if tc.limit > 0 && Length(got) > tc.limit {
				t.Errorf("%q is %d units, over %d", got, Length(got), tc.limit)
			}
		})
	}
}

// TestShortenProperties cuts a mixed text at every limit: the result fits,
// is valid UTF-8 where the input is, and is a prefix plus "…".
func TestShortenProperties(t *testing.T) {
	in := "Grüße 🌺 aus 👨‍👩‍👧‍👦 München 🇫🇷🇩🇪 — cafe\u0301 日本語 👍🏽 end"
	for limit := 1; limit <= Length(in)+1; limit++ {
		got, cut := Shorten(in, limit)
		if Length(got) > limit {
			t.Fatalf("limit %d: %q is %d units", limit, got, Length(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("limit %d: invalid UTF-8 %q", limit, got)
		}
		if cut != (Length(in) > limit) {
			t.Fatalf("limit %d: cut = %v", limit, cut)
		}
		if cut && (!strings.HasSuffix(got, "…") || !strings.HasPrefix(in, strings.TrimSuffix(got, "…"))) {
			t.Fatalf("limit %d: %q is not a prefix of the input plus …", limit, got)
		}
	}
}

func TestShortenLines(t *testing.T) {
	lines := []string{"[t1] a: first", "[t2] b: second", "[t3] c: third 🌺"}
	all := strings.Join(lines, "\n")
	for _, tc := range []struct {
		name  string
		limit int
		want  string
		cut   bool
	}{
		{"fits", Length(all), all, false},
		{"drops the oldest line", Length(all) - 1, "[t2] b: second\n[t3] c: third 🌺", true},
		{"keeps only the newest", Length(lines[2]) + 5, "[t3] c: third 🌺", true},
		{"exactly the newest", Length(lines[2]), "[t3] c: third 🌺", true},
		{"cuts the newest", 10, "[t3] c: t…", true},
		{"cut avoids the surrogate pair", Length(lines[2]) - 1, "[t3] c: third…", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := shortenLines(lines, tc.limit)
			if got != tc.want || cut != tc.cut {
				t.Errorf("shortenLines(%d) = %q, %v; want %q, %v", tc.limit, got, cut, tc.want, tc.cut)
			}
			if Length(got) > tc.limit {
				t.Errorf("%q over %d", got, tc.limit)
			}
		})
	}
}
