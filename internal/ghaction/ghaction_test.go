package ghaction_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/buildrole/buildrole/internal/ghaction"
)

// fixture is one simulated Actions step: a map-backed environment whose
// file commands point into a temporary directory, and a captured log.
type fixture struct {
	env map[string]string
	out *bytes.Buffer
	r   *ghaction.Runner
}

var fileEnvs = []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"}

func newFixture(t *testing.T, extra map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	for _, k := range fileEnvs {
		env[k] = filepath.Join(dir, strings.ToLower(k))
	}
	for k, v := range extra {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	f := &fixture{env: env, out: &bytes.Buffer{}}
	f.r = ghaction.New(func(k string) string { return env[k] }, f.out, nil)
	return f
}

// raw is the content of the file named by env var k ("" if never written).
func (f *fixture) raw(t *testing.T, k string) string {
	t.Helper()
	b, err := os.ReadFile(f.env[k])
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parsed is what a later step would see from the file named by env var k.
func (f *fixture) parsed(t *testing.T, k string) map[string]string {
	t.Helper()
	m, err := ghaction.ParseFileCommands(f.raw(t, k))
	if err != nil {
		t.Fatalf("ParseFileCommands(%s): %v\n%q", k, err, f.raw(t, k))
	}
	return m
}

// setter is one of the three file commands, with the env var it writes.
type setter struct {
	env string
	set func(r *ghaction.Runner, name, value string) error
}

var setters = []setter{
	{"GITHUB_OUTPUT", (*ghaction.Runner).SetOutput},
	{"GITHUB_ENV", (*ghaction.Runner).SetEnv},
	{"GITHUB_STATE", (*ghaction.Runner).SaveState},
}

// --- a model of how the runner reads a step's log --------------------------

// runnerLines splits a log as the runner does (StreamReader.ReadLine):
// "\r\n", "\r" and "\n" each end a line.
func runnerLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// registered are the runner's command names (ActionCommandManager).
var registered = map[string]bool{
	"set-env": true, "set-output": true, "save-state": true, "add-mask": true, "add-path": true,
	"add-matcher": true, "remove-matcher": true, "debug": true, "warning": true, "error": true,
	"notice": true, "group": true, "endgroup": true, "echo": true, "stop-commands": true,
}

type logCommand struct{ name, data string }

// runnerCommand reports whether the runner would execute line as a
// workflow command: first the `::name props::data` form after leading
// whitespace (TryParseV2), then the legacy `##[name props]data` form
// anywhere in the line (TryParse), as ActionCommand.cs does.
func runnerCommand(line string) (logCommand, bool) {
	unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace
	if m := strings.TrimLeftFunc(line, unicode.IsSpace); strings.HasPrefix(m, "::") { // .NET TrimStart
		if end := strings.Index(m[2:], "::"); end >= 0 {
			info := m[2 : 2+end]
			name, _, _ := strings.Cut(info, " ")
			if registered[strings.ToLower(name)] {
				return logCommand{name, unescape(m[2+end+2:])}, true
			}
		}
	}
	if i := strings.Index(line, "##["); i >= 0 {
		if rb := strings.Index(line[i:], "]"); rb >= 0 {
			name, _, _ := strings.Cut(line[i+3:i+rb], " ")
			if registered[strings.ToLower(name)] {
				return logCommand{name, unescape(line[i+rb+1:])}, true
			}
		}
	}
	return logCommand{}, false
}

// runnerCommands are the workflow commands the runner would execute from log.
func runnerCommands(log string) []logCommand {
	var cmds []logCommand
	for _, l := range runnerLines(log) {
		if c, ok := runnerCommand(l); ok {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// check ends a case that collected problems.
func check(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

const (
	fakeDelimiter  = "ghadelimiter_6f1c1b3e-57a4-4a59-9d5e-2b1f0c9b7a11"
	fileCmdNameKey = "name"
)

// --- file commands ---------------------------------------------------------

func TestFileCommandsRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
	}{
		{name: "single line", value: "arn:aws:iam::123456789012:role/buildrole/x"},
		{name: "multi line", value: "{\n  \"Version\": \"2012-10-17\"\n}"},
		{name: "empty", value: ""},
		{name: "only newline", value: "\n"},
		{name: "leading and trailing newline", value: "\nx\n"},
		{name: "equals and heredoc marks inline", value: "a=b<<c"},
		{name: "newline then key=value", value: "x\nother=injected"},
		{name: "newline then heredoc", value: "x\nother<<EOF\ninjected\nEOF\n"},
		{name: "foreign delimiter", value: "x\n" + fakeDelimiter + "\nother=injected\n" + fakeDelimiter},
		{name: "delimiter prefix alone", value: "ghadelimiter_\nother=injected"},
		{name: "set-output command", value: "::set-output name=x::y"},
		{name: "add-mask command", value: "::add-mask::\n::add-mask::secret"},
		{name: "lone CR", value: "a\rother=injected"},
		{name: "CRLF", value: "line1\r\nother=injected\r\n"},
		{name: "unicode and spaces", value: "  héllo wörld ✓  "},
	}
	for _, tc := range tests {
		for _, s := range setters {
			t.Run(tc.name+"/"+s.env, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, nil)
				for _, kv := range [][2]string{{"before", "1"}, {fileCmdNameKey, tc.value}, {"after", "2"}} {
					if err := s.set(f.r, kv[0], kv[1]); err != nil {
						t.Fatalf("set %s: %v", kv[0], err)
					}
				}
				var problems []string
				want := map[string]string{"before": "1", fileCmdNameKey: tc.value, "after": "2"}
				if diff := cmp.Diff(want, f.parsed(t, s.env)); diff != "" {
					problems = append(problems, fmt.Sprintf("%s parsed back (-want +got):\n%s", s.env, diff))
				}
				for _, other := range fileEnvs {
					if other != s.env && f.raw(t, other) != "" {
						problems = append(problems, fmt.Sprintf("%s written by a %s command", other, s.env))
					}
				}
				if f.out.Len() != 0 {
					problems = append(problems, fmt.Sprintf("file command wrote to the log: %q", f.out))
				}
				check(t, problems)
			})
		}
	}
}

var heredocStart = regexp.MustCompile(`^([^\n]+)<<(ghadelimiter_(.+))$`)

func TestFileCommandsUseFreshRandomDelimiters(t *testing.T) {
	t.Parallel()
	for _, s := range setters {
		t.Run(s.env, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			for _, name := range []string{"a", "b", "c"} {
				if err := s.set(f.r, name, "v"); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]bool{}
			for _, line := range strings.Split(f.raw(t, s.env), "\n") {
				m := heredocStart.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				if _, err := uuid.Parse(m[3]); err != nil {
					t.Errorf("delimiter %q is not ghadelimiter_<uuid>: %v", m[2], err)
				}
				if seen[m[2]] {
					t.Errorf("delimiter %q used twice", m[2])
				}
				seen[m[2]] = true
			}
			if len(seen) != 3 {
				t.Errorf("got %d heredoc entries, want 3:\n%s", len(seen), f.raw(t, s.env))
			}
		})
	}
}

func TestFileCommandsRefuseInvalidNames(t *testing.T) {
	t.Parallel()
	names := []string{"", "a=b", "=", "a\nb", "a\n", "a\rb", "a<<b", "<<EOF", "x<<" + fakeDelimiter}
	for _, name := range names {
		for _, s := range setters {
			t.Run(fmt.Sprintf("%q/%s", name, s.env), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, nil)
				err := s.set(f.r, name, "v")
				if err == nil {
					t.Fatalf("name %q accepted", name)
				}
				if !strings.Contains(err.Error(), s.env) {
					t.Errorf("error %q does not name %s", err, s.env)
				}
				if got := f.raw(t, s.env); got != "" {
					t.Errorf("%s written despite the error: %q", s.env, got)
				}
			})
		}
	}
}

func TestFileCommandsWithoutEnvFile(t *testing.T) {
	t.Parallel()
	for _, s := range setters {
		t.Run(s.env, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]string{s.env: ""})
			err := s.set(f.r, "k", "v")
			if err == nil || !strings.Contains(err.Error(), s.env) {
				t.Fatalf("got %v, want an error naming %s", err, s.env)
			}
		})
		t.Run(s.env+"/unwritable", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]string{s.env: t.TempDir()}) // a directory
			if err := s.set(f.r, "k", "v"); err == nil {
				t.Fatal("writing into a directory succeeded")
			}
		})
	}
}

func TestFileCommandsConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	want := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		name, value := fmt.Sprintf("k%02d", i), fmt.Sprintf("line %d\nsecond=%d", i, i)
		want[name] = value
		wg.Go(func() {
			f.r.Printf("writing %s", name)
			errs <- f.r.SetOutput(name, value)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, f.parsed(t, "GITHUB_OUTPUT")); diff != "" {
		t.Errorf("concurrent outputs (-want +got):\n%s", diff)
	}
	if n := len(runnerLines(f.out.String())); n != 32 {
		t.Errorf("got %d log lines, want 32", n)
	}
}

func TestParseFileCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    string
		want    map[string]string
		wantErr bool
	}{
		{name: "empty", data: "", want: map[string]string{}},
		{name: "k=v", data: "k=v\n", want: map[string]string{"k": "v"}},
		{name: "k=v without final newline", data: "a=1\nb=2", want: map[string]string{"a": "1", "b": "2"}},
		{name: "empty value", data: "k=\n", want: map[string]string{"k": ""}},
		{name: "value with = and <<", data: "k=a=b<<c\n", want: map[string]string{"k": "a=b<<c"}},
		{name: "heredoc", data: "k<<EOF\n1\n2\nEOF\n", want: map[string]string{"k": "1\n2"}},
		{name: "empty heredoc", data: "k<<EOF\nEOF\n", want: map[string]string{"k": ""}},
		{name: "delimiter must match the whole line", data: "k<<EOF\nEOFX\n EOF\nEOF\n", want: map[string]string{"k": "EOFX\n EOF"}},
		{name: "mixed, last wins", data: "a=1\nb<<X\nb\nX\na=3\n", want: map[string]string{"a": "3", "b": "b"}},
		{name: "unterminated heredoc", data: "k<<EOF\n1\n", wantErr: true},
		{name: "unterminated heredoc at end", data: "a=1\nk<<EOF", wantErr: true},
		{name: "not name=value", data: "garbage\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ghaction.ParseFileCommands(tc.data)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// --- log commands ----------------------------------------------------------

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secret  string
		actions string
		want    []string
	}{
		{name: "single line", secret: "AKIAEXAMPLE", actions: "true", want: []string{"AKIAEXAMPLE"}},
		{name: "multi line", secret: "l1\nl2\n\n  l3  \n", actions: "true", want: []string{"l1", "l2", "l3"}},
		{name: "CRLF", secret: "a1\r\nb2\r\n", actions: "true", want: []string{"a1", "b2"}},
		{name: "percent and command text", secret: "50%0A::error::x", actions: "true", want: []string{"50%0A::error::x"}},
		{name: "empty", secret: "", actions: "true"},
		{name: "blank lines only", secret: " \n\t\n", actions: "true"},
		{name: "lone CR", secret: "p1\rp2", actions: "true", want: []string{"p1", "p2"}},
		{name: "not in actions", secret: "AKIAEXAMPLE", actions: ""},
		{name: "not in actions (false)", secret: "l1\nl2", actions: "false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, map[string]string{"GITHUB_ACTIONS": tc.actions})
			f.r.Mask(tc.secret)
			var problems []string
			var got []string
			for _, l := range runnerLines(f.out.String()) {
				c, ok := runnerCommand(l)
				if !ok || c.name != "add-mask" {
					problems = append(problems, fmt.Sprintf("log line %q is not an add-mask command", l))
					continue
				}
				got = append(got, c.data)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				problems = append(problems, fmt.Sprintf("masked values (-want +got):\n%s\nlog: %q", diff, f.out))
			}
			if tc.actions != "true" && f.out.Len() != 0 {
				problems = append(problems, fmt.Sprintf("outside Actions the log has %q", f.out))
			}
			if err := f.r.Err(); err != nil {
				problems = append(problems, err.Error())
			}
			check(t, problems)
		})
	}
}

func TestPrintfDefusesWorkflowCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string
		plain bool // printed exactly as given
	}{
		{name: "plain", text: "creating role buildrole-x", plain: true},
		{name: "colons inside", text: "arn:aws:iam::123:role/x a::b", plain: true},
		{name: "hashes inside", text: "# step ## done [ok]", plain: true},
		{name: "error command", text: "::error::x"},
		{name: "set-output command", text: "::set-output name=x::y"},
		{name: "indented command", text: "    ::add-mask::x"},
		{name: "tab indented command", text: "\t::warning::x"},
		{name: "vertical tab indented command", text: "\v::error::x"},
		{name: "no-break space indented command", text: "\u00a0::error::x"},
		{name: "stop-commands", text: "::stop-commands::tok"},
		{name: "command on a later line", text: "ok\n::error::x\nfine"},
		{name: "CRLF lines", text: "ok\r\n::error::x\r\n"},
		{name: "lone CR", text: "ok\r::error::x"},
		{name: "legacy command at start", text: "##[error]x"},
		{name: "legacy command inside", text: "tag value ##[add-mask]x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			f.r.Printf("%s", tc.text)
			log := f.out.String()
			var problems []string
			if cmds := runnerCommands(log); len(cmds) != 0 {
				problems = append(problems, fmt.Sprintf("Printf(%q) logged %q; the runner runs %v", tc.text, log, cmds))
			}
			if tc.plain && log != tc.text+"\n" {
				problems = append(problems, fmt.Sprintf("plain text changed: got %q, want %q", log, tc.text+"\n"))
			}
			if !strings.HasSuffix(log, "\n") {
				problems = append(problems, fmt.Sprintf("log %q does not end the line", log))
			}
			check(t, problems)
		})
	}
}

func TestDefuse(t *testing.T) {
	t.Parallel()
	for _, line := range []string{"", "plain", "a::b", "x ::error::y", "ends with ::"} {
		if got := ghaction.Defuse(line); got != line {
			t.Errorf("Defuse(%q) = %q, want it unchanged", line, got)
		}
	}
	for _, line := range []string{"::error::x", "  ::debug::x", "::endgroup::"} {
		got := ghaction.Defuse(line)
		if _, ok := runnerCommand(got); ok {
			t.Errorf("Defuse(%q) = %q is still a command", line, got)
		}
		if !strings.Contains(got, strings.TrimLeft(line, " ")[1:]) {
			t.Errorf("Defuse(%q) = %q lost the text", line, got)
		}
	}
}

func TestAnnotationsAreOneEscapedLine(t *testing.T) {
	t.Parallel()
	msgs := []string{
		"plain",
		"100% done, %d literal",
		"a\rb",
		"a\nb",
		"x\n::error::injected",
		"x\r\n::add-mask::y\r\n",
		"%0A and %25 and %0D literally",
		"::set-output name=a::b",
		"##[error]x",
		"",
	}
	calls := []struct {
		cmd string
		log func(r *ghaction.Runner, msg string)
	}{
		{"debug", func(r *ghaction.Runner, m string) { r.Debugf("%s", m) }},
		{"warning", func(r *ghaction.Runner, m string) { r.Warningf("%s", m) }},
		{"error", func(r *ghaction.Runner, m string) { r.Errorf("%s", m) }},
		{"group", (*ghaction.Runner).Group},
	}
	for _, c := range calls {
		for _, msg := range msgs {
			t.Run(fmt.Sprintf("%s/%q", c.cmd, msg), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, nil)
				c.log(f.r, msg)
				lines := runnerLines(f.out.String())
				if len(lines) != 1 {
					t.Fatalf("one call logged %d lines: %q", len(lines), f.out)
				}
				got, ok := runnerCommand(lines[0])
				if !ok {
					t.Fatalf("%q is not a workflow command", lines[0])
				}
				if want := (logCommand{c.cmd, msg}); got != want {
					t.Errorf("runner reads %+v, want %+v (log %q)", got, want, f.out)
				}
			})
		}
	}
	t.Run("format args", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.r.Warningf("role %s: %d%% of %v", "x\ny", 50, []int{1})
		f.r.EndGroup()
		want := []logCommand{{"warning", "role x\ny: 50% of [1]"}, {"endgroup", ""}}
		if diff := cmp.Diff(want, runnerCommands(f.out.String()), cmp.AllowUnexported(logCommand{})); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// --- OIDC token ------------------------------------------------------------

const testJWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyZXBvOm8vcjpyZWY6cmVmcy9oZWFkcy9tYWluIiwiYXVkIjoic3RzLmFtYXpvbmF3cy5jb20ifQ.c2lnbmF0dXJl"

func TestIDTokenWithoutPermission(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]string{
		"no request url":   {"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "reqtok"},
		"no request token": {"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/token"},
		"neither":          {},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, env)
			tok, err := f.r.IDToken(context.Background(), "sts.amazonaws.com")
			if !errors.Is(err, ghaction.ErrNoIDToken) {
				t.Fatalf("got %q, %v; want ErrNoIDToken", tok, err)
			}
			if !strings.Contains(err.Error(), "id-token: write") {
				t.Errorf("error %q does not say to add `id-token: write`", err)
			}
			if tok != "" || f.out.Len() != 0 {
				t.Errorf("token %q, log %q; want neither", tok, f.out)
			}
		})
	}
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr bool
	}{
		{name: "ok", status: http.StatusOK, body: `{"value":"` + testJWT + `"}`},
		{name: "401", status: http.StatusUnauthorized, body: `{"message":"Bad credentials"}`, wantErr: true},
		{name: "500", status: http.StatusInternalServerError, body: "oops", wantErr: true},
		{name: "empty value", status: http.StatusOK, body: `{"value":""}`, wantErr: true},
		{name: "no value", status: http.StatusOK, body: `{}`, wantErr: true},
		{name: "not json", status: http.StatusOK, body: `<html>`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var reqProblems []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if got := r.Header.Get("Authorization"); got != "Bearer reqtok" {
					reqProblems = append(reqProblems, fmt.Sprintf("Authorization %q", got))
				}
				q := r.URL.Query()
				if got := q.Get("audience"); got != "sts.amazonaws.com" {
					reqProblems = append(reqProblems, fmt.Sprintf("audience %q", got))
				}
				if got := q.Get("api-version"); got != "2.0" {
					reqProblems = append(reqProblems, fmt.Sprintf("api-version %q (the request URL's own query was lost)", got))
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)

			out := &bytes.Buffer{}
			env := map[string]string{
				"GITHUB_ACTIONS":                 "true",
				"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token?api-version=2.0",
				"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "reqtok",
			}
			r := ghaction.New(func(k string) string { return env[k] }, out, srv.Client())
			r.TokenBackoff = time.Millisecond
			tok, err := r.IDToken(context.Background(), "sts.amazonaws.com")

			mu.Lock()
			for _, p := range reqProblems {
				t.Errorf("token request: %s", p)
			}
			mu.Unlock()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got token %q, want an error", tok)
				}
				if errors.Is(err, ghaction.ErrNoIDToken) {
					t.Errorf("a failed request is reported as ErrNoIDToken: %v", err)
				}
				retried := strings.Count(out.String(), "trying again")
				if tok != "" || (tc.status >= 500) != (retried == 3) || retried == 0 && out.Len() != 0 {
					t.Errorf("token %q, log %q; want no token, and retries only for a server error", tok, out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok != testJWT {
				t.Errorf("token %q, want %q", tok, testJWT)
			}
			if want := "::add-mask::" + testJWT + "\n"; out.String() != want {
				t.Errorf("log %q, want only %q", out, want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(srv.Close)
		env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := ghaction.New(func(k string) string { return env[k] }, io.Discard, srv.Client())
		if _, err := r.IDToken(ctx, "a"); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

// --- the rest of the runner I/O --------------------------------------------

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestLogWriteErrorIsReported(t *testing.T) {
	t.Parallel()
	errFull := errors.New("disk full")
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	r := ghaction.New(func(k string) string { return env[k] }, failWriter{errFull}, nil)
	if err := r.Err(); err != nil {
		t.Fatalf("Err() before any write = %v", err)
	}
	r.Printf("a\nb")
	r.Mask("secret")
	r.Debugf("d")
	r.Group("g")
	r.EndGroup()
	if err := r.Err(); !errors.Is(err, errFull) {
		t.Errorf("Err() = %v, want %v", err, errFull)
	}

	ok := newFixture(t, nil)
	ok.r.Printf("fine")
	if err := ok.r.Err(); err != nil {
		t.Errorf("Err() after a good write = %v", err)
	}
}

func TestAddSummary(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, md := range []string{"## buildrole", "| a | b |\n|---|---|"} {
		if err := f.r.AddSummary(md); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.raw(t, "GITHUB_STEP_SUMMARY"), "## buildrole\n| a | b |\n|---|---|\n"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	none := newFixture(t, map[string]string{"GITHUB_STEP_SUMMARY": ""})
	if err := none.r.AddSummary("x"); err != nil {
		t.Errorf("without GITHUB_STEP_SUMMARY: %v, want a no-op", err)
	}
}

func TestInputsAndState(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"INPUT_ROLE-TO-ASSUME": "  arn:aws:iam::123456789012:role/b \n",
		"INPUT_TAGS":           "a=1\nb=2\n",
		"STATE_names":          "{\"role\":\"x\"}",
	})
	if got, want := f.r.Input("role-to-assume"), "arn:aws:iam::123456789012:role/b"; got != want {
		t.Errorf("Input(role-to-assume) = %q, want %q", got, want)
	}
	if got, want := f.r.Input("tags"), "a=1\nb=2"; got != want {
		t.Errorf("Input(tags) = %q, want %q", got, want)
	}
	if got := f.r.Input("missing"); got != "" {
		t.Errorf("Input(missing) = %q", got)
	}
	if got, want := f.r.State("names"), "{\"role\":\"x\"}"; got != want {
		t.Errorf("State(names) = %q, want %q", got, want)
	}
	if !ghaction.InActions(func(k string) string { return f.env[k] }) {
		t.Error("InActions = false with GITHUB_ACTIONS=true")
	}
	if ghaction.InActions(func(string) string { return "" }) {
		t.Error("InActions = true without GITHUB_ACTIONS")
	}
	if got, want := ghaction.SortedKeys(map[string]string{"b": "", "a": "", "c": ""}), []string{"a", "b", "c"}; !cmp.Equal(got, want) {
		t.Errorf("SortedKeys = %v, want %v", got, want)
	}
}

// The token service has transient failures: the fetch is tried again with
// backoff, and a fetch that keeps failing names the endpoint and the tries.
func TestIDTokenRetries(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	failures := int32(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= failures {
			http.Error(w, `{"message":"service unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"value":"header.payload.signature"}`)
	}))
	defer srv.Close()
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "bearer"}
	var out strings.Builder
	r := ghaction.New(func(k string) string { return env[k] }, &out, srv.Client())
	r.TokenBackoff = time.Millisecond
	tok, err := r.IDToken(context.Background(), "sts.amazonaws.com")
	if err != nil || tok != "header.payload.signature" || calls.Load() != 3 {
		t.Fatalf("token %q, err %v, after %d calls", tok, err, calls.Load())
	}
	if !strings.Contains(out.String(), "trying again") {
		t.Errorf("no log line for the retry:\n%s", out.String())
	}
	calls.Store(0)
	failures = 100
	r.TokenAttempts = 3
	_, err = r.IDToken(context.Background(), "sts.amazonaws.com")
	if err == nil || calls.Load() != 3 || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "3 tries") {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}
