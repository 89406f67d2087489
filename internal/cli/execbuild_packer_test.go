//go:build !windows

package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/buildrole/buildrole/internal/fakeaws"
)

// A build that lasts more than three credential lifetimes succeeds under
// exec, which serves Debian's packer 1.6.6 (AWS SDK for Go v1) the build
// role's sessions and renews them; nothing secret is in the job's files.
// The control, the same build with one exported session, fails when that
// session expires: fakeaws enforces the lifetime as EC2 does.
func TestLongPackerBuildUnderExec(t *testing.T) {
	const life = 3 * time.Second
	build := fakeaws.PackerBuild{Sleep: 10 * time.Second}

	p := startPackerBuild(t, build, map[string]string{"INPUT_EXPORT-CREDENTIALS": "false"})
	p.w.srv.SetSessionLifetime(life)
	start := time.Now()
	code, stdout, stderr := p.w.execStepIn(t, p.cmd.Env, append([]string{"--", p.cmd.Path}, p.cmd.Args[1:]...)...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exec exit %d after %s:\n%s\n%s", code, took, tail(stdout, 4000), tail(stderr, 4000))
	}
	if took < 3*life {
		t.Fatalf("the build took %s, not three lifetimes of %s: the test proves nothing", took, life)
	}
	if !p.producedAMI() {
		t.Errorf("no AMI: %v", p.calls())
	}
	assumed := 0
	for _, c := range p.w.srv.Requests() {
		if c.Action == "AssumeRoleWithWebIdentity" && strings.Contains(c.Params.Get("RoleArn"), ":role/buildrole/") && c.Status == 200 {
			assumed++
		}
	}
	if assumed < 3 {
		t.Errorf("%d build-role sessions over %s of %s sessions", assumed, took, life)
	}

	// The control: exported static keys, one session.
	q := startPackerBuild(t, build, nil)
	q.w.srv.SetSessionLifetime(life)
	// The keys up exported were issued before the knob: issue them again.
	q.reissue(t)
	q.refusedExpired(t)
}

func (p *packerBuild) producedAMI() bool {
	for _, im := range p.w.srv.EC2().Images() {
		if strings.HasPrefix(im.Name, "buildrole-test-") && im.State == "available" {
			return true
		}
	}
	return false
}

// reissue replaces the exported keys in the build's environment with a
// session of the build role issued now, under the server's lifetime.
func (p *packerBuild) reissue(t *testing.T) {
	t.Helper()
	token, err := p.w.srv.MintToken("sts.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.w.srv.URL())}).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(p.w.file("GITHUB_OUTPUT")["role-arn"]), RoleSessionName: aws.String("control"), WebIdentityToken: aws.String(token),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	keys := map[string]string{"AWS_ACCESS_KEY_ID": aws.ToString(c.AccessKeyId), "AWS_SECRET_ACCESS_KEY": aws.ToString(c.SecretAccessKey), "AWS_SESSION_TOKEN": aws.ToString(c.SessionToken)}
	for i, kv := range p.cmd.Env {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := keys[k]; ok {
			p.cmd.Env[i] = k + "=" + v
		}
	}
}
