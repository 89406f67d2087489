package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/testenv"
)

// runAsCLI makes this test binary buildrole itself (TestMain calls
// runCLI), as cmd/buildrole's main does, when the action's scripts start it
// through BUILDROLE_BIN: `BUILDROLE_BIN up`, no other argument.
const runAsCLI = "BUILDROLE_TEST_RUN_AS_CLI"

func runCLI(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(ctx, args, cli.Env{})
}

// nodeStep runs one of the action's scripts as the runner does: node, the
// job's environment, this test binary as BUILDROLE_BIN.
type nodeStep struct {
	w   *world
	env []string
	cmd *exec.Cmd
	out syncBuffer
}

// syncBuffer is read while the process still writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newNodeStep(t *testing.T, w *world, script string, extra map[string]string) *nodeStep {
	t.Helper()
	node := testenv.Tool(t, "node", "the action's scripts (action/main.js, post.js) need Node.js 20 on PATH; make test runs them")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	s := &nodeStep{w: w}
	vars := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": home, "RUNNER_TEMP": home,
		"BUILDROLE_BIN": self, runAsCLI: "1",
		// The fake account, and nothing of this machine's AWS setup.
		"AWS_ENDPOINT_URL": w.srv.URL(), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "none"),
		"GITHUB_PATH": filepath.Join(w.dir, "github_path"),
	}
	w.mu.Lock()
	for k, v := range w.vars {
		vars[k] = v
	}
	w.mu.Unlock()
	for k, v := range extra {
		vars[k] = v
	}
	for k, v := range vars {
		s.env = append(s.env, k+"="+v)
	}
	s.cmd = exec.Command(node, filepath.Join("..", "..", "action", script))
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	return s
}

func (s *nodeStep) run(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return s.wait(t)
}

func (s *nodeStep) wait(t *testing.T) int {
	t.Helper()
	err := s.cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return s.cmd.ProcessState.ExitCode()
}

// The action's main and post steps, through node, against a fake account:
// up creates the run's roles and profile, down deletes them.
//
// The node tests start processes: like the exec tests, they run one at a
// time before the package's parallel tests.
func TestNodeActionMainAndPostSteps(t *testing.T) {
	w := newWorld(t)
	main := newNodeStep(t, w, "main.js", nil)
	if code := main.run(t); code != cli.ExitOK {
		t.Fatalf("main step: exit %d\n%s", code, main.out.String())
	}
	if got := len(w.leftovers()); got != 3 {
		t.Fatalf("after the main step: %d roles and profiles under /buildrole/, want 3\n%s", got, main.out.String())
	}
	if out := w.file("GITHUB_OUTPUT"); !strings.Contains(out["role-arn"], ":role/buildrole/") {
		t.Errorf("outputs: %v", out)
	}
	// Later steps run the main step's private copy of BUILDROLE_BIN, which
	// the post step checks against the SHA-256 saved in the state.
	self, _ := os.Executable()
	want, _ := os.ReadFile(self)
	copied := w.file("GITHUB_STATE")["buildrole-bin"]
	got, _ := os.ReadFile(copied)
	if b, _ := os.ReadFile(filepath.Join(w.dir, "github_path")); string(b) != filepath.Dir(copied)+"\n" || !bytes.Equal(got, want) {
		t.Errorf("GITHUB_PATH = %q, want the directory of %q, a copy of BUILDROLE_BIN", b, copied)
	}

	w.postEnv()
	post := newNodeStep(t, w, "post.js", nil)
	if code := post.run(t); code != cli.ExitOK {
		t.Fatalf("post step: exit %d\n%s", code, post.out.String())
	}
	if left := w.leftovers(); len(left) != 0 {
		t.Errorf("after the post step: %v\n%s", left, post.out.String())
	}
}

// Bad input: the step fails with buildrole's exit code and its message.
func TestNodeActionPassesTheExitCodeOn(t *testing.T) {
	w := newWorld(t)
	main := newNodeStep(t, w, "main.js", map[string]string{"INPUT_TTL": "soon"})
	if code := main.run(t); code != cli.ExitUsage {
		t.Fatalf("exit %d, want %d\n%s", code, cli.ExitUsage, main.out.String())
	}
	if !strings.Contains(main.out.String(), `::error::buildrole up: invalid input; nothing was created:%0Ainput "ttl"`) {
		t.Errorf("output:\n%s", main.out.String())
	}
}

// A cancelled job: the runner sends SIGINT to node only; buildrole gets it
// and rolls back what it had created.
func TestNodeActionCancelledMidwayRollsBack(t *testing.T) {
	w := newWorld(t)
	w.srv.SetLatency(200 * time.Millisecond)
	main := newNodeStep(t, w, "main.js", nil)
	if err := main.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(w.leftovers()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("up created nothing within 30 s\n%s", main.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := main.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := main.wait(t)
	if code != cli.ExitFailed {
		t.Errorf("exit %d, want %d (failed, everything removed)\n%s", code, cli.ExitFailed, main.out.String())
	}
	if left := w.leftovers(); len(left) != 0 {
		t.Errorf("left behind after the cancellation: %v\n%s", left, main.out.String())
	}
}
