//go:build unix

package cli

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// forwarded are the signals exec passes on to its command. A terminal's
// Ctrl-C reaches the command directly as well (same process group), which
// Packer, like most programs, takes as one interrupt; the runner's
// cancellation reaches only exec.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func notifySignals(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, forwarded...)
	return func() { signal.Stop(c) }
}

// exitStatus is the command's exit code; killed by a signal, 128 plus the
// signal's number, as shells report it.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return ExitFailed
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}
