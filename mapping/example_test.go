package mapping

import (
	"context"
	"path/filepath"
	"testing"
)

func TestExampleValid(t *testing.T) {
	path := filepath.Join("testdata", "example.yaml")
	for _, tc := range []struct {
		name string
		d    Describer
	}{{"offline", nil}, {"online", sfsim(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := CheckFile(context.Background(), path, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("example has problems:\n%v", rep.Lines())
			}
			if rep.Online != (tc.d != nil) {
				t.Errorf("Online = %v", rep.Online)
			}
		})
	}
}

func TestSampleParses(t *testing.T) {
	m, err := Parse("sample.yaml", Sample())
	if err != nil {
		t.Fatal(err)
	}
	if m.Case == nil || m.MessagesMode() != MessagesContinuous || !m.Status.Bidirectional() {
		t.Error("the sample is not the SPEC example")
	}
	Sample()[0] = 'x' // a copy: the next caller is unaffected
	if Sample()[0] != 'v' {
		t.Error("Sample shares its bytes")
	}
}
