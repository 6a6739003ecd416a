package mapping

import (
	_ "embed"
	"slices"
)

//go:embed testdata/example.yaml
var sample []byte

// Sample is the SPEC §5 example mapping (testdata/example.yaml), valid
// against the simulator's default schema; the demo loads it.
func Sample() []byte { return slices.Clone(sample) }
