package deploy

import (
	"io"
	"os"
	"testing"
)

// decodeFile reads path and decodes it into v with unmarshal (a strict
// YAML or JSON decode), failing the test on either; it returns the bytes.
func decodeFile(t *testing.T, path string, unmarshal func([]byte, any) error, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data
}

// parseFile opens path and parses it with parse, failing the test on
// either.
func parseFile[T any](t *testing.T, path string, parse func(io.Reader) (T, error)) T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}
