package cli_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/cli"
)

// flagsOf lists the flags a -h output names.
func flagsOf(help string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(help, -1) {
		out = append(out, m[1])
	}
	return out
}

// Each subcommand lists only its own flags, on stdout, exit 0.
func TestEachCommandHasItsOwnFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cmd       string
		want, not []string
	}{
		{"up", []string{"aws-region", "role-to-assume", "template", "state-file", "env-file", "dry-run", "endpoint-url", "debug"}, []string{"mode", "sweep-pr", "older-than", "concurrency"}},
		{"down", []string{"state-file", "endpoint-url", "retry-max-attempts", "debug", "role-to-assume"}, []string{"template", "ttl", "tags", "dry-run", "json", "env-file", "mode", "scope"}},
		{"sweep", []string{"older-than", "pr", "repository", "run-id", "expired", "path", "dry-run", "json", "endpoint-url"}, []string{"sweep-older-than", "sweep-pr", "sweep-repository", "sweep-run-id", "template", "state-file", "mode", "ttl"}},
		{"policy", []string{"aws-region", "template", "scope", "json"}, []string{"state-file", "endpoint-url", "env-file", "mode", "dry-run"}},
		{"exec", []string{"state-file", "template", "aws-region", "template-vars", "extra-policy", "report", "record", "credentials", "endpoint-url"}, []string{"env-file", "dry-run", "json", "mode", "role-to-assume", "ttl"}},
		{"lint", []string{"trust", "allowed-passrole"}, []string{"aws-region"}},
		{"bootstrap", []string{"repository", "account-id", "format"}, []string{"aws-region", "state-file"}},
		{"demo", []string{"json"}, []string{"aws-region"}},
		{"version", nil, []string{"json", "aws-region"}},
	}
	for _, tc := range cases {
		t.Run(tc.cmd, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, tc.cmd, "-h")
			if code != cli.ExitOK || stderr != "" {
				t.Fatalf("%s -h: exit %d, stderr %q", tc.cmd, code, stderr)
			}
			if !strings.HasPrefix(stdout, "Usage: buildrole "+tc.cmd) {
				t.Errorf("%s -h does not start with its usage:\n%s", tc.cmd, stdout)
			}
			got := flagsOf(stdout)
			for _, f := range tc.want {
				if !slices.Contains(got, f) {
					t.Errorf("%s -h lacks --%s; has %v", tc.cmd, f, got)
				}
			}
			for _, f := range tc.not {
				if slices.Contains(got, f) {
					t.Errorf("%s -h lists --%s, which it does not use", tc.cmd, f)
				}
			}
			if len(got) > 30 {
				t.Errorf("%s -h lists %d flags", tc.cmd, len(got))
			}
		})
	}
}

// A flag a command does not take is refused in one line and a hint, before
// anything else happens.
func TestUnknownFlagIsOneLine(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"down", "--template", "/nope", "--ttl", "99y"},
		{"sweep", "--sweep-older-than", "1h"},
		{"up", "--nope"},
		{"policy", "--state-file", "x"},
		{"demo", "--nope"},
		{"exec", "--nope", "--", "true"},
		{"version", "--nope"},
		{"lint", "--nope", "f.json"},
		{"bootstrap", "--nope"},
		{"down", "extra-argument"},
	} {
		code, stdout, stderr := runMain(t, args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code != cli.ExitUsage || stdout != "" || len(lines) != 2 || lines[1] != "Run 'buildrole "+args[0]+" -h' for its flags." {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", args, code, stdout, stderr)
		}
		if !strings.HasPrefix(lines[0], "buildrole "+args[0]+": ") {
			t.Errorf("%v: first line %q does not name the command", args, lines[0])
		}
	}
}

// On the command line errors name the flag the user typed; in the action,
// the input.
func TestErrorsNameFlagsOnTheCommandLine(t *testing.T) {
	t.Parallel()
	code, _, stderr := runMain(t, "up", "--aws-region", "mars-1", "--ttl", "99y", "--state-file", t.TempDir()+"/s.json")
	if code != cli.ExitUsage || !strings.Contains(stderr, "--aws-region: ") || !strings.Contains(stderr, "--ttl: ") || strings.Contains(stderr, `input "`) {
		t.Errorf("up: exit %d:\n%s", code, stderr)
	}
	code, _, stderr = runMain(t, "sweep", "--aws-region", "us-east-1", "--pr", "7", "--older-than", "soon")
	if code != cli.ExitUsage || !strings.Contains(stderr, "--pr needs --repository") || !strings.Contains(stderr, `--older-than: "soon"`) {
		t.Errorf("sweep: exit %d:\n%s", code, stderr)
	}
	w := newWorld(t)
	w.set("INPUT_TTL", "99y")
	code, stdout, _ := w.run(t.Context(), "up")
	if code != cli.ExitUsage || !strings.Contains(stdout, `input "ttl"`) || strings.Contains(stdout, "--ttl") {
		t.Errorf("action: exit %d:\n%s", code, stdout)
	}
}
