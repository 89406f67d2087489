package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/cli"
)

func TestSweepCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var ids []string
	for i := 0; i < 3; i++ {
		code, stdout, stderr := w.runCLI("up", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN,
			"--state-file", filepath.Join(w.dir, fmt.Sprintf("s%d.json", i)), "--json", "--ttl", "5m")
		if code != cli.ExitOK {
			t.Fatalf("up: %d %s %s", code, stdout, stderr)
		}
		var out map[string]string
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out["run-id"])
	}
	auth := []string{"--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN}

	// No filter: only expired runs, and none has expired.
	code, stdout, stderr := w.runCLI(append([]string{"sweep", "--json"}, auth...)...)
	if code != cli.ExitOK || len(w.leftovers()) != 9 {
		t.Fatalf("sweep: exit %d, %d left: %s %s", code, len(w.leftovers()), stdout, stderr)
	}
	// Dry run names the run and deletes nothing.
	code, stdout, _ = w.runCLI(append([]string{"sweep", "--run-id", ids[0], "--dry-run", "--json"}, auth...)...)
	if code != cli.ExitOK || !strings.Contains(stdout, "would-delete") || len(w.leftovers()) != 9 {
		t.Fatalf("dry run: exit %d: %s", code, stdout)
	}
	code, _, stderr = w.runCLI(append([]string{"sweep", "--run-id", ids[0]}, auth...)...)
	if code != cli.ExitOK || len(w.leftovers()) != 6 {
		t.Fatalf("sweep --run-id: exit %d, %d left: %s", code, len(w.leftovers()), stderr)
	}
	for _, arn := range w.leftovers() {
		if strings.Contains(arn, ids[0][:8]) {
			t.Errorf("%s survived", arn)
		}
	}
	code, _, _ = w.runCLI(append([]string{"sweep", "--pr", "42", "--repository", "acme/images"}, auth...)...)
	if code != cli.ExitOK || len(w.leftovers()) != 0 {
		t.Fatalf("sweep --pr: exit %d, left %v", code, w.leftovers())
	}
}

func TestSweepRejectsBadFiltersWithoutCalls(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--run-id", "not-a-uuid"},
		{"--pr", "abc"},
		{"--pr", "42"}, // without --repository
		{"--older-than", "soon"},
		{"--repository", "no-slash"},
		{"--path", "relative"},
		{"--aws-region", "mars-1"},
		{"--max-ttl", "forever"},
		{"--max-ttl", "31d"},
	} {
		t.Run(strings.Join(args, "="), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			full := append([]string{"sweep", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN}, args...)
			code, _, stderr := w.runCLI(full...)
			if code != cli.ExitUsage || !strings.Contains(stderr, "nothing was deleted") {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if n := len(w.srv.Requests()); n != 0 {
				t.Errorf("%d AWS calls, want 0", n)
			}
		})
	}
}

// The action with mode: sweep, as a nightly workflow runs it.
func TestActionSweepMode(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, stdout, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up: %s", stdout)
	}
	w.set("INPUT_MODE", "sweep")
	w.set("INPUT_SWEEP-PR", "42")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK || len(w.leftovers()) != 0 {
		t.Fatalf("sweep mode: exit %d, left %v:\n%s", code, w.leftovers(), stdout)
	}
}
