package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/buildrole/buildrole/internal/cli"
)

func main() {
	// The runner sends SIGINT, then SIGTERM 7.5 s later: cancelling the
	// context makes up roll back within that window.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	info, ok := debug.ReadBuildInfo()
	cli.Version = version(cli.Version, info, ok)
	code := cli.Main(ctx, os.Args, cli.Env{})
	stop()
	os.Exit(code)
}

// version is the version stamped with -ldflags -X, or for
// `go install .../cmd/buildrole@vX.Y.Z`, which stamps nothing, the module
// version Go recorded.
func version(stamped string, info *debug.BuildInfo, ok bool) string {
	if stamped == "dev" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return stamped
}
