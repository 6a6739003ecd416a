package yamlsafe

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"status", "stauts", 2, 2},
		{"café", "cafe", 2, 1}, // runes, not bytes
		{"object", "object", 0, 0},
		{"a", "abcdef", 2, 3}, // lengths alone exceed the limit
		{"abcdef", "uvwxyz", 2, 3},
	} {
		if got := EditDistance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("EditDistance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}

func TestExtraDocument(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		extra     bool
		err       bool
	}{
		{"one document", "a: 1\n", false, false},
		{"trailing separator", "a: 1\n---\n", false, false},
		{"second document", "a: 1\n---\nb: 2\n", true, false},
		{"syntax error after", "a: 1\n---\nb: [\n", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := yaml.NewDecoder(strings.NewReader(tc.src))
			var first yaml.Node
			if err := dec.Decode(&first); err != nil {
				t.Fatal(err)
			}
			extra, err := ExtraDocument(dec)
			if (extra != nil) != tc.extra || (err != nil) != tc.err {
				t.Errorf("ExtraDocument = %v, %v", extra, err)
			}
			if tc.extra && extra.Content[0].Line != 3 {
				t.Errorf("the extra document starts at line %d", extra.Content[0].Line)
			}
		})
	}
}
