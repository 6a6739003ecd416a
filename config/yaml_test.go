package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/config/yamlsafe"
)

// listBomb is a billion-laughs config: levels of ten aliases to the level
// below, the last one under salesforce.embed_frame_ancestors.
func listBomb(levels int) string {
	var b strings.Builder
	b.WriteString("x0: &x0 [" + strings.Repeat("a", 100) + "]\n")
	for l := 1; l < levels; l++ {
		fmt.Fprintf(&b, "x%d: &x%d [%s]\n", l, l, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*x%d, ", l-1), 10), ", "))
	}
	fmt.Fprintf(&b, "salesforce:\n  embed_frame_ancestors: *x%d\n", levels-1)
	return b.String()
}

func TestAliasBombRefused(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := problemLines(t, listBomb(12), nil)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("parsing the bomb allocated %d MB", alloc>>20)
	}
	// x1, x2 and x3 (21, 211 and 2111 nodes) add 20, 210 and 2110 nodes;
	// x4's fourth alias to x3 crosses 10,000.
	checkLines(t, got, []string{"c.yaml:5:" + fmt.Sprint(10+3*5) + ": " + yamlsafe.AliasBombMessage()})
}

func TestLargeFileRefused(t *testing.T) {
	src := "listen: :80\n# " + strings.Repeat("x", yamlsafe.MaxFileBytes) + "\n"
	checkLines(t, problemLines(t, src, nil), []string{"c.yaml:1:1: the file is 1048591 bytes; at most 1048576 (1 MiB) are read"})

	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, nil); !errors.Is(err, yamlsafe.ErrTooLarge) {
		t.Errorf("Load of a large file: %v, want ErrTooLarge", err)
	}
}

func TestProblemLinesBounded(t *testing.T) {
	long := strings.Repeat("ü", 3000)
	name := strings.Repeat("d/", 800) + "c.yaml"
	_, err := config.Parse(name, []byte("log_level: "+long+"\n"+strings.Repeat("k", 1000)+": 1\n"), []string{"CAREBRIDGE_LISTEN=" + long})
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("problems:\n%s", err)
	}
	for _, l := range lines {
		if len(l) > yamlsafe.MaxLine || strings.Contains(l, strings.Repeat("ü", yamlsafe.MaxQuote)) {
			t.Errorf("line of %d bytes: %.200s", len(l), l)
		}
	}
	if want := `env CAREBRIDGE_LISTEN: must be host:port (e.g. 127.0.0.1:8080 or :8080), got "` + strings.Repeat("ü", yamlsafe.MaxQuote-1) + `…"`; lines[2] != want {
		t.Errorf("env problem\n%s\nwant\n%s", lines[2], want)
	}
}
