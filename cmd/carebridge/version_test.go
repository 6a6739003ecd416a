package main

import (
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-05T18:00:00Z"},
		{Key: "vcs.modified", Value: "true"}}
	plat := " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name              string
		info              *debug.BuildInfo
		version, revision string
		want              string
	}{
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"", "", "devel (rev 0123456789ab, 2026-12-05T18:00:00Z, modified) go1.26.8"},
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			"", "", "v1.4.0 (no VCS revision) go1.26.8"},
		{"linker flags win", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"v1.5.0", "fedcba9876543210", "v1.5.0 (rev fedcba987654) go1.26.8"},
		{"no build info", nil, "", "", "devel (no VCS revision) " + runtime.Version()},
	}
	for _, tt := range tests {
		if got := describeBuild(tt.info, tt.version, tt.revision); got != tt.want+plat {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want+plat)
		}
	}
}

// A binary built from this checkout names its revision, never "(devel)"
// alone.
func TestVersionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	out, err := exec.Command(buildBinary(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("SKIP: not in a git checkout: ", err)
	}
	// The module version is "devel", or the pseudo-version Go stamps from
	// the revision (v0.0.0-<time>-<rev>[+dirty]).
	want := regexp.MustCompile(`^carebridge (devel|v\S+) \(rev ` + string(head[:12]) + `, \d{4}-\d\d-\d\dT[\d:]+Z(, modified)?\) go1\.\d+`)
	if !want.Match(out) || strings.Contains(string(out), "(devel)") {
		t.Fatalf("version %q, want %s", out, want)
	}
}
