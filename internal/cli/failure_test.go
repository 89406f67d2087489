package cli_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// Each way the job's credentials can fail ends with the specific message
// and no resources.
func TestAuthFailuresExplainThemselves(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(w *world)
		want  []string
	}{
		{"missing id-token permission", func(w *world) {
			w.set("ACTIONS_ID_TOKEN_REQUEST_URL", "")
			w.set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
		}, []string{"permissions: id-token: write", "forks"}},
		{"wrong sub", func(w *world) {
			w.srv.SetJob(fakeaws.Job{Repository: "someone/else", EventName: "push", Ref: "refs/heads/main", RunID: "1", RunAttempt: "1"})
		}, []string{"AccessDenied", `sub is "repo:someone/else:ref:refs/heads/main"`, `aud is "sts.amazonaws.com"`}},
		{"wrong audience", func(w *world) {
			w.set("INPUT_AUDIENCE", "https://github.com/acme")
		}, []string{"InvalidIdentityToken", "OIDC provider"}},
		{"unreachable OIDC endpoint", func(w *world) {
			w.set("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:1/token?api-version=2.0")
		}, []string{"get the job's OIDC token"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			c.setup(w)
			code, stdout, _ := w.run(context.Background(), "up")
			if code != cli.ExitFailed {
				t.Fatalf("exit %d, want %d:\n%s", code, cli.ExitFailed, stdout)
			}
			for _, want := range c.want {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stdout, "::error::") || !strings.Contains(stdout, "nothing was created") {
				t.Errorf("no ::error:: saying nothing was created:\n%s", stdout)
			}
			if got := w.leftovers(); len(got) != 0 {
				t.Errorf("left behind: %v", got)
			}
		})
	}
}

// A trust policy that never propagates: bounded wait, a clear message,
// and the run's resources deleted.
func TestTrustThatNeverPropagatesIsTornDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.SetPropagationDelay(time.Hour)
	// Long enough for the poll at once and the one a second later on a
	// loaded machine.
	w.tune = func(o *stsauth.Options) { o.PropagationTimeout = 2 * time.Second }
	code, out, _ := w.run(context.Background(), "up")
	if code != cli.ExitFailed {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"has not propagated", "the run was deleted: 2 roles and 1 instance profile deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := w.srv.CountCalls("AssumeRoleWithWebIdentity"); n < 3 {
		t.Errorf("AssumeRoleWithWebIdentity tried %d times; want retries", n)
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
}

// Masks come first: no line before a secret's mask, and no line at all
// before the first mask.
func TestMasksPrecedeEverything(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_TAGS", "aws:reserved=x") // a warning, which waits for the masks
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	lines := strings.Split(stdout, "\n")
	if !strings.HasPrefix(lines[0], "::add-mask::") {
		t.Errorf("first line is %q, want a mask", lines[0])
	}
	masked := map[string]bool{}
	for i, line := range lines {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			masked[v] = true
			continue
		}
		env := w.file("GITHUB_ENV")
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
			if v := env[k]; strings.Contains(line, v) && !masked[v] {
				t.Errorf("line %d shows %q before its mask", i, v)
			}
		}
	}
}

// A signal (context cancellation) at each phase of up: up exits non-zero,
// and once the post step has run nothing remains.
func TestSignalAtEachPhaseLeavesNothing(t *testing.T) {
	t.Parallel()
	phases := []struct{ name, action string }{
		{"bootstrap", "AssumeRoleWithWebIdentity"},
		{"create", "CreateRole"},
		{"attach", "PutRolePolicy"},
		{"profile", "AddRoleToInstanceProfile"},
	}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.srv.SetActionLatency(ph.action, 150*time.Millisecond)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				defer cancel()
				for i := 0; i < 2000 && w.srv.Started(ph.action) == 0; i++ {
					time.Sleep(time.Millisecond)
				}
			}()
			code, stdout, _ := w.run(ctx, "up")
			if code == cli.ExitOK {
				t.Fatalf("up exit 0 despite the signal:\n%s", stdout)
			}
			w.srv.SetActionLatency(ph.action, 0)
			w.postEnv()
			if code, stdout, _ := w.run(context.Background(), "down"); code != cli.ExitOK {
				t.Fatalf("post step exit %d:\n%s", code, stdout)
			}
			if got := w.leftovers(); len(got) != 0 {
				t.Fatalf("left behind: %v", got)
			}
		})
	}
	// Cancelled while waiting for the trust policy to propagate.
	t.Run("assume", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.srv.SetPropagationDelay(time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			defer cancel()
			for i := 0; i < 2000 && w.srv.CountCalls("AssumeRoleWithWebIdentity") < 2; i++ {
				time.Sleep(time.Millisecond)
			}
		}()
		code, stdout, _ := w.run(ctx, "up")
		if code == cli.ExitOK {
			t.Fatalf("up exit 0 despite the signal:\n%s", stdout)
		}
		if got := w.leftovers(); len(got) != 0 {
			t.Fatalf("up left %v even before the post step", got)
		}
	})
}

// Without role-to-assume (a self-hosted runner's own credentials) the build
// role trusts the caller and is assumed by role chaining, capped at 1 h.
func TestDefaultCredentialChainMode(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_ROLE-TO-ASSUME", "")
	w.set("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	w.set("INPUT_ROLE-DURATION-SECONDS", "7200")
	w.tune = func(o *stsauth.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKIDRUNNER", "runner-secret", "")
	}
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if n := w.srv.CountCalls("AssumeRole"); n == 0 {
		t.Error("build role was not assumed by role chaining")
	}
	var trust string
	for _, r := range w.srv.Snapshot().Roles {
		if r.Path == "/buildrole/" && !strings.HasSuffix(r.Name, "-vm") {
			trust = r.AssumeRolePolicy
		}
	}
	if !strings.Contains(trust, `"AWS":"arn:aws:iam::123456789012:user/fake-admin"`) {
		t.Errorf("build role trust = %s, want the caller as AWS principal", trust)
	}
	w.postEnv()
	if code, out, _ := w.run(context.Background(), "down"); code != cli.ExitOK {
		t.Fatalf("down exit %d:\n%s", code, out)
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
}

// Hostile values in inputs and in the runner's context cannot add outputs,
// environment variables or workflow commands.
func TestHostileValuesCannotInject(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_TAGS", "note=::warning::pwned\nother=ghadelimiter_0000 x")
	w.set("GITHUB_WORKFLOW", "images\n::error::pwned\nINJECTED=1")
	w.set("INPUT_EXTRA-POLICY", `{"Sid":"X","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/::error::pwned"}`)
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		t2 := strings.TrimSpace(line)
		if strings.HasPrefix(t2, "::") && strings.Contains(t2, "pwned") && !strings.HasPrefix(t2, "::debug::") {
			t.Errorf("hostile text reached a command line: %q", line)
		}
		if strings.HasPrefix(t2, "::warning::pwned") || strings.HasPrefix(t2, "::error::pwned") {
			t.Errorf("injected command: %q", line)
		}
	}
	want := map[string]bool{"role-name": true, "role-arn": true, "instance-role-name": true, "instance-role-arn": true, "instance-profile-name": true, "instance-profile-arn": true, "run-id": true, "expires-at": true, "policy": true, "aws-account-id": true}
	for k := range w.file("GITHUB_OUTPUT") {
		if !want[k] {
			t.Errorf("unexpected output %q", k)
		}
	}
	for k := range w.file("GITHUB_ENV") {
		if !strings.HasPrefix(k, "AWS_") && !strings.HasPrefix(k, "PKR_VAR_") && !slices.Contains(run.HandoverEnv(), k) {
			t.Errorf("unexpected env %q", k)
		}
	}
}

// The CLI run with flags inside a job step masks what it obtains, and its
// results cannot smuggle workflow commands.
func TestCLIInsideAJobStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	envFile := w.dir + "/creds.env"
	if err := os.WriteFile(envFile, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := w.run(context.Background(), "up", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN,
		"--permissions-boundary", w.getenv("INPUT_PERMISSIONS-BOUNDARY"), "--state-file", w.dir+"/s.json", "--env-file", envFile, "--extra-policy", `{"Sid":"X","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/##[warning]pwned"}`)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(envFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600", fi.Mode().Perm())
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "AWS_SE") {
			continue
		}
		v = strings.Trim(v, "'")
		if !strings.Contains(stderr, "::add-mask::"+v) {
			t.Errorf("%s not masked in the job log", k)
		}
	}
	w.set("INPUT_DRY-RUN", "true")
	w.set("INPUT_EXTRA-POLICY", `{"Sid":"X","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/##[warning]pwned"}`)
	_, stdout, _ = w.run(context.Background(), "up")
	if strings.Contains(stdout, "##[") || !strings.Contains(stdout, "##%5Bwarning]") {
		t.Errorf("dry run printed a legacy command unescaped:\n%s", stdout)
	}
}

// A self-hosted runner whose own credentials are a role session (an EC2
// instance profile): the build role trusts exactly that session.
func TestChainModeFromARoleSession(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// The runner's instance role carries the bootstrap policy (chain mode).
	runnerRole := install(t, w.srv, accountSetup(t), "ci-runner", "/runners/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDADMIN", "s", ""), BaseEndpoint: aws.String(w.srv.URL())}
	out, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(runnerRole), RoleSessionName: aws.String("i-0123456789abcdef0")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	w.set("INPUT_ROLE-TO-ASSUME", "")
	w.tune = func(o *stsauth.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	}
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, r := range w.srv.Snapshot().Roles {
		if r.Path == "/buildrole/" && !strings.HasSuffix(r.Name, "-vm") && !strings.Contains(r.AssumeRolePolicy, "assumed-role/ci-runner/i-0123456789abcdef0") {
			t.Errorf("trust = %s, want the runner's session", r.AssumeRolePolicy)
		}
	}
}
