package procrun

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// Exit codes of a command that could not run, as shells give them.
const (
	ExitCannotRun = 126
	ExitNotFound  = 127
)

// Command is a program run in the foreground of the caller.
type Command struct {
	Argv           []string
	Env            []string // the command's whole environment
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals subscribes c to the signals passed on to the command and
	// returns how to unsubscribe; nil: Notify.
	Signals func(c chan<- os.Signal) (stop func())
}

// Run runs the command with its input and output untouched, forwarding
// the signals Signals delivers, and returns its exit code (128 plus the
// signal's number when one killed it, as shells report it) and whether it
// started at all; err says why it did not.
func (c Command) Run() (code int, started bool, err error) {
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.Env = c.Env
	signals := c.Signals
	if signals == nil {
		signals = Notify
	}
	sigs := make(chan os.Signal, 16)
	stop := signals(sigs)
	defer stop()
	if err := cmd.Start(); err != nil {
		code := ExitCannotRun
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = ExitNotFound
		}
		return code, false, fmt.Errorf("run %q: %w", c.Argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	return exitStatus(err), true, nil
}

// exitStatus is the command's exit code; killed by a signal, 128 plus the
// signal's number.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 1
	}
	if sig, ok := killedBy(ee); ok {
		return 128 + sig
	}
	return ee.ExitCode()
}
