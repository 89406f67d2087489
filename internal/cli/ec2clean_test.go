package cli_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

const otherRun = "77777777-0000-4000-8000-000000000000"

// killed seeds, for run id, what a Packer 1.8 build killed while its
// instance runs leaves: the instance, its temporary group and key pair,
// and a data volume, all with the run's tags.
type killed struct{ instance, group, key, volume string }

func seedKilled(w *world, id, expires string) killed {
	c := w.srv.EC2()
	tags := map[string]string{run.TagManaged: run.TagManagedValue, run.TagRunID: id, run.TagExpiresAt: expires, run.TagRepository: repo}
	var k killed
	k.group = c.SeedSecurityGroup(fakeaws.EC2SecurityGroup{Name: "packer_" + id[:8], Description: "Temporary group for Packer", Tags: tags})
	k.key = c.SeedKeyPair(fakeaws.EC2KeyPair{Name: "packer_" + id, Tags: tags})
	k.instance = c.SeedInstance(fakeaws.EC2Instance{KeyName: "packer_" + id, SecurityGroupIDs: []string{k.group}, Tags: tags, InstanceProfileARN: runProfileARN(id)})
	k.volume = c.SeedVolume(fakeaws.EC2Volume{InstanceID: k.instance, Device: "/dev/sdf", Tags: tags})
	return k
}

// runProfileARN is the instance profile up makes for run id in this
// world (instance role mode), the one Packer launches with.
func runProfileARN(id string) string {
	return "arn:aws:iam::123456789012:instance-profile/buildrole/buildrole-images-pr42-" + run.Short(id) + run.InstanceSuffix
}

// ec2Left lists what of k is still there (an instance only while not
// terminated).
func ec2Left(w *world, k killed) []string {
	c := w.srv.EC2()
	var out []string
	for _, in := range c.Instances() {
		if in.ID == k.instance && in.State != "terminated" && in.State != "shutting-down" {
			out = append(out, in.ID+" "+in.State)
		}
	}
	for _, g := range c.SecurityGroups() {
		if g.ID == k.group {
			out = append(out, g.ID)
		}
	}
	for _, kp := range c.KeyPairs() {
		if kp.ID == k.key {
			out = append(out, kp.ID)
		}
	}
	for _, v := range c.Volumes() {
		if v.ID == k.volume {
			out = append(out, v.ID)
		}
	}
	return out
}

func fastCleanup(o *leftovers.Options) { o.Poll = 50 * time.Millisecond }

// The post step of a job whose build was killed removes the build's EC2
// leftovers before the roles, as the build role (the job's fresh token);
// another run's resources and the product AMI stay. The step summary and
// the log count them.
func TestPostStepRemovesAKilledBuildsEC2Leftovers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.cleanup = fastCleanup
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, out)
	}
	outs := w.file("GITHUB_OUTPUT")
	k := seedKilled(w, outs["run-id"], outs["expires-at"])
	other := seedKilled(w, otherRun, outs["expires-at"])
	ec2 := w.srv.EC2()
	ami := ec2.SeedImage(fakeaws.EC2Image{Owner: "123456789012", Name: "product", Tags: map[string]string{run.TagRunID: outs["run-id"]}})
	images, snaps := len(ec2.Images()), len(ec2.Snapshots())

	w.postEnv()
	w.srv.ResetRequests()
	code, stdout, stderr := w.run(context.Background(), "down")
	if code != cli.ExitOK {
		t.Fatalf("down exit %d:\n%s%s", code, stdout, stderr)
	}
	if left := ec2Left(w, k); len(left) != 0 {
		t.Errorf("EC2 leftovers remain: %v", left)
	}
	if left := ec2Left(w, other); len(left) != 4 {
		t.Errorf("another run's resources touched: %v left of 4", left)
	}
	if len(ec2.Images()) != images || len(ec2.Snapshots()) != snaps || !slices.ContainsFunc(ec2.Images(), func(im fakeaws.EC2Image) bool { return im.ID == ami }) {
		t.Error("an image or snapshot was touched")
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Errorf("roles left: %v", got)
	}
	// As the build role, before the roles went; never an image call.
	var ec2Key, iamKey string
	lastEC2, firstDelete := -1, -1
	for i, c := range w.srv.Requests() {
		switch {
		case c.Service == "ec2":
			ec2Key, lastEC2 = c.AccessKeyID, i
			if strings.Contains(c.Action, "Image") || strings.Contains(c.Action, "Snapshot") {
				t.Errorf("called %s", c.Action)
			}
		case c.Action == "GetRole":
			iamKey = c.AccessKeyID
		case strings.HasPrefix(c.Action, "Delete") && c.Service == "iam" && firstDelete < 0:
			firstDelete = i
		}
	}
	if ec2Key == "" || ec2Key == iamKey || !strings.Contains(stdout, "as build role "+outs["role-name"]) {
		t.Errorf("EC2 cleanup not as the build role (EC2 key %q, IAM key %q):\n%s", ec2Key, iamKey, stdout)
	}
	if firstDelete < lastEC2 {
		t.Errorf("IAM deletes began (call %d) before the EC2 cleanup ended (call %d)", firstDelete, lastEC2)
	}
	summary, _ := os.ReadFile(w.getenv("GITHUB_STEP_SUMMARY"))
	if !strings.Contains(string(summary), "4 removed, 0 remaining") || !strings.Contains(stdout, "4 EC2 leftovers of the build removed") {
		t.Errorf("counts missing:\n%s\n%s", summary, stdout)
	}
}

// Chain mode: teardown assumes the build role from the bootstrap session
// (the runner's own identity).
func TestChainModeDownRemovesEC2LeftoversAsTheBuildRole(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.cleanup = fastCleanup
	w.set("INPUT_ROLE-TO-ASSUME", "")
	w.set("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	w.tune = func(o *stsauth.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKIDRUNNER", "runner-secret", "")
	}
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, out)
	}
	outs := w.file("GITHUB_OUTPUT")
	k := seedKilled(w, outs["run-id"], outs["expires-at"])
	w.postEnv()
	w.srv.ResetRequests()
	code, stdout, stderr := w.run(context.Background(), "down")
	if code != cli.ExitOK || len(ec2Left(w, k)) != 0 {
		t.Fatalf("down exit %d, left %v:\n%s%s", code, ec2Left(w, k), stdout, stderr)
	}
	if w.srv.CountCalls("AssumeRole") != 1 || !strings.Contains(stdout, "as build role "+outs["role-name"]) {
		t.Errorf("not as the build role by AssumeRole:\n%s", stdout)
	}
}

// What EC2 still holds when the bound runs out is named with the commands
// that finish the job; the roles go, the state stays, and down says exit
// 3, never success.
func TestDownReportsEC2LeftoversItCouldNotRemove(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.cleanup = func(o *leftovers.Options) { o.Poll, o.Wait = 50*time.Millisecond, 600*time.Millisecond }
	w.srv.EC2().SetDelays(fakeaws.EC2Delays{ShuttingDown: time.Hour})
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, out)
	}
	outs := w.file("GITHUB_OUTPUT")
	k := seedKilled(w, outs["run-id"], outs["expires-at"])
	w.postEnv()
	code, stdout, stderr := w.run(context.Background(), "down")
	if code != cli.ExitLeftovers {
		t.Fatalf("down exit %d, want %d:\n%s%s", code, cli.ExitLeftovers, stdout, stderr)
	}
	all := stdout + stderr
	for _, want := range []string{
		"security-group " + k.group + " in us-east-1 (left)",
		"aws ec2 delete-security-group --region us-east-1 --group-id " + k.group,
		"aws ec2 delete-volume --region us-east-1 --volume-id " + k.volume,
		"buildrole sweep --run-id " + outs["run-id"],
	} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q:\n%s", want, all)
		}
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Errorf("roles left: %v", got)
	}
	if st := w.file("GITHUB_STATE"); st[run.KeyRunID] != outs["run-id"] || st[run.KeyRegions] == "" {
		t.Errorf("state not kept for a retry: %v", st)
	}
	if strings.Contains(all, "removed (") && !strings.Contains(all, "remain") {
		t.Errorf("reported as done:\n%s", all)
	}
}

// A state whose regions are not region codes is bad input: exit 2, no
// call at all.
func TestDownRefusesBadRegionsInState(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, out)
	}
	w.postEnv()
	for _, bad := range []string{"us-east-1,../../x", "us-east-1,us-east-1", "us_east_1"} {
		w.set("STATE_"+run.KeyRegions, bad)
		w.srv.ResetRequests()
		code, stdout, stderr := w.run(context.Background(), "down")
		if code != cli.ExitUsage || !strings.Contains(stdout+stderr, run.KeyRegions+":") {
			t.Errorf("%q: exit %d:\n%s%s", bad, code, stdout, stderr)
		}
		if n := len(w.srv.Requests()); n != 0 {
			t.Errorf("%q: %d calls", bad, n)
		}
	}
}

// When no post step ran, sweep removes the killed run's EC2 leftovers with
// the bootstrap role: by run id, or once expired; a live run stays.
func TestSweepRemovesKilledRunsEC2Leftovers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.cleanup = fastCleanup
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, out)
	}
	outs := w.file("GITHUB_OUTPUT")
	live := seedKilled(w, outs["run-id"], outs["expires-at"])
	expired := seedKilled(w, otherRun, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	unmanaged := w.srv.EC2().SeedInstance(fakeaws.EC2Instance{Tags: map[string]string{run.TagRunID: otherRun, run.TagExpiresAt: "2000-01-01T00:00:00Z"}})

	code, stdout, stderr := w.run(context.Background(), "sweep")
	if code != cli.ExitOK {
		t.Fatalf("sweep exit %d:\n%s\n%s", code, stdout, stderr)
	}
	if left := ec2Left(w, expired); len(left) != 0 {
		t.Errorf("expired run's leftovers remain: %v", left)
	}
	if left := ec2Left(w, live); len(left) != 4 {
		t.Errorf("a live run's resources touched: %v", left)
	}
	if !slices.ContainsFunc(w.srv.EC2().Instances(), func(in fakeaws.EC2Instance) bool { return in.ID == unmanaged && in.State == "running" }) {
		t.Error("an instance without the managed tag was terminated")
	}
	if !strings.Contains(stdout, "EC2 in us-east-1: 4 leftovers of 1 runs removed") {
		t.Errorf("no count:\n%s", stdout)
	}
	// The killed run, named: its leftovers go now, its roles with them.
	w.set("INPUT_SWEEP-RUN-ID", outs["run-id"])
	code, stdout, stderr = w.run(context.Background(), "sweep")
	if code != cli.ExitOK || len(ec2Left(w, live)) != 0 || len(w.leftovers()) != 0 {
		t.Fatalf("sweep --run-id exit %d, left %v %v:\n%s%s", code, ec2Left(w, live), w.leftovers(), stdout, stderr)
	}
}

// up warns, in the log and as an annotation, when the template does not
// tag what a killed build would leave; it still runs (scope: region).
func TestUpWarnsWhenTheTemplateDoesNotTagItsLeftovers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_TEMPLATE", "../../testdata/templates/basic-ebs.pkr.hcl")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, stdout)
	}
	var warnings []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "::warning") && strings.Contains(l, "does not pass var.buildrole_run_tags") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 2 || !strings.Contains(strings.Join(warnings, "\n"), "run_volume_tags") {
		t.Errorf("annotations %q:\n%s", warnings, stdout)
	}
	w = newWorld(t)
	w.set("INPUT_TEMPLATE", "../../testdata/templates/copy-share.pkr.hcl")
	if _, stdout, _ = w.run(context.Background(), "up"); strings.Contains(stdout, "does not pass var.buildrole_run_tags") {
		t.Errorf("warned about a template that tags its leftovers:\n%s", stdout)
	}
}

// EC2 refuses the listing to the build role (a policy made before these
// grants). Nothing is known of the region, so down says so and exits 3;
// it does not try again as the bootstrap session, which is used only when
// the build role cannot be assumed.
func TestDownReportsTheRegionWhenEC2RefusesTheListing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, out)
	}
	w.postEnv()
	w.srv.InjectFault(fakeaws.Fault{Action: "DescribeInstances", Code: "UnauthorizedOperation", Status: 403, Message: "You are not authorized to perform this operation."})
	code, stdout, stderr := w.run(context.Background(), "down")
	all := stdout + stderr
	if code != cli.ExitLeftovers || !strings.Contains(all, "UnauthorizedOperation") || !strings.Contains(all, "buildrole sweep --run-id") || strings.Contains(all, "as the bootstrap session") {
		t.Errorf("exit %d:\n%s", code, all)
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Errorf("roles left: %v", got)
	}
}
