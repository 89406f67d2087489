//go:build !unix

package csm

import (
	"os"
	"os/exec"
	"os/signal"
)

// NotifySignals subscribes c to the signals a monitored command gets.
func NotifySignals(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, os.Interrupt)
	return func() { signal.Stop(c) }
}

// killedBy: elsewhere an exit code says it all.
func killedBy(*exec.ExitError) (int, bool) { return 0, false }
