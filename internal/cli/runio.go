package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/safefile"
)

// maxStateFile bounds a state file; `buildrole up` writes well under 2 KiB.
const maxStateFile = 64 << 10

// runIO is where up and down read inputs and state and write results: the
// Actions runner's files, or flags and a state file.
type runIO interface {
	input(name string) string
	saveState(m map[string]string) error
	loadState() (map[string]string, bool, error)
	setOutput(name, value string) error
	setEnv(name, value string) error
	mask(secret string)
	group(title string)
	endGroup()
	printf(format string, args ...any)
	debugf(format string, args ...any)
	warnf(format string, args ...any)
	errorf(format string, args ...any)
	summary(md string) error
	token(ctx context.Context, audience string) (string, error)
	// precheck refuses a run whose state could not be saved safely.
	precheck() error
	// clearState forgets a run that is fully torn down.
	clearState() error
	finish() error
	// flags reports whether inputs came as command-line flags (errors then
	// name --flag, not the action input).
	flags() bool
}

// stateSource names where the state came from, for messages.
func stateSource(rio runIO, f *flags) string {
	if rio.flags() {
		return "state file " + f.stateFile
	}
	return "saved state (GITHUB_STATE)"
}

// inputName names an input as the user gave it.
func inputName(rio runIO, name string) string {
	if rio.flags() {
		return flagName(name)
	}
	return fmt.Sprintf("input %q", name)
}

// actionIO is the GitHub Actions runner.
type actionIO struct{ r *ghaction.Runner }

func (a actionIO) input(name string) string { return a.r.Input(name) }

func (a actionIO) saveState(m map[string]string) error {
	var errs []error
	for _, k := range ghaction.SortedKeys(m) {
		errs = append(errs, a.r.SaveState(k, m[k]))
	}
	return errors.Join(errs...)
}

func (a actionIO) loadState() (map[string]string, bool, error) {
	m := map[string]string{}
	for _, k := range run.StateKeys() {
		if v := a.r.State(k); v != "" {
			m[k] = v
		}
	}
	return m, len(m) > 0, nil
}

func (a actionIO) setOutput(n, v string) error { return a.r.SetOutput(n, v) }
func (a actionIO) setEnv(n, v string) error    { return a.r.SetEnv(n, v) }
func (a actionIO) mask(s string)               { a.r.Mask(s) }
func (a actionIO) group(t string)              { a.r.Group(t) }
func (a actionIO) endGroup()                   { a.r.EndGroup() }
func (a actionIO) printf(f string, args ...any) {
	a.r.Printf(f, args...)
}
func (a actionIO) debugf(f string, args ...any) { a.r.Debugf(f, args...) }
func (a actionIO) warnf(f string, args ...any)  { a.r.Warningf(f, args...) }
func (a actionIO) errorf(f string, args ...any) { a.r.Errorf(f, args...) }
func (a actionIO) summary(md string) error      { return a.r.AddSummary(md) }
func (a actionIO) token(ctx context.Context, aud string) (string, error) {
	return a.r.IDToken(ctx, aud)
}
func (a actionIO) finish() error { return a.r.Err() }
func (a actionIO) flags() bool   { return false }

// precheck: each job step has its own GITHUB_STATE.
func (a actionIO) precheck() error { return nil }

// clearState empties every key, so that a later step (the post step after
// an up that rolled back) finds no run to wait for.
func (a actionIO) clearState() error {
	m := map[string]string{}
	for _, k := range run.StateKeys() {
		m[k] = ""
	}
	return a.saveState(m)
}

// cliIO is a terminal: flags in, a state file, results on stdout, logs on
// stderr.
type cliIO struct {
	inActions bool // a job step: runner commands count, so output is defused
	f         *flags
	stdout    io.Writer
	stderr    io.Writer
	runner    *ghaction.Runner // for an OIDC token when the CLI runs in a job step
	outputs   map[string]string
	env       map[string]string
}

func (c *cliIO) input(name string) string { return c.f.input(name) }
func (c *cliIO) flags() bool              { return true }

func (c *cliIO) saveState(m map[string]string) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(c.f.stateFile, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

func (c *cliIO) loadState() (map[string]string, bool, error) {
	b, err := safefile.Read(c.f.stateFile, maxStateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read state file: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false, fmt.Errorf("read state file %s: want the JSON object `buildrole up` writes: %w", c.f.stateFile, err)
	}
	return m, len(m) > 0, nil
}

// precheck refuses to overwrite the state of a run that was not torn down:
// its resources would lose their only record until sweep.
func (c *cliIO) precheck() error {
	_, ok, err := c.loadState()
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("state file %s already holds a run: run `buildrole down --state-file %s` first, or pass another --state-file", shellQuote(c.f.stateFile), shellQuote(c.f.stateFile))
	}
	return nil
}

func (c *cliIO) clearState() error {
	if err := os.Remove(c.f.stateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove state file: %w", err)
	}
	// And the policy up kept beside it for exec.
	if err := os.Remove(policyBeside(c.f.stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the policy beside the state file: %w", err)
	}
	return nil
}

func (c *cliIO) setOutput(n, v string) error {
	if c.outputs == nil {
		c.outputs = map[string]string{}
	}
	c.outputs[n] = v
	return nil
}

func (c *cliIO) setEnv(n, v string) error {
	if c.env == nil {
		c.env = map[string]string{}
	}
	c.env[n] = v
	return nil
}

// mask registers a secret with the runner when the CLI runs in a job step;
// elsewhere it does nothing.
func (c *cliIO) mask(s string) { c.runner.Mask(s) }
func (c *cliIO) group(t string) {
	fmt.Fprintf(c.stderr, "== %s\n", t)
}
func (c *cliIO) endGroup() {}
func (c *cliIO) printf(f string, args ...any) {
	c.log("", f, args...)
}

// log writes to stderr, defusing workflow commands when in a job step.
func (c *cliIO) log(prefix, f string, args ...any) {
	text := prefix + fmt.Sprintf(strings.TrimRight(f, "\n"), args...)
	if c.inActions {
		text = defuseAll(text)
	}
	fmt.Fprintln(c.stderr, text)
}
func (c *cliIO) debugf(f string, args ...any) {
	if c.f.debug {
		c.log("debug: ", f, args...)
	}
}
func (c *cliIO) warnf(f string, args ...any)  { c.log("warning: ", f, args...) }
func (c *cliIO) errorf(f string, args ...any) { c.log("error: ", f, args...) }
func (c *cliIO) summary(string) error         { return nil }
func (c *cliIO) token(ctx context.Context, aud string) (string, error) {
	return c.runner.IDToken(ctx, aud)
}

// finish prints the outputs and writes the environment, with the
// credentials, to --env-file (mode 0600) when one was asked for. Secrets
// never go to stdout.
func (c *cliIO) finish() error {
	if c.f.envFile != "" && len(c.env) > 0 {
		var b strings.Builder
		keys := make([]string, 0, len(c.env))
		for k := range c.env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(c.env[k]))
		}
		// WriteFile keeps an existing file's mode: start afresh so the
		// credentials are never readable by others.
		if err := os.Remove(c.f.envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("write env file: %w", err)
		}
		if err := os.WriteFile(c.f.envFile, []byte(b.String()), 0o600); err != nil {
			return fmt.Errorf("write env file: %w", err)
		}
	}
	if len(c.outputs) == 0 {
		return nil
	}
	var b strings.Builder
	if c.f.json {
		j, _ := json.MarshalIndent(c.outputs, "", "  ")
		b.Write(j)
	} else {
		for _, k := range ghaction.SortedKeys(c.outputs) {
			if k != "policy" {
				fmt.Fprintf(&b, "%s: %s\n", k, c.outputs[k])
			}
		}
	}
	return writeData(c.stdout, c.inActions, b.String())
}

// defuseAll defuses every line of text.
func defuseAll(text string) string {
	lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text), "\n")
	for i, l := range lines {
		lines[i] = ghaction.Defuse(l)
	}
	return strings.Join(lines, "\n")
}

// writeData prints a command's result (JSON, a plan, a report). Inside a
// job step the runner reads stdout for workflow commands, and results can
// carry input values, so each line is defused there.
func writeData(w io.Writer, inActions bool, text string) error {
	text = strings.TrimRight(text, "\n")
	if inActions {
		text = defuseAll(text)
	}
	_, err := fmt.Fprintln(w, text)
	return err
}

// shellQuote quotes s for a POSIX shell; words of safe characters stay
// bare so that suggested commands read naturally.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@=+,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
