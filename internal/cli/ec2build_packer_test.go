//go:build !windows

package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
)

// sourceAMI is the image the build templates start from; up derives the
// policy from the template, which names it.
const sourceAMI = "ami-0123456789abcdef0"

// packerBuild is a run's `up` and the packer command that builds b with
// the build role's exported credentials, not yet started.
type packerBuild struct {
	w      *world
	cmd    *exec.Cmd
	runID  string
	output strings.Builder
}

// startPackerBuild runs up for a template from fakeaws.PackerEBSTemplate
// and prepares Debian's packer 1.6.6 to build it as the job's next step
// would: GITHUB_ENV's keys, region and PKR_VAR_* in its environment.
// Inputs are extra action inputs (e.g. "INPUT_SCOPE": "tags").
func startPackerBuild(t *testing.T, b fakeaws.PackerBuild, inputs map[string]string) *packerBuild {
	t.Helper()
	return startPackerBuildWith(t, packerClient{packer: debianPacker(t), endpoint: true}, b, inputs)
}

// packerClient is the packer a build runs, the environment it needs beside
// the job's, and whether its template names fakeaws's EC2 endpoint (else
// it runs under exec --endpoint-url).
type packerClient struct {
	packer   string
	env      []string
	endpoint bool
}

func startPackerBuildWith(t *testing.T, c packerClient, b fakeaws.PackerBuild, inputs map[string]string) *packerBuild {
	t.Helper()
	w := newWorld(t)
	for k, v := range inputs {
		w.set(k, v)
	}
	// An older image the filter also matches: the most recent is used.
	w.srv.EC2().SeedImage(fakeaws.EC2Image{Name: "ubuntu-source-old", Owner: "099720109477", Created: time.Now().Add(-time.Hour)})
	w.srv.EC2().SeedImage(fakeEC2Image())
	if c.endpoint {
		b.Endpoint = w.srv.URL()
	}
	if b.SourceAMIName == "" {
		b.SourceAMI = sourceAMI
	}
	template := filepath.Join(w.dir, "web.pkr.hcl")
	if err := os.WriteFile(template, []byte(fakeaws.PackerEBSTemplate(b)), 0o644); err != nil {
		t.Fatal(err)
	}
	w.set("INPUT_TEMPLATE", template)
	if code, stdout, stderr := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s%s", code, stdout, stderr)
	}
	env := w.file("GITHUB_ENV")
	p := &packerBuild{w: w, runID: w.file("GITHUB_OUTPUT")["run-id"]}
	p.cmd = exec.Command(c.packer, "build", "-color=false", template)
	p.cmd.Dir = w.dir
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir, "PACKER_CONFIG_DIR=" + w.dir, "PACKER_CACHE_DIR=" + filepath.Join(w.dir, "cache"),
		"CHECKPOINT_DISABLE=1", "PACKER_LOG=1", "AWS_POLL_DELAY_SECONDS=1", "AWS_CONFIG_FILE=" + filepath.Join(w.dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(w.dir, "none")}
	p.cmd.Env = append(p.cmd.Env, c.env...)
	for k, v := range env {
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "PKR_VAR_") {
			p.cmd.Env = append(p.cmd.Env, k+"="+v)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	return p
}

func fakeEC2Image() fakeaws.EC2Image {
	return fakeaws.EC2Image{ID: sourceAMI, Name: "ubuntu-source", Owner: "099720109477"}
}

// calls lists the EC2 calls fakeaws answered, with their error codes.
func (p *packerBuild) calls() []string {
	var out []string
	for _, c := range p.w.srv.Requests() {
		if c.Service == "ec2" {
			out = append(out, c.Action+":"+c.ErrorCode)
		}
	}
	return out
}

// Debian's packer 1.6.6 runs a whole amazon-ebs build against fakeaws's
// EC2 with the build role's credentials from up: the generated policy
// allows everything a real build does, and the build leaves the AMI and
// its snapshots, run-tagged, and nothing else.
//
// Scope region only: packer 1.6.6's own Amazon builder creates its
// temporary key pair and security group without tags, so scope tags
// (which requires the run's tag on them) refuses its CreateKeyPair; that
// scope needs a packer-plugin-amazon that tags them with run_tags.
func TestPackerBuildsAnAMIWithTheBuildRole(t *testing.T) {
	for name, b := range map[string]fakeaws.PackerBuild{
		"source_ami": {},
		// The image found at build time, bound by its owner (ec2:Owner).
		"source_ami_filter": {SourceAMIName: "ubuntu-source*", SourceOwner: "099720109477"},
	} {
		t.Run(name, func(t *testing.T) { packerBuildsAnAMI(t, b) })
	}
}

func packerBuildsAnAMI(t *testing.T, b fakeaws.PackerBuild) {
	p := startPackerBuild(t, b, nil)
	p.buildsOneAMI(t)
}

// buildsOneAMI runs the build, which must succeed and leave one AMI with
// snapshots and nothing else of the run's.
func (p *packerBuild) buildsOneAMI(t *testing.T) fakeaws.EC2Image {
	t.Helper()
	if err := p.cmd.Run(); err != nil {
		t.Fatalf("packer: %v\n%v\n%s", err, p.calls(), tail(p.output.String(), 6000))
	}
	t.Logf("EC2 calls: %v", p.calls())
	ec2 := p.w.srv.EC2()
	var amis []fakeaws.EC2Image
	for _, im := range ec2.Images() {
		if !strings.HasPrefix(im.Name, "ubuntu-source") {
			amis = append(amis, im)
		}
	}
	if len(amis) != 1 || amis[0].State != "available" || !strings.HasPrefix(amis[0].Name, "buildrole-test-") {
		t.Fatalf("images %+v", amis)
	}
	for _, in := range ec2.Instances() {
		if in.State != "terminated" {
			t.Errorf("instance left %+v", in)
		} else if in.Tags["buildrole:run-id"] != p.runID || in.InstanceProfileARN == "" || in.ImageID != sourceAMI {
			t.Errorf("instance without the run's tags or profile: %+v", in)
		}
	}
	for _, g := range ec2.SecurityGroups() {
		if g.Name != "default" {
			t.Errorf("security group left %+v", g)
		}
	}
	if k := ec2.KeyPairs(); len(k) != 0 {
		t.Errorf("key pairs left %+v", k)
	}
	if v := ec2.Volumes(); len(v) != 0 {
		t.Errorf("volumes left %+v", v)
	}
	if len(amis[0].Devices) == 0 {
		t.Errorf("AMI without snapshots: %+v", amis[0])
	}
	return amis[0]
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// killWhileInstanceRuns starts the build and, once its instance runs and
// the provisioner sleeps, kills packer and its plugins with SIGKILL, as
// a runner that dies does: none of Packer's cleanup runs.
func (p *packerBuild) killWhileInstanceRuns(t *testing.T) {
	t.Helper()
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !p.instanceRuns() {
		select {
		case err := <-done:
			t.Fatalf("packer ended before its instance ran: %v\n%s", err, tail(p.output.String(), 4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running instance after 60 s: %v", p.calls())
		}
	}
	// Packer is in the provisioner once the instance runs (communicator none).
	time.Sleep(time.Second)
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
}

func (p *packerBuild) instanceRuns() bool {
	for _, in := range p.w.srv.EC2().Instances() {
		if in.State == "running" && in.Tags["buildrole:run-id"] == p.runID {
			return true
		}
	}
	return false
}

// A build killed while its instance runs leaves, in EC2, what Packer's
// cleanup would have removed: the instance running, its temporary
// security group and key pair, its volume in use. Teardown must remove
// them; this test shows they exist.
func TestKilledPackerBuildLeavesItsEC2Resources(t *testing.T) {
	p := startPackerBuild(t, fakeaws.PackerBuild{Sleep: 60 * time.Second}, nil)
	p.killWhileInstanceRuns(t)
	ec2 := p.w.srv.EC2()
	time.Sleep(500 * time.Millisecond) // nothing moves on its own
	ins := ec2.Instances()
	if len(ins) != 1 || ins[0].State != "running" || ins[0].Tags["buildrole:run-id"] != p.runID {
		t.Fatalf("instances %+v", ins)
	}
	var temp []string
	for _, g := range ec2.SecurityGroups() {
		if strings.HasPrefix(g.Name, "packer_") {
			temp = append(temp, g.ID)
		}
	}
	if len(temp) != 1 || len(ins[0].SecurityGroupIDs) != 1 || ins[0].SecurityGroupIDs[0] != temp[0] {
		t.Errorf("temporary groups %v, the instance's %v", temp, ins[0].SecurityGroupIDs)
	}
	keys := ec2.KeyPairs()
	if len(keys) != 1 || keys[0].Name != ins[0].KeyName || !strings.HasPrefix(keys[0].Name, "packer_") {
		t.Errorf("key pairs %+v, the instance's %q", keys, ins[0].KeyName)
	}
	vols := ec2.Volumes()
	if len(vols) != 1 || vols[0].State != "in-use" || vols[0].InstanceID != ins[0].ID || vols[0].Tags["buildrole:run-id"] != p.runID {
		t.Errorf("volumes %+v", vols)
	}
	if n := len(ec2.Images()); n != 2 {
		t.Errorf("%d images, want only the two sources", n)
	}
}
