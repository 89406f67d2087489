package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// whoami is a command on the AWS SDK for Go v2 as a build uses it: the
// default configuration, then sts:GetCallerIdentity COUNT times, EVERY
// apart. It prints each caller and fails at the first refusal.
func whoami(args []string) int {
	count, _ := strconv.Atoi(args[0])
	every, _ := time.ParseDuration(args[1])
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "whoami:", err)
		return 2
	}
	client := sts.NewFromConfig(cfg)
	for i := range count {
		if i > 0 {
			time.Sleep(every)
		}
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "whoami:", err)
			return 1
		}
		fmt.Println(aws.ToString(out.Arn))
	}
	return 0
}

// execStep runs `buildrole exec` as a later job step: the job's
// environment with what earlier steps wrote to GITHUB_ENV.
func (w *world) execStep(t *testing.T, args ...string) (int, string, string) {
	return w.execStepIn(t, append(os.Environ(), helperVar+"=1", "AWS_ENDPOINT_URL="+w.srv.URL(), "HOME="+t.TempDir()), args...)
}

// execStepIn is execStep with the command's environment starting from
// base (later entries win).
func (w *world) execStepIn(t *testing.T, base []string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range w.file("GITHUB_ENV") {
		w.set(k, v)
	}
	environ := slices.Clone(base)
	for k, v := range w.vars {
		environ = append(environ, k+"="+v)
	}
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), append([]string{"buildrole", "exec"}, args...), cli.Env{
		Getenv: w.getenv, Stdout: &out, Stderr: &errb,
		Environ: func() []string { return environ },
		AWS: func(o *stsauth.Options) {
			o.EndpointURL = w.srv.URL()
			o.RetryBaseDelay, o.RetryMaxDelay = time.Millisecond, 5*time.Millisecond
		},
	})
	return code, out.String(), errb.String()
}

// With export-credentials false nothing secret reaches the job's files,
// up does not wait for propagation, and a later step's exec gives its
// command the build role's credentials, renewed: the command outlives
// three sessions. The control, one exported session, expires mid-way.
func TestExecServesRenewedCredentials(t *testing.T) {
	w := newWorld(t)
	w.set("INPUT_EXPORT-CREDENTIALS", "false")
	w.srv.SetPropagationDelay(time.Second)
	if code, stdout, stderr := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s%s", code, stdout, stderr)
	}
	for _, c := range w.srv.Requests() {
		if c.Action == "AssumeRoleWithWebIdentity" && strings.Contains(c.Params.Get("RoleArn"), "/buildrole/") {
			t.Errorf("up assumed the build role (%s) though nothing was exported", c.Params.Get("RoleArn"))
		}
	}
	for _, f := range []string{"GITHUB_ENV", "GITHUB_STATE", "GITHUB_OUTPUT"} {
		for k := range w.file(f) {
			if k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY" || k == "AWS_SESSION_TOKEN" {
				t.Errorf("%s has %s", f, k)
			}
		}
	}
	roleARN := w.file("GITHUB_ENV")[run.EnvRoleARN]
	if roleARN == "" {
		t.Fatalf("up exported no %s", run.EnvRoleARN)
	}

	const life = 2 * time.Second
	w.srv.SetSessionLifetime(life)
	code, stdout, stderr := w.execStep(t, "--", testBinary(t), "whoami", "14", "500ms")
	if code != 0 {
		t.Fatalf("exec exit %d over %d lifetimes:\n%s%s", code, 3, stdout, stderr)
	}
	session := strings.Replace(strings.Replace(roleARN, ":iam::", ":sts::", 1), ":role/buildrole/", ":assumed-role/", 1)
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !strings.HasPrefix(line, session+"/") {
			t.Errorf("the command ran as %q, want a session of %s", line, roleARN)
		}
	}
	assumed := 0
	for _, c := range w.srv.Requests() {
		if c.Action == "AssumeRoleWithWebIdentity" && c.Params.Get("RoleArn") == roleARN && c.Status == 200 {
			assumed++
		}
	}
	if assumed < 3 {
		t.Errorf("%d sessions of the build role for a command lasting 3.5 lifetimes", assumed)
	}

	// The control: one session, as exported keys would be.
	token, err := w.srv.MintToken("sts.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(w.srv.URL())}).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("control"), WebIdentityToken: aws.String(token),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.set("AWS_ACCESS_KEY_ID", aws.ToString(creds.Credentials.AccessKeyId))
	w.set("AWS_SECRET_ACCESS_KEY", aws.ToString(creds.Credentials.SecretAccessKey))
	w.set("AWS_SESSION_TOKEN", aws.ToString(creds.Credentials.SessionToken))
	code, _, stderr = w.execStep(t, "--credentials=environment", "--", testBinary(t), "whoami", "14", "500ms")
	if code == 0 || !strings.Contains(stderr, "ExpiredToken") {
		t.Errorf("static keys outlived their session: exit %d\n%s", code, stderr)
	}

	w.postEnv()
	if code, stdout, stderr := w.run(context.Background(), "down"); code != cli.ExitOK {
		t.Fatalf("down exit %d:\n%s%s", code, stdout, stderr)
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
}

// Outside a run, with no credentials of its own, exec says so before the
// command starts; a run named only in part is refused, not guessed.
func TestExecWithoutCredentialsRefusesBeforeRunning(t *testing.T) {
	marker := t.TempDir() + "/ran"
	cases := map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"no run, no keys":     {nil, nil, "no credentials for the command"},
		"run asked, none":     {nil, []string{"--credentials=run"}, "no buildrole run in this job's environment"},
		"partial run":         {map[string]string{run.EnvRoleARN: "arn:aws:iam::123456789012:role/buildrole/x-1234abcd"}, nil, run.EnvTrust},
		"bad role arn":        {map[string]string{run.EnvRoleARN: "arn:aws:iam::1:role/x", run.EnvTrust: "chain", run.EnvSessionName: "s1", run.EnvDurationSeconds: "3600", run.EnvCreatedAt: "2026-12-07T00:00:00Z"}, nil, run.EnvRoleARN},
		"unknown credentials": {nil, []string{"--credentials=mine"}, "--credentials"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			srvCalls := 0
			getenv := func(k string) string { return c.env[k] }
			environ := []string{helperVar + "=1", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			var out, errb bytes.Buffer
			code := cli.Main(context.Background(), append(append([]string{"buildrole", "exec"}, c.args...), "--", testBinary(t), "marker", marker), cli.Env{
				Getenv: getenv, Stdout: &out, Stderr: &errb, Environ: func() []string { return environ },
				AWS: func(o *stsauth.Options) { srvCalls++ },
			})
			if code != cli.ExitUsage || !strings.Contains(errb.String(), c.want) || !strings.Contains(errb.String(), "the command was not run") {
				t.Errorf("exit %d, want %d naming %q:\n%s", code, cli.ExitUsage, c.want, errb.String())
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran")
			}
			if srvCalls != 0 {
				t.Errorf("%d AWS configurations made before refusing", srvCalls)
			}
		})
	}
}

// With --endpoint-url (an emulator) auto means the environment's own
// credentials: serving the run would hand the build role's real session,
// and fetch it with the job's OIDC token, for an emulator.
func TestExecWithEndpointKeepsTheEnvironmentsCredentials(t *testing.T) {
	h := run.Handover{RoleARN: "arn:aws:iam::123456789012:role/buildrole/x-1234abcd", Trust: run.TrustWebIdentity, Audience: "sts.amazonaws.com",
		SessionName: "s1", DurationSeconds: 3600, CreatedAt: time.Now()}.Env()
	r := execRun{credentials: "auto", getenv: func(k string) string { return h[k] },
		environ: []string{"AWS_ACCESS_KEY_ID=AKIDLOCAL0000000", "AWS_SECRET_ACCESS_KEY=s"}}
	code, stdout, stderr := r.run(t, "--endpoint-url", "http://127.0.0.1:1", "--", "sh", "-c", "echo ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-none} $AWS_ACCESS_KEY_ID")
	if code != 0 || strings.TrimSpace(stdout) != "none AKIDLOCAL0000000" {
		t.Errorf("exit %d, the command saw %q:\n%s", code, stdout, stderr)
	}
}
