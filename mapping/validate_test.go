package mapping

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidationGolden checks every file of testdata/invalid against its
// golden report: offline, and for online_* files also against the sfsim
// describe plus the extra object.
func TestValidationGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d invalid mappings found", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			var d Describer
			if strings.HasPrefix(name, "online_") {
				d = sfsimExtra(t)
			}
			rep, err := CheckFile(context.Background(), path, d)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("an invalid mapping passed")
			}
			got := strings.Join(rep.Lines(), "\n") + "\n"
			golden(t, filepath.Join("invalid", name+".golden"), []byte(got))
			// Every line names this file and a real position in it.
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Count(string(src), "\n") + 1
			for _, p := range rep.Problems {
				if p.File != path || p.Line < 1 || p.Line > lines || p.Col < 1 {
					t.Errorf("bad position in %v", p)
				}
			}
		})
	}
}
