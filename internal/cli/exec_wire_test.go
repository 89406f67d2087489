package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

// sdkHelper is a command on the AWS SDK for Go v2, which sends no
// client-side monitoring events: it loads its configuration as any v2
// client does (HTTPS_PROXY, AWS_CA_BUNDLE, the keys from the environment)
// and calls AWS's own endpoints.
func sdkHelper() int {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 96
	}
	_, err1 := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, nil)
	_, err2 := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("builder")})
	_, err3 := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("escape"), AssumeRolePolicyDocument: aws.String("{}")})
	fmt.Fprintf(os.Stderr, "sdk: %v | %v | %v\n", err1, err2, err3)
	if err1 != nil || err2 != nil || err3 == nil {
		return 95
	}
	return 4
}

// sessionFor is a session of a role in srv allowed only GetRole: fakeaws
// knows its secret, so a request the proxy changed is refused.
func sessionFor(t *testing.T, srv *fakeaws.Server) []string {
	t.Helper()
	srv.AddRole("builder", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)
	srv.PutRolePolicyDirect("builder", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}`)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("AKIAADMINADMINADMIN0", "secret", "")}
	out, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/builder"), RoleSessionName: aws.String("build")})
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	c := out.Credentials
	return []string{"AWS_ACCESS_KEY_ID=" + *c.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + *c.SecretAccessKey, "AWS_SESSION_TOKEN=" + *c.SessionToken}
}

// A client on SDK v2 under exec --endpoint-url: its calls to AWS's own
// hosts reach fakeaws through the proxy with their signatures intact (the
// session's are checked), and the report lists what fakeaws logged, the
// refusal with its fix, the command's exit code, and no key.
func TestExecObservesSDKv2OnTheWire(t *testing.T) {
	srv := fakeaws.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	creds := sessionFor(t, srv)
	reportFile := filepath.Join(dir, "report.json")
	r := execRun{environ: append(creds, "AWS_REGION=us-east-1", "AWS_PROFILE=", "AWS_CONFIG_FILE="+filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"), "AWS_EC2_METADATA_DISABLED=true", "HTTPS_PROXY=", "NO_PROXY=")}
	code, stdout, stderr := r.run(t, "--template", "../../testdata/templates/basic-ebs.pkr.hcl", "--aws-region", "us-east-1",
		"--endpoint-url", srv.URL(), "--report", reportFile, "--", testBinary(t), "sdk")
	if code != 4 {
		t.Fatalf("exit %d, want the command's 4:\n%s%s", code, stdout, stderr)
	}
	rep, _ := readReport(t, reportFile)
	var seen, reported []string
	for _, c := range srv.Requests() {
		seen = append(seen, c.Service+":"+c.Action)
	}
	for _, c := range rep.Calls {
		for range c.Count {
			reported = append(reported, c.Service+":"+c.API)
		}
	}
	slices.Sort(seen)
	slices.Sort(reported)
	if want := []string{"iam:CreateRole", "iam:GetRole", "sts:GetCallerIdentity"}; !slices.Equal(seen, want) || !slices.Equal(reported, want) {
		t.Errorf("fakeaws saw %v, the report counts %v", seen, reported)
	}
	if len(rep.Denied) != 1 || rep.Denied[0].Action != "iam:CreateRole" || rep.Denied[0].Fix == "" || !rep.Observed {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(stderr, "denied: iam:CreateRole in us-east-1 (AccessDenied x1)") {
		t.Errorf("summary:\n%s", stderr)
	}
	key := strings.TrimPrefix(creds[0], "AWS_ACCESS_KEY_ID=")
	b, _ := os.ReadFile(reportFile)
	if strings.Contains(string(b)+stdout+stderr[strings.Index(stderr, "buildrole exec:"):], key) {
		t.Error("the access key id reached the report or the summary")
	}
}

// A bad --endpoint-url is bad input: exit 2, the command never runs.
func TestExecEndpointURLChecked(t *testing.T) {
	for _, u := range []string{"ftp://x", "http://", "http://h/path", "http://h?q=1", "http://u:p@h", "h:1"} {
		marker := filepath.Join(t.TempDir(), "ran")
		code, _, stderr := execRun{}.run(t, "--endpoint-url", u, "--", testBinary(t), "marker", marker)
		if _, err := os.Stat(marker); code != 2 || err == nil || !strings.Contains(stderr, "--endpoint-url") {
			t.Errorf("%s: exit %d, ran %v:\n%s", u, code, err == nil, stderr)
		}
	}
}

// A client sent straight to an endpoint of its own (AWS_ENDPOINT_URL on
// loopback, as a template's custom_endpoint_* would) passes no proxy: the
// report says the calls were not observed and why, not "none used".
func TestExecNotObservedIsNotNothingUsed(t *testing.T) {
	srv := fakeaws.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	reportFile := filepath.Join(dir, "report.json")
	r := execRun{environ: append(sessionFor(t, srv), "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL="+srv.URL(), "AWS_PROFILE=", "AWS_CONFIG_FILE="+filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"), "AWS_EC2_METADATA_DISABLED=true")}
	code, _, stderr := r.run(t, "--template", "../../testdata/templates/basic-ebs.pkr.hcl", "--aws-region", "us-east-1", "--report", reportFile, "--", testBinary(t), "sdk")
	if code != 4 || srv.CountCalls("") != 3 {
		t.Fatalf("exit %d, fakeaws saw %d calls:\n%s", code, srv.CountCalls(""), stderr)
	}
	rep, _ := readReport(t, reportFile)
	if rep.Observed || rep.Used != nil || len(rep.Unused) != 0 || !strings.Contains(rep.Message, "none passed exec's proxy") ||
		!strings.Contains(stderr, "--endpoint-url") {
		t.Errorf("report %+v\n%s", rep, stderr)
	}
}

// The user's AWS_CA_BUNDLE, read from the command's environment, must be
// readable: exec trusts it upstream and hands it on.
func TestExecUnreadableCABundle(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	r := execRun{environ: []string{"AWS_CA_BUNDLE=" + filepath.Join(t.TempDir(), "missing.pem")}}
	code, _, stderr := r.run(t, "--", testBinary(t), "marker", marker)
	if _, err := os.Stat(marker); code != 2 || err == nil || !strings.Contains(stderr, "AWS_CA_BUNDLE=") {
		t.Errorf("exit %d, ran %v:\n%s", code, err == nil, stderr)
	}
}
