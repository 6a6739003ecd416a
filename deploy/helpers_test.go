package deploy

import (
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
