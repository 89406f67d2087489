package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/buildrole/buildrole/internal/cli"
)

func main() {
	// The runner sends SIGINT, then SIGTERM 7.5 s later: cancelling the
	// context makes up roll back within that window.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, cli.Env{})
	stop()
	os.Exit(code)
}
