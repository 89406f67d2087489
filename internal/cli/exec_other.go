//go:build !unix

package cli

import (
	"os"
	"os/exec"
	"os/signal"
)

func notifySignals(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, os.Interrupt)
	return func() { signal.Stop(c) }
}

// killedBy: elsewhere an exit code says it all.
func killedBy(*exec.ExitError) (int, bool) { return 0, false }
