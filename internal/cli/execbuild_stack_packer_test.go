//go:build !windows

package cli_test

import (
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/testenv"
)

// Today's client stack, packer 1.9.5 loading packer-plugin-amazon 1.8.2
// (the AWS SDK for Go v2, which also calls STS and IAM), builds for more
// than three credential lifetimes under exec --endpoint-url: every AWS
// call goes to fakeaws through exec's proxy, signed with the sessions exec
// serves from its container-credentials endpoint and renews. The control,
// the same build on one exported session (static keys in the environment,
// exec only routing), is refused RequestExpired and makes no AMI.
func TestLongSDKv2PackerBuildUnderExec(t *testing.T) {
	packer, plugins := testenv.PackerStack(t)
	const life = 3 * time.Second
	client := packerClient{packer: packer, env: []string{"PACKER_PLUGIN_PATH=" + plugins,
		"AWS_EC2_METADATA_DISABLED=true", "HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY="}}
	build := fakeaws.PackerBuild{Sleep: 10 * time.Second, AmazonPlugin: ">= 1.3"}

	// RUNNER_TEMP: up saves the policy there, exec compares the calls with it.
	p := startPackerBuildWith(t, client, build, map[string]string{"INPUT_EXPORT-CREDENTIALS": "false", "RUNNER_TEMP": t.TempDir()})
	p.w.srv.SetSessionLifetime(life)
	start := time.Now()
	code, stdout, stderr := p.w.execStepIn(t, p.cmd.Env, append([]string{"--credentials=run", "--endpoint-url", p.w.srv.URL(), "--", p.cmd.Path}, p.cmd.Args[1:]...)...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exec exit %d after %s:\n%s\n%s", code, took, tail(stdout, 6000), tail(stderr, 4000))
	}
	if took < 3*life {
		t.Fatalf("the build took %s, not three lifetimes of %s: the test proves nothing", took, life)
	}
	if !p.producedAMI() {
		t.Errorf("no AMI: %v", p.calls())
	}
	if strings.Contains(stderr, "denied:") || !strings.Contains(stderr, "0 denied") {
		t.Errorf("the build role's policy refused the build something:\n%s", tail(stderr, 4000))
	}
	assumed := 0
	var seen []string
	for _, c := range p.w.srv.Requests() {
		if c.Action == "AssumeRoleWithWebIdentity" && strings.Contains(c.Params.Get("RoleArn"), ":role/buildrole/") && c.Status == 200 {
			assumed++
		}
		if c.Service != "ec2" && c.Status == 200 && c.Start.After(start) && !slices.Contains(seen, c.Service+":"+c.Action) {
			seen = append(seen, c.Service+":"+c.Action)
		}
	}
	if assumed < 3 {
		t.Errorf("%d build-role sessions over %s of %s sessions", assumed, took, life)
	}
	// The plugin's own IAM call reached fakeaws, not AWS.
	if !slices.Contains(seen, "iam:GetInstanceProfile") {
		t.Errorf("fakeaws answered %v besides EC2: the plugin's IAM call went elsewhere", seen)
	}
	t.Logf("%s over %d sessions; besides EC2: %v\n%s", took.Round(time.Second), assumed, seen, stderr[strings.LastIndex(stderr, "buildrole exec:"):])

	// The control: one session exported, exec only routing the calls.
	q := startPackerBuildWith(t, client, build, nil)
	q.w.srv.SetSessionLifetime(life)
	q.reissue(t)
	exported := q.cmd
	q.cmd = exec.Command(testBinary(t), append([]string{"exec", "--credentials=environment", "--endpoint-url", q.w.srv.URL(), "--", exported.Path}, exported.Args[1:]...)...)
	q.cmd.Dir, q.cmd.Stdout, q.cmd.Stderr = exported.Dir, exported.Stdout, exported.Stderr
	q.cmd.Env = append(exported.Env, runAsCLI+"=1")
	q.refusedExpired(t)
}

// refusedExpired runs p's command until EC2 refuses its session as
// expired, or it ends, and fails t unless it was refused and made no AMI.
// Packer may retry an expired session for minutes: seen once, enough.
func (p *packerBuild) refusedExpired(t *testing.T) {
	t.Helper()
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	expired := func() bool { return strings.Contains(strings.Join(p.calls(), " "), ":RequestExpired") }
	for deadline := time.Now().Add(2 * time.Minute); !expired() && time.Now().Before(deadline); {
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("the build outlived its only session: %v", p.calls())
			}
			done <- err
		case <-time.After(200 * time.Millisecond):
			continue
		}
		break
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-done
	if !expired() {
		t.Errorf("the control failed, but not on its expired session: %v\n%s", p.calls(), tail(p.output.String(), 4000))
	}
	if p.producedAMI() {
		t.Error("the control produced an AMI after its session expired")
	}
}
