package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version and revision may be set at build time, for builds without the
// module's VCS information (a container built without .git):
//
//	go build -ldflags "-X main.version=v1.4.0 -X main.revision=$(git rev-parse HEAD)"
var (
	version  = ""
	revision = ""
)

// versionString is the module version and the VCS revision the binary was
// built from, with its commit time and whether the tree was modified:
// "v1.4.0 (rev 0123456789ab, 2026-12-05T18:00:00Z) go1.26.8 linux/amd64".
func versionString() string {
	info, _ := debug.ReadBuildInfo()
	return describeBuild(info, version, revision)
}

// describeBuild is versionString for a given build: info may be nil, the
// linker-set version and revision win over it.
func describeBuild(info *debug.BuildInfo, version, revision string) string {
	var rev, when string
	modified := false
	goVersion := runtime.Version()
	if info != nil {
		if version == "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if revision != "" {
		rev, when, modified = revision, "", false
	}
	if version == "" {
		version = "devel"
	}
	var vcs []string
	if rev != "" {
		vcs = append(vcs, "rev "+rev[:min(len(rev), 12)])
	} else {
		vcs = append(vcs, "no VCS revision")
	}
	if when != "" {
		vcs = append(vcs, when)
	}
	if modified {
		vcs = append(vcs, "modified")
	}
	return version + " (" + strings.Join(vcs, ", ") + ") " + goVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}
