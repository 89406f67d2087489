package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	"github.com/buildrole/buildrole/internal/iampolicy"
)

// The exec tests start processes (the helper, packer): they run one at a
// time, before the package's parallel tests, so that they do not starve
// tests that wait on fakeaws's clock.

// helperVar makes the test binary, re-executed, a helper process: the
// command exec runs (emit, signal, kill, marker) or the buildrole binary
// itself (cli), chosen by its first argument.
const helperVar = "BUILDROLE_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperVar) == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	if os.Getenv(runAsCLI) == "1" {
		os.Exit(runCLI(os.Args))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	if len(args) == 0 {
		return 99
	}
	switch args[0] {
	case "emit":
		// As an AWS SDK v1 client does: events only when monitoring is on,
		// to the host and port given, with the client id given.
		if os.Getenv("AWS_CSM_ENABLED") == "true" {
			conn, err := net.Dial("udp", net.JoinHostPort(os.Getenv("AWS_CSM_HOST"), os.Getenv("AWS_CSM_PORT")))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 98
			}
			id, _ := json.Marshal(os.Getenv("AWS_CSM_CLIENT_ID"))
			for _, file := range args[1:] {
				b, err := os.ReadFile(file)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 97
				}
				for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
					line = bytes.Replace(line, []byte(`"ClientId":"buildrole-recorded"`), append([]byte(`"ClientId":`), id...), 1)
					_, _ = conn.Write(line)
				}
			}
			_ = conn.Close()
		}
		_, _ = io.Copy(os.Stdout, os.Stdin)
		fmt.Fprintln(os.Stderr, "helper: done")
		var code int
		_, _ = fmt.Sscan(os.Getenv("HELPER_EXIT"), &code)
		return code
	case "signal":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		fmt.Println("ready")
		select {
		case s := <-c:
			fmt.Printf("got %v\n", s)
			return 42
		case <-time.After(time.Minute):
			// Bounded: a signal that never arrives fails the test, not CI.
			fmt.Println("no signal")
			return 7
		}
	case "kill":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case "whoami":
		return whoami(args[1:])
	case "sdk":
		return sdkHelper()
	case "ec2first":
		return ec2First()
	case "marker":
		_ = os.WriteFile(args[1], []byte("ran"), 0o644)
		return 0
	case "cli":
		// What cmd/buildrole's main does.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return cli.Main(ctx, append([]string{"buildrole"}, args[1:]...), cli.Env{})
	}
	return 99
}

func testBinary(t testing.TB) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func recorded(names ...string) []string {
	var out []string
	for _, n := range names {
		p, _ := filepath.Abs(filepath.Join("../csm/testdata", n+".jsonl"))
		out = append(out, p)
	}
	return out
}

// execRun is one `buildrole exec` in-process.
type execRun struct {
	getenv  func(string) string
	environ []string // the command's environment (helperVar is added)
	stdin   string
	stdout  io.Writer
	signals func(chan<- os.Signal) func()
	// credentials is exec's --credentials; default environment: these
	// tests are about the command, not where its credentials come from.
	credentials string
}

func (r execRun) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	var w io.Writer = &out
	if r.stdout != nil {
		w = io.MultiWriter(&out, r.stdout)
	}
	getenv := r.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	env := cli.Env{
		Getenv: getenv,
		Stdout: w,
		Stderr: &errb,
		Stdin:  strings.NewReader(r.stdin),
		// Later entries win: the test's own over the process's.
		Environ: func() []string { return append(append(os.Environ(), helperVar+"=1"), r.environ...) },
		Signals: r.signals,
	}
	creds := "--credentials=" + r.credentials
	if r.credentials == "" {
		creds = "--credentials=environment"
	}
	code = cli.Main(context.Background(), append([]string{"buildrole", "exec", creds}, args...), env)
	return code, out.String(), errb.String()
}

type report struct {
	Command  string `json:"command"`
	ExitCode int    `json:"exit_code"`
	Observed bool   `json:"observed"`
	Message  string `json:"message"`
	Policy   string `json:"policy"`
	Calls    []struct {
		Service, API string
		Count        int
		Errors       map[string]int
		Retried      map[string]int
	} `json:"calls"`
	Denied []struct {
		Action, Statement, Fix string
		ExtraPolicy            *iampolicy.Statement `json:"extra_policy"`
	} `json:"denied"`
	Ungranted []struct{ Action string } `json:"ungranted"`
	Unused    []string                  `json:"unused"`
	Granted   *int                      `json:"granted"`
	Used      *int                      `json:"used"`
}

func readReport(t *testing.T, path string) (report, map[string]json.RawMessage) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(b, &keys)
	return r, keys
}

const recordedKey = "AKIAIOSFODNN7EXAMPLE"

// A command's recorded SDK events, held against the policy derived from
// its template: the calls, the denials with their fixes, the figures; the
// command's input, output and exit code untouched; no access key anywhere.
func TestExecReportsTheCallsOfACommand(t *testing.T) {
	dir := t.TempDir()
	reportFile, recordFile := filepath.Join(dir, "report.json"), filepath.Join(dir, "calls")
	r := execRun{environ: []string{"HELPER_EXIT=3", "AWS_CSM_ENABLED=false", "AWS_CSM_PORT=1"}, stdin: "input for the command\n"}
	args := append([]string{"--template", "../../testdata/templates/basic-ebs.pkr.hcl", "--aws-region", "us-east-1", "--report", reportFile, "--record", recordFile,
		"--", testBinary(t), "emit"}, recorded("success", "throttled-then-success", "access-denied", "unauthorized-operation")...)
	code, stdout, stderr := r.run(t, args...)
	if code != 3 {
		t.Fatalf("exit %d, want the command's 3:\n%s", code, stderr)
	}
	if stdout != "input for the command\n" || !strings.HasPrefix(stderr, "helper: done\n") {
		t.Errorf("stdout %q, stderr %q: the command's own streams", stdout, stderr)
	}
	// What `buildrole policy` says the template's role may do.
	_, js, _ := runMain(t, "policy", "--aws-region", "us-east-1", "--template", "../../testdata/templates/basic-ebs.pkr.hcl", "--json")
	var pol struct {
		Doc iampolicy.Document `json:"build_role_policy"`
	}
	_ = json.Unmarshal([]byte(js), &pol)
	granted := map[string]bool{}
	for _, st := range pol.Doc.Statement {
		for _, a := range st.Action {
			granted[a] = true
		}
	}
	for _, want := range []string{
		fmt.Sprintf("buildrole exec: %s made 4 AWS calls (4 actions), 2 denied, 0 ungranted; the policy grants %d actions, the command used 4", filepath.Base(testBinary(t)), len(granted)),
		"statement RunInstance (amazon-ebs.ubuntu: the build instance (builder/common/step_run_source_instance.go)) allows ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/* in us-east-1, where AWS refused it: the call did not run under this policy",
		"denied: ec2:RunInstances in us-east-1 (UnauthorizedOperation x1)",
		"denied: iam:GetInstanceProfile in us-east-1 (AccessDenied x1)",
		"set `iam_instance_profile = var.iam_instance_profile`",
		"aws sts decode-authorization-message",
		"retried: ec2:DescribeImages (RequestLimitExceeded x1)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	rep, keys := readReport(t, reportFile)
	for _, k := range []string{"calls", "denied", "ungranted", "unused", "granted", "used"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	if rep.ExitCode != 3 || !rep.Observed || len(rep.Calls) != 4 || rep.Calls[1].API != "DescribeImages" || rep.Calls[1].Service != "ec2" ||
		rep.Calls[1].Retried["RequestLimitExceeded"] != 1 || rep.Calls[3].Errors["UnauthorizedOperation"] != 1 || len(granted) < 10 || *rep.Granted != len(granted) || *rep.Used != 4 {
		t.Errorf("report %+v", rep)
	}
	rec, _ := os.ReadFile(recordFile)
	if !strings.Contains(string(rec), "\nregion us-east-1\nus-east-1 ec2:DescribeRegions *\nus-east-1 ec2:DescribeImages *\n") {
		t.Errorf("record:\n%s", rec)
	}
	for name, s := range map[string]string{"stdout": stdout, "stderr": stderr, "report": string(keys["calls"]) + string(keys["denied"]), "record": string(rec)} {
		if strings.Contains(s, recordedKey) {
			t.Errorf("%s carries the access key id", name)
		}
	}
}

// A client that sends no events gets a sentence, not a report of zeros.
func TestExecWithoutEvents(t *testing.T) {
	reportFile := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := execRun{}.run(t, "--report", reportFile, "--", testBinary(t), "emit")
	if code != 0 || !strings.Contains(stderr, "buildrole exec: no AWS calls observed: none passed exec's proxy") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	rep, _ := readReport(t, reportFile)
	if rep.Observed || rep.Used != nil || rep.Granted != nil || len(rep.Calls) != 0 || rep.Message == "" {
		t.Errorf("report %+v", rep)
	}
}

// In a job: up (the action) saves its policy for later steps, and exec in
// a later step holds the calls against it, writes the step summary and
// annotates each denial.
func TestExecAfterTheActionUsesTheRunsPolicy(t *testing.T) {
	w := newWorld(t)
	w.set("RUNNER_TEMP", t.TempDir())
	w.set("INPUT_TEMPLATE", "../../testdata/templates/basic-ebs.pkr.hcl")
	if code, stdout, _ := w.run(t.Context(), "up"); code != cli.ExitOK {
		t.Fatalf("up: exit %d:\n%s", code, stdout)
	}
	exported := w.file("GITHUB_ENV")
	policyFile := exported["BUILDROLE_POLICY_FILE"]
	if filepath.Dir(policyFile) != w.getenv("RUNNER_TEMP") {
		t.Fatalf("BUILDROLE_POLICY_FILE = %q, want a file under RUNNER_TEMP", policyFile)
	}
	saved, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := iampolicy.Parse(saved)
	if err != nil {
		t.Fatal(err)
	}
	if doc.JSON() != w.file("GITHUB_OUTPUT")["policy"] {
		t.Error("the saved policy is not the build role's")
	}
	// The next step sees what up exported.
	for k, v := range exported {
		w.set(k, v)
	}
	_ = os.WriteFile(w.getenv("GITHUB_STEP_SUMMARY"), nil, 0o644)
	reportFile := filepath.Join(t.TempDir(), "r.json")
	r := execRun{getenv: w.getenv}
	code, _, stderr := r.run(t, append([]string{"--report", reportFile, "--", testBinary(t), "emit"}, recorded("success", "unauthorized-operation")...)...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	rep, _ := readReport(t, reportFile)
	granted := map[string]bool{}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			granted[a] = true
		}
	}
	if !strings.Contains(rep.Policy, "BUILDROLE_POLICY_FILE="+policyFile) || rep.Granted == nil || *rep.Granted != len(granted) {
		t.Errorf("policy %q granted %v, want the run's file and %d", rep.Policy, rep.Granted, len(granted))
	}
	if len(rep.Denied) != 1 || rep.Denied[0].Statement != "RunInstance" {
		t.Errorf("denied %+v", rep.Denied)
	}
	if !strings.Contains(stderr, "::error::buildrole exec: ec2:RunInstances was denied (UnauthorizedOperation x1). Fix: statement RunInstance") {
		t.Errorf("no annotation for the denial:\n%s", stderr)
	}
	summary, _ := os.ReadFile(w.getenv("GITHUB_STEP_SUMMARY"))
	if !strings.Contains(string(summary), "### buildrole exec: `") || !strings.Contains(string(summary), "| `ec2:RunInstances` | 1 | UnauthorizedOperation x1 |") {
		t.Errorf("step summary:\n%s", summary)
	}
}

// On the command line, up keeps the policy beside its state file, exec
// finds it through --state-file, and down removes both.
func TestExecWithTheStateFileOfUp(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	state, policy := filepath.Join(dir, "run.json"), filepath.Join(dir, "run.policy.json")
	if code, _, stderr := w.runCLI("up", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--state-file", state); code != cli.ExitOK {
		t.Fatalf("up: exit %d:\n%s", code, stderr)
	}
	var m map[string]string
	b, _ := os.ReadFile(state)
	_ = json.Unmarshal(b, &m)
	reportFile := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := execRun{}.run(t, append([]string{"--state-file", state, "--report", reportFile, "--", testBinary(t), "emit"}, recorded("success")...)...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	rep, _ := readReport(t, reportFile)
	if rep.Policy != fmt.Sprintf("run %s (state file %s)", m["run-id"], state) || rep.Granted == nil || *rep.Used != 1 {
		t.Errorf("report %+v", rep)
	}
	// Without the policy, a named state is refused before the command runs.
	saved, _ := os.ReadFile(policy)
	_ = os.Remove(policy)
	marker := filepath.Join(dir, "ran")
	code, _, stderr = execRun{}.run(t, "--state-file", state, "--", testBinary(t), "marker", marker)
	if _, err := os.Stat(marker); code != cli.ExitUsage || !strings.Contains(stderr, "no policy beside state file "+state) || err == nil {
		t.Errorf("no policy: exit %d:\n%s", code, stderr)
	}
	_ = os.WriteFile(policy, saved, 0o644)
	if code, _, stderr := w.runCLI("down", "--state-file", state); code != cli.ExitOK {
		t.Fatalf("down: exit %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(policy); err == nil {
		t.Error("down left the policy beside the state file")
	}
}

// Bad input stops exec before the command runs, exit 2, one clear line.
func TestExecRefusesBadInputBeforeRunning(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	noPolicy := filepath.Join(dir, "state.json")
	_ = os.WriteFile(noPolicy, []byte(`{"run-id":"x"}`), 0o600)
	badPolicy := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(badPolicy, []byte(`{"Version":"2012-10-17"}`), 0o600)
	for _, tc := range []struct {
		getenv func(string) string
		args   []string
		want   string
	}{
		{nil, []string{"--"}, "no command to run"},
		{nil, []string{"--template", "../../testdata/templates/basic-ebs.pkr.hcl", "--state-file", noPolicy, "--"}, "--template and --state-file both name a policy"},
		{nil, []string{"--state-file", filepath.Join(dir, "missing.json"), "--"}, "read state file"},
		{nil, []string{"--state-file", noPolicy, "--"}, "invalid state"},
		{nil, []string{"--scope", "tags", "--"}, "--scope shapes the policy derived from --template"},
		{nil, []string{"--template", "../../testdata/templates/missing.pkr.hcl", "--aws-region", "us-east-1", "--"}, "invalid input"},
		{nil, []string{"--template", "../../testdata/templates/basic-ebs.pkr.hcl", "--"}, "aws-region"},
		{nil, []string{"--report", filepath.Join(dir, "no", "r.json"), "--"}, "--report " + filepath.Join(dir, "no", "r.json") + ": directory"},
		{nil, []string{"--record", dir, "--"}, "is a directory"},
	} {
		args := tc.args
		if args[len(args)-1] == "--" && tc.want != "no command to run" {
			args = append(args, testBinary(t), "marker", marker)
		}
		code, stdout, stderr := execRun{getenv: tc.getenv}.run(t, args...)
		if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%v: the command ran", tc.args)
		}
	}
	// A policy file found in the environment, not named by a flag, never
	// stops the build: a warning, and a report without a policy.
	reportFile := filepath.Join(dir, "r.json")
	code, _, stderr := execRun{getenv: func(k string) string { return map[string]string{"BUILDROLE_POLICY_FILE": badPolicy}[k] }}.run(t,
		"--report", reportFile, "--", testBinary(t), "marker", marker)
	if rep, _ := readReport(t, reportFile); code != 0 || !strings.Contains(stderr, "warning: BUILDROLE_POLICY_FILE="+badPolicy) || rep.Granted != nil {
		t.Errorf("bad BUILDROLE_POLICY_FILE: exit %d, granted %v:\n%s", code, rep.Granted, stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the command did not run")
	}
	code, _, stderr = execRun{}.run(t, "--", filepath.Join(dir, "no-such-command"))
	if code != 127 || !strings.Contains(stderr, "no-such-command") || strings.Contains(stderr, "no AWS calls observed") {
		t.Errorf("missing command: exit %d:\n%s", code, stderr)
	}
	_ = os.WriteFile(filepath.Join(dir, "not-executable"), []byte("#!/bin/sh\n"), 0o644)
	if code, _, stderr := (execRun{}).run(t, "--", filepath.Join(dir, "not-executable")); code != 126 {
		t.Errorf("not executable: exit %d:\n%s", code, stderr)
	}
}

func TestExecPassesTheExitCodeThrough(t *testing.T) {
	for _, want := range []int{0, 1, 2, 3, 77, 255} {
		code, _, stderr := execRun{environ: []string{fmt.Sprintf("HELPER_EXIT=%d", want)}}.run(t, "--", testBinary(t), "emit")
		if code != want {
			t.Errorf("exit %d, want %d:\n%s", code, want, stderr)
		}
	}
	// Killed by a signal: 128 + its number, as a shell reports it.
	if code, _, stderr := (execRun{}).run(t, "--", testBinary(t), "kill"); code != 128+int(syscall.SIGKILL) {
		t.Errorf("killed: exit %d:\n%s", code, stderr)
	}
}

// lineWaiter tells when a line has been written.
type lineWaiter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line string
	seen chan struct{}
	once sync.Once
}

func (l *lineWaiter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if strings.Contains(l.buf.String(), l.line+"\n") {
		l.once.Do(func() { close(l.seen) })
	}
	return len(p), nil
}

// Each signal exec receives reaches the command, which decides its exit.
func TestExecForwardsSignals(t *testing.T) {
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		ready := &lineWaiter{line: "ready", seen: make(chan struct{})}
		sent := make(chan chan<- os.Signal, 1)
		r := execRun{stdout: ready, signals: func(c chan<- os.Signal) func() { sent <- c; return func() {} }}
		go func() {
			c := <-sent
			<-ready.seen
			c <- sig
		}()
		code, stdout, _ := r.run(t, "--", testBinary(t), "signal")
		if code != 42 || stdout != fmt.Sprintf("ready\ngot %v\n", sig) {
			t.Errorf("%v: exit %d, stdout %q", sig, code, stdout)
		}
	}
}

// The real process: buildrole (as main wires it) gets SIGTERM, its
// command gets it too and exits 42, and so does buildrole.
func TestExecForwardsARealSignal(t *testing.T) {
	cmd := exec.Command(testBinary(t), "cli", "exec", "--credentials=environment", "--", testBinary(t), "signal")
	cmd.Env = append(os.Environ(), helperVar+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("first line %q: %s", lines.Text(), stderr.String())
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	err = cmd.Wait()
	if cmd.ProcessState.ExitCode() != 42 || strings.Join(rest, "\n") != "got terminated" {
		t.Errorf("exit %v (%v), stdout after ready %q, stderr:\n%s", cmd.ProcessState.ExitCode(), err, rest, stderr.String())
	}
}
