package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/config"
)

// action.yml, the inputs the code reads and the README's table agree.
func TestActionYAMLAndREADMEMatchTheInputs(t *testing.T) {
	t.Parallel()
	var want []string
	defaults := map[string]string{}
	for _, in := range config.Inputs {
		want = append(want, in.Name)
		defaults[in.Name] = in.Default
	}
	action, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	sec := string(action)
	sec = sec[strings.Index(sec, "\ninputs:\n"):strings.Index(sec, "\noutputs:\n")]
	var got []string
	var current string
	for _, line := range strings.Split(sec, "\n") {
		if m := regexp.MustCompile(`^  ([a-z-]+):$`).FindStringSubmatch(line); m != nil {
			current = m[1]
			got = append(got, current)
		}
		if d, ok := strings.CutPrefix(line, "    default: "); ok && strings.Trim(d, `"`) != defaults[current] {
			t.Errorf("action.yml default of %s = %s, code says %q", current, d, defaults[current])
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("action.yml inputs (-code +action.yml):\n%s", diff)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
		got = append(got, m[1])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README inputs table (-code +README):\n%s", diff)
	}
	for _, out := range []string{"role-name", "role-arn", "instance-role-name", "instance-role-arn", "instance-profile-name", "instance-profile-arn", "run-id", "expires-at", "policy", "aws-account-id"} {
		if !strings.Contains(string(action), "\n  "+out+":\n") {
			t.Errorf("action.yml lacks output %s", out)
		}
	}
}

// The image's entry points are the binary under the names buildrole-up and
// buildrole-down; under any other name it is just the program.
func TestEntryPointNamePicksTheSubcommand(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	code := cli.Main(t.Context(), []string{"/buildrole-version"}, cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
	if code != cli.ExitOK || !strings.HasPrefix(out.String(), "buildrole ") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	// A release asset downloaded under its own name is just the program.
	for _, args := range [][]string{{"/tmp/buildrole-linux-amd64", "version"}, {"buildrole_1.2.3_linux_amd64", "version"}, {"buildrole.exe", "version"}, {"buildrole-version.exe"}} {
		out.Reset()
		code := cli.Main(t.Context(), args, cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
		if code != cli.ExitOK || !strings.HasPrefix(out.String(), "buildrole ") {
			t.Errorf("%q: exit %d: %s", args, code, out.String())
		}
	}
	w := newWorld(t)
	code, stdout, _ := func() (int, string, string) {
		var o strings.Builder
		c := cli.Main(t.Context(), []string{"/buildrole-down"}, cli.Env{Stdout: &o, Stderr: &o, Getenv: w.getenv})
		return c, o.String(), ""
	}()
	if code != cli.ExitOK || !strings.Contains(stdout, "nothing to do") {
		t.Fatalf("buildrole-down: exit %d: %s", code, stdout)
	}
}

// Every input name the code reads is in the table (and so in action.yml and
// the README).
func TestCodeReadsOnlyDocumentedInputs(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`(?:\binput|\.str|\.intRange|\.boolean|\.oneOf|\.duration|\.vars|p\.lint)\("([a-z-]+)"`)
	known := map[string]bool{}
	for _, in := range config.Inputs {
		known[in.Name] = true
	}
	files, _ := filepath.Glob("../config/*.go")
	more, _ := filepath.Glob("*.go")
	seen := 0
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			if !known[m[1]] {
				t.Errorf("%s reads input %q, which action.yml and the README do not list", f, m[1])
			}
		}
	}
	if seen < 20 {
		t.Errorf("found only %d input reads: the pattern no longer matches the code", seen)
	}
}

// quickStartMaxLines is one screen: README's first section, the path from
// nothing to a first real build, fits in it.
const quickStartMaxLines = 60

// README opens with the quick start, on one screen, and it holds each step
// of the first hour: prerequisites, the bootstrap command, deploying its
// output, the template, the workflow (working at any ref), the first run.
func TestREADMEQuickStartFitsOneScreen(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	first := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "## ") {
			first = i
			break
		}
	}
	if first < 0 || !strings.HasPrefix(lines[first], "## Quick start") {
		t.Fatalf("README's first section is %q, want the quick start", lines[max(first, 0)])
	}
	end := first + 1
	for end < len(lines) && !strings.HasPrefix(lines[end], "## ") {
		end++
	}
	for end > first && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	if n := end - first; n > quickStartMaxLines {
		t.Errorf("the quick start is %d lines, want at most %d (one screen)", n, quickStartMaxLines)
	}
	section := strings.Join(lines[first:end], "\n")
	for _, want := range []string{
		"AWS account", "administrator", "repository",
		"buildrole bootstrap --repository", "aws cloudformation deploy", "--capabilities CAPABILITY_NAMED_IAM", "terraform apply",
		"iam_instance_profile = var.iam_instance_profile",
		"id-token: write", "uses: buildrole/buildrole@", "actions/setup-go", "buildrole exec -- packer build",
		"The first run", "dry-run: true",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the quick start does not say %q", want)
		}
	}
	// Every key under the action's with: is an input.
	known := map[string]bool{}
	for _, in := range config.Inputs {
		known[in.Name] = true
	}
	inWith := false
	for _, l := range lines[first:end] {
		switch {
		case strings.Contains(l, "uses: buildrole/buildrole@"):
			inWith = false
		case strings.TrimSpace(l) == "with:":
			inWith = true
		case inWith && strings.HasPrefix(l, "          ") && strings.Contains(l, ":"):
			key := strings.TrimSpace(l[:strings.Index(l, ":")])
			if !known[key] {
				t.Errorf("the quick start's workflow passes %q, which is no input", key)
			}
		case inWith:
			inWith = false
		}
	}
}
