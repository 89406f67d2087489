//go:build unix

package procrun

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

func kill() int {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

func waitForSignal() int {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	fmt.Println("ready")
	select {
	case s := <-c:
		fmt.Printf("got %v\n", s)
		return 42
	case <-time.After(time.Minute):
		// Bounded: a signal that never arrives fails the test, not CI.
		return 7
	}
}

// Each signal Signals delivers reaches the command, which decides its exit.
func TestRunForwardsSignals(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		pr, pw := io.Pipe()
		subscribed := make(chan chan<- os.Signal, 1)
		stopped := make(chan bool, 1)
		type result struct {
			code    int
			started bool
			err     error
		}
		done := make(chan result, 1)
		go func() {
			code, started, err := Command{
				Argv: []string{bin, "signal"}, Env: []string{helperVar + "=1"}, Stdout: pw,
				Signals: func(c chan<- os.Signal) func() { subscribed <- c; return func() { stopped <- true } },
			}.Run()
			_ = pw.Close()
			done <- result{code, started, err}
		}()
		c := <-subscribed
		lines := bufio.NewScanner(pr)
		if !lines.Scan() || lines.Text() != "ready" {
			t.Fatalf("%v: first line %q", sig, lines.Text())
		}
		c <- sig
		var rest []string
		for lines.Scan() {
			rest = append(rest, lines.Text())
		}
		r := <-done
		if r.code != 42 || !r.started || r.err != nil || len(rest) != 1 || rest[0] != fmt.Sprintf("got %v", sig) || !<-stopped {
			t.Errorf("%v: exit %d (started %v, %v), stdout after ready %q", sig, r.code, r.started, r.err, rest)
		}
	}
}

// Killed by a signal, the command exits as a shell reports it: 128 plus
// the signal's number.
func TestRunReportsTheSignalThatKilledTheCommand(t *testing.T) {
	if code, started, _, _ := run(t, "", "kill"); code != 128+int(syscall.SIGKILL) || !started {
		t.Errorf("exit %d (started %v), want %d", code, started, 128+int(syscall.SIGKILL))
	}
}
