package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/run"
)

// A self-hosted EC2 runner as GitHub's runner runs the action there: no
// role-to-assume, no AWS files (an empty HOME), the identity its instance
// profile serves through IMDSv2, and the post step started with what up
// wrote to GITHUB_ENV (the build role's keys). Teardown passes over those
// keys and acts as the instance's role, though no profile named "default"
// exists anywhere. Not parallel: the SDK reads the process environment.
func TestSelfHostedRunnerWithoutAWSFilesTearsDown(t *testing.T) {
	w, out, served := selfHostedRunner(t)

	if code, stdout, stderr := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s%s", code, stdout, stderr)
	}
	w.postEnv()
	exported := w.getenv("AWS_ACCESS_KEY_ID")
	if exported == "" || exported == aws.ToString(out.Credentials.AccessKeyId) {
		t.Fatalf("up exported %q, want the build role's keys", exported)
	}
	before := served.Load()
	w.srv.ResetRequests()
	code, stdout, stderr := w.run(context.Background(), "down")
	if code != cli.ExitOK {
		t.Fatalf("down exit %d:\n%s%s", code, stdout, stderr)
	}
	if served.Load() == before {
		t.Error("down did not take the instance's role from IMDS")
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
	for _, c := range w.srv.Requests() {
		if c.AccessKeyID == exported {
			t.Errorf("%s was signed with the exported build-role key", c.Action)
		}
	}
}

// selfHostedRunner is a world whose runner is an EC2 instance: no OIDC, no
// role-to-assume, no AWS files (an empty HOME), and the instance role
// ci-runner's session (out) served by an IMDSv2 endpoint that counts what
// it serves. It sets the process environment: not for parallel tests.
func selfHostedRunner(t *testing.T) (*world, *sts.AssumeRoleOutput, *atomic.Int32) {
	t.Helper()
	w := newWorld(t)
	runnerRole := install(t, w.srv, accountSetup(t), "ci-runner", "/runners/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)
	admin := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDADMIN", "s", ""), BaseEndpoint: aws.String(w.srv.URL())}
	out, err := sts.NewFromConfig(admin).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(runnerRole), RoleSessionName: aws.String("i-0123456789abcdef0")})
	if err != nil {
		t.Fatal(err)
	}
	imds, served := fakeIMDS(t, "ci-runner", out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds)
	w.set("INPUT_ROLE-TO-ASSUME", "")
	w.set("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	return w, out, served
}

// fakeIMDS serves an instance role's credentials as IMDSv2 does: a token
// from PUT /latest/api/token, required on every read. It counts the
// credentials it hands out.
func fakeIMDS(t *testing.T, role string, key, secret, token *string) (string, *atomic.Int32) {
	t.Helper()
	var served atomic.Int32
	const session = "imds-session-token"
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			rw.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
			rw.Write([]byte(session))
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != session {
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch strings.TrimSuffix(r.URL.Path, "/") {
		case "/latest/meta-data/iam/security-credentials":
			rw.Write([]byte(role))
		case "/latest/meta-data/iam/security-credentials/" + role:
			served.Add(1)
			json.NewEncoder(rw).Encode(map[string]string{
				"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": time.Now().UTC().Format(time.RFC3339),
				"AccessKeyId": aws.ToString(key), "SecretAccessKey": aws.ToString(secret), "Token": aws.ToString(token),
				"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			})
		default:
			http.NotFound(rw, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &served
}

// A self-hosted runner without OIDC whose job keeps the default
// export-credentials: exec serves the build role from the runner's own
// identity (IMDS), passing over the build-role keys up exported to the
// job's environment, which the build role's trust does not admit.
func TestSelfHostedExecServesFromTheRunnersIdentity(t *testing.T) {
	w, _, _ := selfHostedRunner(t)
	if code, stdout, stderr := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s%s", code, stdout, stderr)
	}
	env := w.file("GITHUB_ENV")
	if env["AWS_ACCESS_KEY_ID"] == "" || env[run.EnvExportedKeyID] != env["AWS_ACCESS_KEY_ID"] {
		t.Fatalf("up exported keys %q and handed over %q", env["AWS_ACCESS_KEY_ID"], env[run.EnvExportedKeyID])
	}
	// Chain mode's session is the runner's, so exec must sign its
	// AssumeRole with the instance's role, read through os.Getenv as the
	// process would: the exported keys are in the job's environment.
	for k, v := range env {
		t.Setenv(k, v)
	}
	code, stdout, stderr := w.execStepIn(t, append(os.Environ(), helperVar+"=1", "AWS_ENDPOINT_URL="+w.srv.URL()), "--", testBinary(t), "whoami", "2", "10ms")
	if code != 0 {
		t.Fatalf("exec exit %d:\n%s\n%s", code, stdout, stderr)
	}
	roleName := w.file("GITHUB_OUTPUT")["role-name"]
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !strings.Contains(line, ":assumed-role/"+roleName+"/") {
			t.Errorf("the command ran as %q, want a session of %s", line, roleName)
		}
	}
}
