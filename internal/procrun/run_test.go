package procrun

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// helperVar makes the test binary, re-executed, the command Run starts.
const helperVar = "PROCRUN_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperVar) == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	switch args[0] {
	case "echo":
		// stdin to stdout, the environment's PROCRUN_ variables to stderr.
		_, _ = io.Copy(os.Stdout, os.Stdin)
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "PROCRUN_") {
				fmt.Fprintln(os.Stderr, kv)
			}
		}
		return 3
	case "kill":
		return kill()
	case "signal":
		return waitForSignal()
	}
	return 99
}

func run(t *testing.T, stdin string, args ...string) (code int, started bool, stdout, stderr string) {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code, started, err = Command{
		Argv: append([]string{bin}, args...), Env: []string{helperVar + "=1", "PROCRUN_ONLY=this"},
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
	}.Run()
	if err != nil {
		t.Fatal(err)
	}
	return code, started, out.String(), errb.String()
}

// The command gets its input, output and exactly the environment given,
// and its exit code is Run's.
func TestRunPassesStreamsEnvironmentAndExitCode(t *testing.T) {
	code, started, stdout, stderr := run(t, "input\n", "echo")
	if code != 3 || !started || stdout != "input\n" || stderr != helperVar+"=1\nPROCRUN_ONLY=this\n" {
		t.Errorf("exit %d (started %v), stdout %q, stderr %q", code, started, stdout, stderr)
	}
}

// A command that cannot start gets the shell's codes and never counts as
// started.
func TestRunReportsACommandThatDidNotStart(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "data")
	if err := os.WriteFile(notExec, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	for argv0, want := range map[string]int{
		filepath.Join(dir, "missing"): ExitNotFound,
		"buildrole-no-such-command":   ExitNotFound,
		notExec:                       ExitCannotRun,
	} {
		code, started, err := Command{Argv: []string{argv0}, Signals: func(chan<- os.Signal) func() { return func() {} }}.Run()
		if code != want || started || err == nil || !strings.Contains(err.Error(), argv0) {
			t.Errorf("%s: exit %d (started %v, %v), want %d", argv0, code, started, err, want)
		}
	}
}
