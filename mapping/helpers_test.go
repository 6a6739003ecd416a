package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture is a Describer over testdata describe results.
type fixture map[string]*ObjectInfo

func (f fixture) Describe(_ context.Context, object string) (*ObjectInfo, error) {
	info, ok := f[object]
	if !ok {
		return nil, fmt.Errorf("describe %s: %w", object, ErrObjectNotFound)
	}
	return info, nil
}

// sfsim loads the describe of the simulator's default schema, fresh for
// each call so tests may change it.
func sfsim(t testing.TB) fixture { return loadFixture(t, "sfsim_describe.json") }

// sfsimExtra is sfsim plus the exotic object of extra_describe.json.
func sfsimExtra(t testing.TB) fixture {
	f := sfsim(t)
	for k, v := range loadFixture(t, "extra_describe.json") {
		f[k] = v
	}
	return f
}

func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	for _, info := range f {
		for name, fi := range info.Fields {
			fi.Name = name
			info.Fields[name] = fi
		}
	}
	return f
}

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func mustParse(t testing.TB, file, src string) *Mapping {
	t.Helper()
	m, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

// mustFail parses src as f.yaml and returns the error it must give.
func mustFail(t testing.TB, src string) error {
	t.Helper()
	_, err := Parse("f.yaml", []byte(src))
	if err == nil {
		t.Fatal("parsed without problems")
	}
	return err
}

// problemsOf returns the *ProblemsError err must be.
func problemsOf(t testing.TB, err error) *ProblemsError {
	t.Helper()
	var pe *ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T, want *ProblemsError: %v", err, err)
	}
	return pe
}
