//go:build unix

package procrun

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// forwarded are the signals passed on to the command. A terminal's
// Ctrl-C reaches the command directly as well (same process group), which
// Packer, like most programs, takes as one interrupt; the runner's
// cancellation reaches only exec.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// Notify subscribes c to the signals Run passes on to the command.
func Notify(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, forwarded...)
	return func() { signal.Stop(c) }
}

// killedBy is the signal that ended the command, if one did.
func killedBy(ee *exec.ExitError) (int, bool) {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return int(ws.Signal()), true
}
