package mapping

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text to the parser: it must never panic or
// hang, every problem must have a position, and whatever parses must render
// and validate online without panicking.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	for _, path := range append(seeds, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{digestMapping, shortMapping, typesMapping, "", "version: 1", "a: &a [*a]", "version: 1\ncase: {object: X, fields: {A: {template: '{'}}}\n", wideBomb(10), wideBomb(100)} {
		f.Add([]byte(s))
	}
	sf := sfsimExtra(f)
	in := sampleInput()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *ProblemsError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			for _, p := range pe.Problems {
				if p.Line < 1 || p.Col < 1 || p.Message == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		for _, obj := range []Object{ObjectContact, ObjectCase, ObjectLead} {
			if sec := m.Section(obj); sec != nil {
				_, _ = m.Render(obj, in, nil)
				_, _ = m.Render(obj, in, sf[sec.Object])
			}
		}
		if m.MessagesMode() == MessagesContinuous {
			_, _ = m.RenderMessage(in.Messages[0], "500", nil)
		}
		if _, err := ValidateOnline(context.Background(), m, sf); err != nil {
			t.Fatalf("online validation: %v", err)
		}
	})
}
