package ghaction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/sethvargo/go-githubactions"
)

// Runner talks to the GitHub Actions runner through an injected
// environment and writer, so tests run it in-process.
type Runner struct {
	gha    *githubactions.Action
	getenv func(string) string
	mu     sync.Mutex
	out    io.Writer
	err    error // first write error to out

	// TokenAttempts bounds the tries at fetching the OIDC token (the
	// runner's token service has transient failures). Default 4.
	TokenAttempts int
	// TokenBackoff is the first wait between tries; it doubles, with
	// jitter. Default 1s.
	TokenBackoff time.Duration

	lastStatus atomic.Int32 // of the last token response
}

// New returns a Runner. getenv defaults to os.Getenv, out to os.Stdout,
// client to http.DefaultClient.
func New(getenv func(string) string, out io.Writer, client *http.Client) *Runner {
	if getenv == nil {
		getenv = os.Getenv
	}
	if out == nil {
		out = os.Stdout
	}
	if client == nil {
		client = http.DefaultClient
	}
	r := &Runner{getenv: getenv, out: out}
	// The library reports a failed token request without its status; the
	// transport keeps it, to tell a transient failure from a refusal.
	observed := *client
	observed.Transport = statusRecorder{next: client.Transport, last: &r.lastStatus}
	r.gha = githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(io.Discard), githubactions.WithHTTPClient(&observed))
	return r
}

// statusRecorder remembers the status of the last response (0: none).
type statusRecorder struct {
	next http.RoundTripper
	last *atomic.Int32
}

func (s statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	next := s.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		s.last.Store(0)
		return nil, err
	}
	s.last.Store(int32(resp.StatusCode))
	return resp, nil
}

// InActions reports whether the process runs as a GitHub Action step.
func InActions(getenv func(string) string) bool { return getenv("GITHUB_ACTIONS") == "true" }

// Input returns the action input `name` (INPUT_<NAME>), trimmed.
func (r *Runner) Input(name string) string { return strings.TrimSpace(r.gha.GetInput(name)) }

// State returns what the main step saved under key (STATE_<key>).
func (r *Runner) State(key string) string { return r.getenv("STATE_" + key) }

func (r *Runner) command(name, msg string, props map[string]string) {
	c := &githubactions.Command{Name: name, Message: msg, Properties: props}
	r.writeLine(c.String())
}

func (r *Runner) writeLine(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := io.WriteString(r.out, s+"\n"); err != nil && r.err == nil {
		r.err = err
	}
}

// Err is the first error writing to the log, if any.
func (r *Runner) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Mask hides a secret in every later log line. Each line of a multi-line
// value is masked on its own, as the runner matches line by line. Outside
// Actions a mask command would only print the secret, so it is skipped.
func (r *Runner) Mask(secret string) {
	if !InActions(r.getenv) {
		return
	}
	for _, line := range strings.FieldsFunc(secret, func(c rune) bool { return c == '\n' || c == '\r' }) {
		if line = strings.TrimSpace(line); line != "" {
			r.command("add-mask", line, nil)
		}
	}
}

// Group starts a collapsible group in the log.
func (r *Runner) Group(title string) { r.command("group", title, nil) }

// EndGroup ends the current group.
func (r *Runner) EndGroup() { r.command("endgroup", "", nil) }

// Debugf logs a line shown only with step debug logging.
func (r *Runner) Debugf(format string, args ...any) {
	r.command("debug", fmt.Sprintf(format, args...), nil)
}

// Warningf logs a warning annotation.
func (r *Runner) Warningf(format string, args ...any) {
	r.command("warning", fmt.Sprintf(format, args...), nil)
}

// Errorf logs an error annotation.
func (r *Runner) Errorf(format string, args ...any) {
	r.command("error", fmt.Sprintf(format, args...), nil)
}

// Printf logs plain text. A line that would read as a workflow command is
// defused, since the text may carry input values.
func (r *Runner) Printf(format string, args ...any) {
	// The runner ends a log line at \r too.
	text := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(fmt.Sprintf(format, args...))
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		r.writeLine(Defuse(line))
	}
}

// Defuse keeps a log line from being parsed as a workflow command.
func Defuse(line string) string {
	// Old-style ##[cmd] commands are found anywhere in a line.
	line = strings.ReplaceAll(line, "##[", "##%5B")
	if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") {
		return "  " + strings.Replace(line, ":", "%3A", 1)
	}
	return line
}

// ErrDelimiter means a value contained the file-command delimiter.
var ErrDelimiter = errors.New("value contains the file command delimiter")

// fileCommand appends name=value to the file named by env (GITHUB_OUTPUT,
// GITHUB_ENV, GITHUB_STATE) in the heredoc form with a random delimiter, so
// no value can end the entry early and inject another. A name may not hold
// "<": the runner splits at the first "<<", so "a<" would swallow the
// delimiter.
func (r *Runner) fileCommand(env, name, value string) error {
	path := r.getenv(env)
	if path == "" {
		return fmt.Errorf("%s is not set: not running in a GitHub Actions step", env)
	}
	if name == "" || strings.ContainsAny(name, "\r\n=<") {
		return fmt.Errorf("write %s: invalid name %q", env, name)
	}
	delim := "ghadelimiter_" + uuid.NewString()
	if strings.Contains(name, delim) || strings.Contains(value, delim) {
		return fmt.Errorf("write %s %q: %w", env, name, ErrDelimiter)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", env, err)
	}
	_, err = fmt.Fprintf(f, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s %q: %w", env, name, err)
	}
	return nil
}

// SetOutput sets a step output.
func (r *Runner) SetOutput(name, value string) error {
	return r.fileCommand("GITHUB_OUTPUT", name, value)
}

// SetEnv exports an environment variable to later steps.
func (r *Runner) SetEnv(name, value string) error { return r.fileCommand("GITHUB_ENV", name, value) }

// SaveState saves a value for the post step (STATE_<name>).
func (r *Runner) SaveState(name, value string) error {
	return r.fileCommand("GITHUB_STATE", name, value)
}

// AddSummary appends markdown to the job summary.
func (r *Runner) AddSummary(markdown string) error {
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write step summary: %w", err)
	}
	_, err = io.WriteString(f, markdown+"\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ErrNoIDToken means the job cannot mint an OIDC token.
var ErrNoIDToken = errors.New("the job has no OIDC token: add `permissions: id-token: write` to the workflow or job " +
	"(pull requests from forks never get one; use role-to-assume only for trusted events, or the default credential chain on a self-hosted runner)")

// IDToken fetches the job's OIDC token for audience and masks it.
func (r *Runner) IDToken(ctx context.Context, audience string) (string, error) {
	if r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || r.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
		return "", ErrNoIDToken
	}
	attempts, wait := r.TokenAttempts, r.TokenBackoff
	if attempts <= 0 {
		attempts = 4
	}
	if wait <= 0 {
		wait = time.Second
	}
	var tok string
	var err error
	for i := 1; ; i++ {
		if tok, err = r.gha.GetIDToken(ctx, audience); err == nil {
			break
		}
		// Only a failure that may pass is worth waiting for: no answer, a
		// server error or throttling. A refusal (401, 403, 404) stays.
		st := r.lastStatus.Load()
		transient := st == 0 || st == http.StatusTooManyRequests || st >= 500
		if !transient {
			return "", fmt.Errorf("get the job's OIDC token from ACTIONS_ID_TOKEN_REQUEST_URL (%s): %w", hostOf(r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL")), err)
		}
		if i == attempts || ctx.Err() != nil {
			return "", fmt.Errorf("get the job's OIDC token from ACTIONS_ID_TOKEN_REQUEST_URL (%s), %d %s: %w", hostOf(r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL")), i, plural(i, "try", "tries"), err)
		}
		r.Printf("the OIDC token request failed (%v); trying again in %s", err, wait)
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("get the job's OIDC token: %w", context.Cause(ctx))
		case <-t.C:
		}
		wait *= 2
	}
	if tok == "" {
		return "", fmt.Errorf("get the job's OIDC token: empty token in the response")
	}
	r.Mask(tok)
	return tok, nil
}

// hostOf names an endpoint by scheme and host, never its query (which may
// carry a token).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "an unparsable URL"
	}
	return u.Scheme + "://" + u.Host
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ParseFileCommands reads a GITHUB_OUTPUT/ENV/STATE file: name=value lines
// and name<<DELIM heredocs. Tests and the demo use it to see what later
// steps would see.
func ParseFileCommands(data string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			j := i + 1
			for ; j < len(lines) && lines[j] != delim; j++ {
				val = append(val, lines[j])
			}
			if j == len(lines) {
				return nil, fmt.Errorf("line %d: %q is never closed by %q", i+1, name, delim)
			}
			out[name] = strings.Join(val, "\n")
			i = j
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: not name=value", i+1)
		}
		out[name] = val
	}
	return out, nil
}

// SortedKeys returns m's keys in order.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
