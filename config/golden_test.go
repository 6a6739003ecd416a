package config_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/carebridge/carebridge/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestGoldenBrokenConfig compares the report for testdata/broken.yaml with
// testdata/broken.golden. Run `go test ./config -run Golden -update` after a
// deliberate change to the messages, and review the diff.
func TestGoldenBrokenConfig(t *testing.T) {
	const in, golden = "testdata/broken.yaml", "testdata/broken.golden"
	_, err := config.Load(in, []string{"CAREBRIDGE_SALESFORCE_KEEPALIVE_INTERVAL=forever"})
	if err == nil {
		t.Fatal("broken.yaml loaded without problems")
	}
	got := []byte(err.Error() + "\n")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (run with -update if intended):\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

// TestExampleConfig loads the documented example, which must be valid and
// spell out the defaults (TestExampleHasEveryKey checks it is complete).
func TestExampleConfig(t *testing.T) {
	const path = "testdata/carebridge.example.yaml"
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	want := config.Default()
	want.Path = path
	want.DataDir = filepath.Join("testdata", "carebridge-data") // relative to the file
	want.Auth.Users = c.Auth.Users
	if !same(*c, want) {
		t.Errorf("the example's values differ from the defaults:\n got  %+v\n want %+v", *c, want)
	}
	if len(c.Auth.Users) != 3 {
		t.Fatalf("example users = %d, want 3", len(c.Auth.Users))
	}
	roles := map[string]bool{}
	for _, u := range c.Auth.Users {
		roles[u.Role] = true
	}
	if len(roles) != 3 {
		t.Errorf("example users should show every role, got %v", roles)
	}
}
