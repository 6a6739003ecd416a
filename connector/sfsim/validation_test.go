package sfsim

import (
	"errors"
	"testing"
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
