package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

func TestActionUpThenPostStepDeletesEverything(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Long enough that the first look at the profile, however slow the
	// machine, comes before IAM shows it.
	w.srv.SetPropagationDelay(1500 * time.Millisecond)
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, stdout)
	}
	out := w.file("GITHUB_OUTPUT")
	for _, k := range []string{"role-name", "role-arn", "instance-role-name", "instance-role-arn", "instance-profile-name", "instance-profile-arn", "run-id", "expires-at", "policy"} {
		if out[k] == "" {
			t.Errorf("output %q missing", k)
		}
	}
	if !strings.HasPrefix(out["role-name"], "buildrole-images-pr42-") || len(w.leftovers()) != 3 {
		t.Errorf("role-name %q, resources %v", out["role-name"], w.leftovers())
	}
	if _, err := iampolicy.Parse([]byte(out["policy"])); err != nil {
		t.Errorf("policy output: %v", err)
	}
	env := w.file("GITHUB_ENV")
	if env["PKR_VAR_iam_instance_profile"] != out["instance-profile-name"] || env["AWS_REGION"] != "us-east-1" {
		t.Errorf("env = %v", env)
	}
	if !strings.Contains(env["PKR_VAR_buildrole_run_tags"], `"buildrole:run-id" = "`+out["run-id"]+`"`) {
		t.Errorf("PKR_VAR_buildrole_run_tags = %s", env["PKR_VAR_buildrole_run_tags"])
	}
	// The exported credentials are the build role's, and masked.
	if !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") {
		t.Fatalf("AWS_ACCESS_KEY_ID = %q", env["AWS_ACCESS_KEY_ID"])
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if !strings.Contains(stdout, "::add-mask::"+env[k]+"\n") {
			t.Errorf("%s not masked", k)
		}
	}
	// No secret anywhere but GITHUB_ENV and mask lines.
	secrets := []string{env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]}
	for _, f := range []string{"GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		b, _ := os.ReadFile(w.getenv(f))
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret", f)
			}
		}
	}
	for _, line := range strings.Split(stdout, "\n") {
		for _, s := range secrets {
			if strings.Contains(line, s) && !strings.HasPrefix(line, "::add-mask::") {
				t.Errorf("log line leaks a secret: %q", line)
			}
		}
	}

	// The profile was read until IAM showed it, as Packer will read it.
	if n := w.srv.CountCalls("GetInstanceProfile"); n < 2 {
		t.Errorf("GetInstanceProfile calls = %d; up should wait for the new profile to be visible", n)
	}

	// Post step: a new container with only inputs, STATE_* and a token.
	w.postEnv()
	w.srv.ResetRequests()
	code, stdout, _ = w.run(context.Background(), "down")
	if code != cli.ExitOK {
		t.Fatalf("down exit %d:\n%s", code, stdout)
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
	// Bootstrap, the build role for EC2 and its four reads (nothing left
	// there), one read of each resource to prove it is this run's, then
	// the five deletes: nothing redundant.
	reqs := w.srv.Requests()
	if n := len(reqs); n != 14 {
		t.Errorf("down made %d calls, want 14 (2 STS + 4 EC2 reads + 3 reads + 5 deletes)", n)
	}
	for i, r := range reqs {
		read := r.Action == "GetRole" || r.Action == "GetInstanceProfile"
		if read != (i >= 6 && i <= 8) {
			t.Errorf("call %d is %s: the ownership reads come right after the bootstrap and EC2, before any delete", i, r.Action)
		}
	}
	// The post step forgot the run: the state it leaves names nothing, so
	// running it again does nothing.
	w.postEnv()
	code, stdout, _ = w.run(context.Background(), "down")
	if code != cli.ExitOK || len(w.leftovers()) != 0 || !strings.Contains(stdout, "nothing to do") {
		t.Fatalf("second down exit %d:\n%s", code, stdout)
	}
}

func TestPostStepWithoutStateDoesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, stdout, _ := w.run(context.Background(), "down")
	if code != cli.ExitOK || !strings.Contains(stdout, "nothing to do") {
		t.Fatalf("exit %d, %s", code, stdout)
	}
	if n := len(w.srv.Requests()); n != 0 {
		t.Errorf("%d AWS calls, want 0", n)
	}
}

// Bad input of every kind: a message naming the input, exit 2, and zero
// AWS calls.
func TestInvalidInputMakesNoCalls(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 60)
	cases := []struct{ input, value, want string }{
		{"aws-region", "", "is required"},
		{"aws-region", "us-east", "not an AWS region"},
		{"aws-region", "US-EAST-1", "not an AWS region"},
		{"role-to-assume", "buildrole-bootstrap", "not an IAM role ARN"},
		{"role-to-assume", "arn:aws:iam::12345:role/x", "not an IAM role ARN"},
		{"role-to-assume", "arn:aws-cn:iam::123456789012:role/x", "partition"},
		{"role-session-name", "a", "2 to 64"},
		{"role-session-name", "has space", "2 to 64"},
		{"role-duration-seconds", "899", "900 to 43200"},
		{"role-duration-seconds", "43201", "900 to 43200"},
		{"role-duration-seconds", "1h", "whole number"},
		{"retry-max-attempts", "0", "1 to 20"},
		{"name-prefix", long, "at most 52"},
		{"name-prefix", "bad/prefix", "may contain only"},
		{"path", "buildrole", "must begin and end with /"},
		{"path", "/a b/", "must begin and end with /"},
		{"path", "/ci*/", "in ARNs they are wildcards"},
		{"path", "/" + strings.Repeat("p", 512) + "/", "at most 512"},
		{"permissions-boundary", "arn:aws:iam::123456789012:role/x", "managed policy ARN"},
		{"tags", "novalue", "key=value"},
		{"tags", strings.Repeat("k", 129) + "=v", "longer than 128"},
		{"tags", "k=" + strings.Repeat("v", 257), "longer than 256"},
		{"tags", "k=bad!value", "may contain only"},
		{"tags", manyTags(44), "IAM allows at most 50"},
		{"ttl", "0s", "duration"},
		{"ttl", "forever", "duration"},
		{"instance-profile", "both", "one of separate, shared, none"},
		{"instance-policy", "{not json", "instance-policy"},
		{"extra-policy", `{"Effect":"Maybe","Action":"s3:GetObject","Resource":"*"}`, "extra-policy"},
		{"allowed-source-cidrs", "10.0.0.0/33", "not a CIDR"},
		{"export-credentials", "yes", "true or false"},
		{"mask-aws-account-id", "1", "true or false"},
	}
	for _, c := range cases {
		t.Run(c.input+"="+trim(c.value), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.set("INPUT_"+strings.ToUpper(c.input), c.value)
			code, stdout, _ := w.run(context.Background(), "up")
			if code != cli.ExitUsage {
				t.Fatalf("exit %d, want %d:\n%s", code, cli.ExitUsage, stdout)
			}
			if !strings.Contains(stdout, `input "`+c.input+`"`) || !strings.Contains(stdout, c.want) {
				t.Errorf("message does not name %q with %q:\n%s", c.input, c.want, stdout)
			}
			if n := len(w.srv.Requests()); n != 0 {
				t.Errorf("%d AWS calls, want 0", n)
			}
			if st := w.file("GITHUB_STATE"); len(st) != 0 {
				t.Errorf("state written: %v", st)
			}
		})
	}
}

func manyTags(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "k%d=v\n", i)
	}
	return b.String()
}

func trim(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func TestDryRunPrintsThePlanAndCallsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_DRY-RUN", "true")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	// Readable in the job's log, and in its step summary.
	for _, want := range []string{"up would create, in us-east-1", "build role        arn:aws:iam::123456789012:role/buildrole/buildrole-images-pr42-", "instance profile", "What the build role may do", "ec2: ", "sub repo:acme/images:pull_request"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run does not say %q:\n%s", want, stdout)
		}
	}
	if n := strings.Count(stdout, "\n"); n > 80 {
		t.Errorf("dry run is %d lines, want at most 80:\n%s", n, stdout)
	}
	if summary, _ := os.ReadFile(w.getenv("GITHUB_STEP_SUMMARY")); !strings.Contains(string(summary), "dry run, nothing was created") || !strings.Contains(string(summary), "What the build role may do") {
		t.Errorf("step summary = %q", summary)
	}
	// --json keeps the machine form.
	code, stdout, stderr := w.runCLI("up", "--dry-run", "--json", "--aws-region", "us-east-1", "--role-to-assume", "arn:aws:iam::123456789012:role/buildrole-bootstrap")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var plan struct {
		BuildRole struct {
			Name   string             `json:"name"`
			Policy iampolicy.Document `json:"policy"`
		} `json:"build_role"`
		InstanceProfile struct{ Name string } `json:"instance_profile"`
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("plan is not JSON: %v\n%s", err, stdout)
	}
	if !strings.HasPrefix(plan.BuildRole.Name, "buildrole-images-pr42-") || len(plan.BuildRole.Policy.Statement) == 0 {
		t.Errorf("plan = %+v", plan)
	}
	if n := len(w.srv.Requests()); n != 0 {
		t.Errorf("%d AWS calls, want 0", n)
	}
}

// 20 runs of one repository at once get distinct names, and each down
// removes only its own resources.
func TestConcurrentRunsAreIsolated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const runs = 20
	names := make([]string, runs)
	states := make([]string, runs)
	var wg sync.WaitGroup
	errs := make(chan string, runs)
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i] = filepath.Join(w.dir, fmt.Sprintf("state-%d.json", i))
			code, stdout, stderr := w.runCLI("up", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--state-file", states[i], "--json")
			if code != cli.ExitOK {
				errs <- fmt.Sprintf("run %d: exit %d %s %s", i, code, stdout, stderr)
				return
			}
			var out map[string]string
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				errs <- fmt.Sprintf("run %d: %v: %s", i, err, stdout)
			}
			names[i] = out["role-name"]
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			t.Fatalf("duplicate or empty name %q in %v", n, names)
		}
		seen[n] = true
	}
	if got := len(w.leftovers()); got != 3*runs {
		t.Fatalf("%d resources, want %d", got, 3*runs)
	}
	for i := 0; i < runs; i++ {
		if code, stdout, stderr := w.runCLI("down", "--state-file", states[i]); code != cli.ExitOK {
			t.Fatalf("down %d: exit %d %s %s", i, code, stdout, stderr)
		}
		if got := len(w.leftovers()); got != 3*(runs-i-1) {
			t.Fatalf("after down %d: %d resources left, want %d", i, got, 3*(runs-i-1))
		}
		for _, arn := range w.leftovers() {
			if strings.Contains(arn, names[i]) {
				t.Fatalf("down %d left its own %s", i, arn)
			}
		}
	}
}

// runCLI runs outside Actions: flags, a state file, the job's OIDC token.
// up gets the account's permissions boundary, as `buildrole bootstrap`
// tells users to pass it.
func (w *world) runCLI(args ...string) (int, string, string) {
	w2 := &world{t: w.t, srv: w.srv, vars: map[string]string{}}
	for k, v := range w.vars {
		if !strings.HasPrefix(k, "INPUT_") && k != "GITHUB_ACTIONS" {
			w2.vars[k] = v
		}
	}
	if len(args) > 0 && args[0] == "up" && !slices.Contains(args, "--permissions-boundary") {
		args = append(args, "--permissions-boundary", w.getenv("INPUT_PERMISSIONS-BOUNDARY"))
	}
	return w2.run(context.Background(), args...)
}

func TestDemoJSON(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	code := cli.Main(context.Background(), []string{"buildrole", "demo", "--json"}, cli.Env{Stdout: &out, Stderr: &out})
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	var res struct {
		Created   []string `json:"created"`
		Remaining *int     `json:"remaining_after_down"`
	}
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 3 || res.Remaining == nil || *res.Remaining != 0 {
		t.Fatalf("demo = %s", out.String())
	}
}

// A job whose token carries another sub than the event's default (a
// deployment environment) gets a build role trusting that sub: up builds
// its plan again from what the session found instead of keeping the one
// it made before any call.
func TestUpTrustsTheSubTheTokenCarries(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(p *accountsetup.BootstrapParams) { p.Subjects = []string{"environment:images"} })
	w.srv.SetJob(fakeaws.Job{Repository: repo, RepositoryOwner: "acme", EventName: "pull_request", Ref: "refs/pull/42/merge", Workflow: "images", RunID: "7001", RunAttempt: "1", Environment: "images"})
	code, stdout, stderr := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("up = %d\n%s%s", code, stdout, stderr)
	}
	role := w.file("GITHUB_OUTPUT")["role-name"]
	for _, r := range w.srv.Snapshot().Roles {
		if r.Name == role && !strings.Contains(r.AssumeRolePolicy, "repo:acme/images:environment:images") {
			t.Errorf("build role trusts %s, not the token's sub", r.AssumeRolePolicy)
		}
	}
	if w.file("GITHUB_ENV")["AWS_ACCESS_KEY_ID"] == "" {
		t.Error("the build role was not assumed with the token")
	}
	w.postEnv()
	if code, stdout, stderr := w.run(context.Background(), "down"); code != cli.ExitOK {
		t.Fatalf("down = %d\n%s%s", code, stdout, stderr)
	}
	if left := w.leftovers(); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
