package sfsim

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzWriteBody feeds arbitrary request bodies to the write-body parser
// (single records and collections): no panic, and every failure is a 400
// Salesforce error.
func FuzzWriteBody(f *testing.F) {
	for _, seed := range []string{
		`{"Subject":"x","Status":"New","IsEscalated":true,"ContactId":"003Sm0000000001IAA"}`,
		`{"attributes":{"type":"Case"},"Subject":null,"Description":"a\nb"}`,
		`{"Contact":{"attributes":{"type":"Contact"},"Email":"a@b.c"}}`,
		`{"allOrNone":true,"records":[{"attributes":{"type":"Case"},"Subject":"x"}]}`,
		`{"Subject":}`, `[1,2]`, `"x"`, ``, `{"Subject":{"a":[1]}}`, `{"IsEscalated":"maybe"}`,
	} {
		f.Add([]byte(seed))
	}
	s := defaultSchema()
	cs := s.object("Case")
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(err error) {
			if err == nil {
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != 400 {
				t.Fatalf("body %q: error %v is not a 400 *Error", data, err)
			}
		}
		_, err := parseWriteBody(body(data), cs, true, false)
		check(err)
		if cb, cerr := body(data).decodeCollection(); cerr != nil {
			check(cerr)
		} else {
			for _, rec := range cb.records {
				_, perr := body(data).parseInput(cs, rec, true, false)
				if perr != nil {
					check(perr)
				}
			}
		}
	})
}

func TestTextLengthAndClip(t *testing.T) {
	tests := []struct {
		s      string
		length int
		clip4  string // clip(s, 4)
	}{
		{"abc", 3, "abc"},
		{"héllo", 5, "hél..."}, // é is 2 bytes, 1 unit
		{"ab😀cd", 6, "ab..."},  // 😀 is 4 bytes, 2 units: no half of it
		{"aé😀", 4, "aé..."},    // cut before the emoji, not inside it
		{"😀😀", 4, "😀..."},
	}
	for _, tc := range tests {
		t.Run(tc.s, func(t *testing.T) {
			if got := textLength(tc.s); got != tc.length {
				t.Errorf("textLength = %d, want %d", got, tc.length)
			}
			got := clip(tc.s, 4)
			if got != tc.clip4 || !utf8.ValidString(got) {
				t.Errorf("clip(4) = %q, want %q", got, tc.clip4)
			}
		})
	}
}

func TestLineCol(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n  \"b\": x}")
	tests := []struct {
		off       int64
		line, col int
	}{{0, 1, 1}, {1, 1, 2}, {2, 2, 1}, {4, 2, 3}, {19, 3, 8}}
	for _, tc := range tests {
		if l, c := lineCol(data, tc.off); l != tc.line || c != tc.col {
			t.Errorf("offset %d: %d:%d, want %d:%d", tc.off, l, c, tc.line, tc.col)
		}
	}
}
