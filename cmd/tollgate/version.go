package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// buildVersion names what this binary was built from: the module's version
// (v1.2.3 when built from a tagged module, "(devel)" from a checkout), the
// VCS revision and its time when the build stamped them (go build stamps
// them from a git checkout unless -buildvcs=false), "+dirty" for a tree with
// uncommitted changes, and the Go toolchain.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "tollgate (no build information)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var revision, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	out := "tollgate " + version
	if revision != "" {
		out += " " + revision + dirty
		if at != "" {
			out += " " + at
		}
	} else {
		out += " (no VCS revision stamped)"
	}
	return out + " " + bi.GoVersion
}

func cmdVersion(_ context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{synopsis["version"]}
	}
	_, err := fmt.Fprintln(stdout, buildVersion())
	return err
}
