package yamlsafe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carebridge/carebridge/connector/testworld/expect"
	"go.yaml.in/yaml/v3"
)

// bomb is a billion-laughs document: levels of width aliases to the level
// below, a few hundred bytes naming width^levels nodes.
func bomb(levels, width int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [x]\n")
	for l := 1; l < levels; l++ {
		fmt.Fprintf(&b, "l%d: &l%d [", l, l)
		for i := 0; i < width; i++ {
			fmt.Fprintf(&b, "*l%d, ", l-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func parse(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestAliasBomb(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src      string
		line     int // 0: within the budget
		col      int
		wantNone bool
	}{
		{name: "no aliases", src: "a: [1, 2, 3]\nb: {c: d}\n", wantNone: true},
		{name: "a shared block", src: "a: &a {x: 1, y: 2}\nb: *a\nc: *a\n", wantNone: true},
		{name: "billion laughs", src: bomb(10, 10), line: 5, col: 25},
		{name: "one wide alias level", src: "a: &a [" + strings.Repeat("x, ", 200) + "]\nb: [" + strings.Repeat("*a, ", 100) + "]\n", line: 2, col: 5 + 4*49},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AliasBomb(parse(t, tc.src))
			if tc.wantNone {
				if got != nil {
					t.Fatalf("refused at %d:%d", got.Line, got.Column)
				}
				return
			}
			if got == nil || got.Kind != yaml.AliasNode {
				t.Fatalf("bomb not found: %v", got)
			}
			if got.Line != tc.line || got.Column != tc.col {
				t.Errorf("at %d:%d, want %d:%d", got.Line, got.Column, tc.line, tc.col)
			}
		})
	}
}

func TestAliasBombWithinBudgetExactly(t *testing.T) {
	// A list of 99 items is 100 nodes; shared 100 times it adds 10,000:
	// exactly the budget. One more item is over it.
	doc := func(items int) string {
		return "a: &a [" + strings.Repeat("x, ", items) + "]\nb: [" + strings.Repeat("*a, ", 100) + "]\n"
	}
	if got := AliasBomb(parse(t, doc(99))); got != nil {
		t.Fatalf("refused at %d:%d", got.Line, got.Column)
	}
	if AliasBomb(parse(t, doc(100))) == nil {
		t.Fatal("one node over the budget is accepted")
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 80, "short"},
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"ééééééé", 4, "ééé…"},
		{"😀😀😀", 2, "😀…"},
	} {
		if got := Clip(tc.in, tc.max); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestClipLine(t *testing.T) {
	for _, s := range []string{strings.Repeat("a", 5000), strings.Repeat("é", 5000), "a" + strings.Repeat("😀", 700)} {
		got := ClipLine(s)
		if len(got) > MaxLine || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
			t.Errorf("ClipLine gave %d bytes, valid %v", len(got), utf8.ValidString(got))
		}
	}
	if got := ClipLine("fine"); got != "fine" {
		t.Errorf("ClipLine(fine) = %q", got)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := expect.WriteFile(t, dir, "small.yaml", "a: 1\n")
	big := expect.WriteFile(t, dir, "big.yaml", strings.Repeat("\x00", MaxFileBytes+1))
	if data, err := ReadFile(small); err != nil || string(data) != "a: 1\n" {
		t.Fatalf("small: %q %v", data, err)
	}
	if _, err := ReadFile(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big: %v, want ErrTooLarge", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

// FuzzAliasBomb: AliasBomb never panics, and whatever it accepts expands
// to at most the document's own nodes plus the budget.
func FuzzAliasBomb(f *testing.F) {
	for _, s := range []string{"a: 1", bomb(4, 5), bomb(10, 10), "a: &a [*a]", "a: &a {b: &b [*a, *b]}", "- &x [&y [*x]]\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(src), &n) != nil {
			return
		}
		if AliasBomb(&n) != nil {
			return
		}
		if got, own := expanded(&n, 0), count(&n); got > own+AliasBudget {
			t.Fatalf("accepted a document of %d nodes expanding to %d", own, got)
		}
	})
}

// expanded counts nodes with aliases expanded, the slow way, stopping past
// a bound.
func expanded(n *yaml.Node, depth int) int {
	if n == nil || depth > 100 {
		return 0
	}
	if n.Kind == yaml.AliasNode {
		return expanded(n.Alias, depth+1)
	}
	s := 1
	for _, c := range n.Content {
		s += expanded(c, depth+1)
		if s > 10*AliasBudget {
			return s
		}
	}
	return s
}

func count(n *yaml.Node) int {
	if n == nil || n.Kind == yaml.AliasNode {
		return 1
	}
	s := 1
	for _, c := range n.Content {
		s += count(c)
	}
	return s
}

// FuzzClip: Clip and ClipLine keep valid text valid, within their bounds,
// and leave what fits alone.
func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "a", strings.Repeat("é", 900), "😀" + strings.Repeat("x", 1100), "\xff\xfe"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = 1 + int(uint(max)%200)
		c, l := Clip(s, max), ClipLine(s)
		if utf8.ValidString(s) && (!utf8.ValidString(c) || !utf8.ValidString(l)) {
			t.Fatalf("invalid text from valid %q: %q %q", s, c, l)
		}
		if utf8.RuneCountInString(c) > max || len(l) > MaxLine {
			t.Fatalf("over the bound: %d runes (max %d), %d bytes", utf8.RuneCountInString(c), max, len(l))
		}
		if utf8.RuneCountInString(s) <= max && c != s || len(s) <= MaxLine && l != s {
			t.Fatalf("changed text that fits: %q", s)
		}
	})
}
