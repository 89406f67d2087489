//go:build !unix

package procrun

import (
	"os"
	"os/exec"
	"os/signal"
)

// Notify subscribes c to the signals Run passes on to the command.
func Notify(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, os.Interrupt)
	return func() { signal.Stop(c) }
}

// killedBy: elsewhere an exit code says it all.
func killedBy(*exec.ExitError) (int, bool) { return 0, false }
