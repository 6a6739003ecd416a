package mapping

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/config/yamlsafe"
	"github.com/carebridge/carebridge/connector/testworld/expect"
)

// wideBomb is a 200 KB mapping whose fields alias a block of width keys
// width times: a million field entries with 200-character keys once
// expanded (it took 5 GB and wrote a 245 MB report before the alias budget).
func wideBomb(width int) string {
	var b strings.Builder
	b.WriteString("version: 1\nx0: &x0 {")
	for i := 0; i < width; i++ {
		fmt.Fprintf(&b, "%s%d: v, ", strings.Repeat("k", 200), i)
	}
	b.WriteString("}\nx1: &x1 {")
	for i := 0; i < width; i++ {
		fmt.Fprintf(&b, "f%d: *x0, ", i)
	}
	b.WriteString("}\ncase: {object: Case, fields: *x1}\n")
	return b.String()
}

func TestParseRefusesAliasBomb(t *testing.T) {
	src := wideBomb(1000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Parse("bomb.yaml", []byte(src))
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("parsing the bomb allocated %d MB", alloc>>20)
	}
	pe := problemsOf(t, err)
	// The first alias that crosses the budget: x1's fifth, as each names a
	// block of 2001 nodes (a mapping, its keys and values).
	line3 := strings.Split(src, "\n")[2]
	want := fmt.Sprintf("bomb.yaml:3:%d: %s", strings.Index(line3, "f4: ")+5, yamlsafe.AliasBombMessage())
	if len(pe.Problems) != 1 || pe.Problems[0].String() != want {
		t.Errorf("problems:\n%v\nwant\n%s", err, want)
	}
}

func TestParseClipsLongValues(t *testing.T) {
	long, key := strings.Repeat("é", 5000), strings.Repeat("é", 500) // YAML keys stop at 1024 characters
	src := "version: " + long + "\n" + key + ": 1\ncase:\n  object: Case\n  fields:\n    " + key + ": " + long + "\n"
	pe := problemsOf(t, mustFail(t, src))
	if len(pe.Problems) < 3 {
		t.Fatalf("problems: %v", pe)
	}
	for _, p := range pe.Problems {
		line := p.String()
		if len(line) > yamlsafe.MaxLine || strings.Contains(line, strings.Repeat("é", yamlsafe.MaxQuote)) {
			t.Errorf("%d bytes, a value over %d characters: %.200s", len(line), yamlsafe.MaxQuote, line)
		}
	}
	if !strings.Contains(pe.Problems[0].Message, `version must be 1, not "`+strings.Repeat("é", yamlsafe.MaxQuote-3)+`…"`) {
		t.Errorf("version value not clipped to %d characters: %.200s", yamlsafe.MaxQuote, pe.Problems[0].Message)
	}
}

func TestParseBoundsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\n")
	for i := 0; i < 3*MaxProblems; i++ {
		fmt.Fprintf(&b, "unknown%d: 1\n", i)
	}
	pe := problemsOf(t, mustFail(t, b.String()))
	if len(pe.Problems) != MaxProblems+1 {
		t.Fatalf("%d problems, want %d", len(pe.Problems), MaxProblems+1)
	}
	last := pe.Problems[MaxProblems]
	if want := fmt.Sprintf("%d more problems not shown; fix these first", 2*MaxProblems); last.Message != want || last.Line != MaxProblems+2 {
		t.Errorf("last problem %+v, want %q at line %d", last, want, MaxProblems+2)
	}
}

func TestParseRefusesLargeFile(t *testing.T) {
	src := "version: 1\n# " + strings.Repeat("x", yamlsafe.MaxFileBytes) + "\n"
	pe := problemsOf(t, mustFail(t, src))
	if len(pe.Problems) != 1 || !strings.Contains(pe.Problems[0].String(), "f.yaml:1:1: the file is 1048590 bytes; at most 1048576 (1 MiB) are read") {
		t.Errorf("problems: %v", pe)
	}
	path := expect.WriteFile(t, t.TempDir(), "big.yaml", src)
	if _, err := CheckFile(t.Context(), path, nil); err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("CheckFile of a large file: %v", err)
	}
}
