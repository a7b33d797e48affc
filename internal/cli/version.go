package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X github.com/bulwark-sec/bulwark/internal/cli.version=v1.2.3".
var version = ""

// Version is the version of this build: the one set at link time, else
// the module version or VCS revision Go recorded.
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

func runVersion(env Env, args []string) error {
	fs := flags(env, "version", "bulwark version", "Print the version of this build.")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "bulwark %s %s %s/%s\n", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
