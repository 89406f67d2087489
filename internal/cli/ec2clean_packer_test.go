package cli_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/run"
)

// Debian's packer 1.6.6, killed with SIGKILL while its instance runs,
// leaves its instance, temporary group, key pair and volume; the post
// step's `buildrole down` then leaves nothing of the run in EC2 or IAM.
// Packer 1.6.6 tags only the instance and its volumes, so the group and
// key pair are found through the instance. Another run's instance and
// temporaries and an earlier build's AMI and snapshots stay.
func TestDownAfterKilledPackerBuildLeavesNothing(t *testing.T) {
	p := startPackerBuild(t, fakeaws.PackerBuild{Sleep: 60 * time.Second}, nil)
	p.w.cleanup = fastCleanup
	ec2 := p.w.srv.EC2()
	other := seedKilled(p.w, otherRun, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	product := ec2.SeedImage(fakeaws.EC2Image{Owner: "123456789012", Name: "buildrole-test-earlier", Tags: map[string]string{run.TagManaged: "true", run.TagRunID: otherRun}})
	p.killWhileInstanceRuns(t)
	if !p.instanceRuns() {
		t.Fatal("no running instance after the kill: nothing to clean")
	}
	images, snaps := ec2.Images(), ec2.Snapshots()

	p.w.postEnv()
	p.w.srv.ResetRequests()
	code, stdout, stderr := p.w.run(context.Background(), "down")
	if code != cli.ExitOK {
		t.Fatalf("down exit %d:\n%s%s", code, stdout, stderr)
	}
	for _, in := range ec2.Instances() {
		if in.Tags[run.TagRunID] == p.runID && in.State != "terminated" && in.State != "shutting-down" {
			t.Errorf("instance left %+v", in)
		}
	}
	for _, g := range ec2.SecurityGroups() {
		if strings.HasPrefix(g.Name, "packer_") && g.ID != other.group {
			t.Errorf("group left %+v", g)
		}
	}
	for _, k := range ec2.KeyPairs() {
		if k.ID != other.key {
			t.Errorf("key pair left %+v", k)
		}
	}
	for _, v := range ec2.Volumes() {
		if v.Tags[run.TagRunID] == p.runID {
			t.Errorf("volume left %+v", v)
		}
	}
	if got := p.w.leftovers(); len(got) != 0 {
		t.Errorf("roles left: %v", got)
	}
	if left := ec2Left(p.w, other); len(left) != 4 {
		t.Errorf("another run's resources touched: %v", left)
	}
	if !slices.EqualFunc(images, ec2.Images(), func(a, b fakeaws.EC2Image) bool { return a.ID == b.ID && a.State == b.State }) ||
		len(snaps) != len(ec2.Snapshots()) || !slices.ContainsFunc(ec2.Images(), func(im fakeaws.EC2Image) bool { return im.ID == product }) {
		t.Errorf("images or snapshots touched: %v → %v", images, ec2.Images())
	}
	summary, _ := os.ReadFile(p.w.getenv("GITHUB_STEP_SUMMARY"))
	if !strings.Contains(string(summary), "3 removed, 0 remaining") {
		t.Errorf("summary:\n%s\nlog:\n%s", summary, stdout)
	}
	t.Logf("EC2 calls of down: %v", p.calls())
}

// No post step ran after the kill: sweep, as the bootstrap role, removes
// the run's instance (its volume goes with it) and roles. Packer 1.6.6
// left its group and key pair untagged, and the bootstrap role may remove
// only what carries the managed tag: sweep names them with the commands
// that finish the job and exits 3, never claiming them removed.
func TestSweepAfterKilledPackerBuild(t *testing.T) {
	p := startPackerBuild(t, fakeaws.PackerBuild{Sleep: 60 * time.Second}, nil)
	p.w.cleanup = fastCleanup
	p.killWhileInstanceRuns(t)
	ec2 := p.w.srv.EC2()
	var group, key string
	for _, in := range ec2.Instances() {
		if in.Tags[run.TagRunID] == p.runID {
			group, key = in.SecurityGroupIDs[0], in.KeyName
		}
	}
	p.w.set("INPUT_SWEEP-RUN-ID", p.runID)
	code, stdout, stderr := p.w.run(context.Background(), "sweep")
	all := stdout + stderr
	if code != cli.ExitLeftovers {
		t.Fatalf("sweep exit %d:\n%s", code, all)
	}
	for _, in := range ec2.Instances() {
		if in.Tags[run.TagRunID] == p.runID && in.State != "terminated" && in.State != "shutting-down" {
			t.Errorf("instance left %+v", in)
		}
	}
	for _, v := range ec2.Volumes() {
		if v.Tags[run.TagRunID] == p.runID {
			t.Errorf("volume left %+v", v)
		}
	}
	if got := p.w.leftovers(); len(got) != 0 {
		t.Errorf("roles left: %v", got)
	}
	if !strings.Contains(all, "aws ec2 delete-security-group --region us-east-1 --group-id "+group) || !strings.Contains(all, "aws ec2 delete-key-pair --region us-east-1") {
		t.Errorf("the untagged temporaries (%s, %s) are not named with their commands:\n%s", group, key, all)
	}
	if len(ec2.KeyPairs()) != 1 || ec2.KeyPairs()[0].Name != key {
		t.Errorf("key pairs %+v", ec2.KeyPairs())
	}
}
