package leftovers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/buildrole/buildrole/internal/fakeaws"
	fec2 "github.com/buildrole/buildrole/internal/fakeaws/ec2"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/run"
)

const (
	runID   = "3f9c2a1b-0000-4000-8000-000000000000"
	otherID = "77777777-0000-4000-8000-000000000000"
	account = "123456789012"
)

func runTags(id string) fec2.Tags {
	return fec2.Tags{run.TagManaged: run.TagManagedValue, run.TagRunID: id, run.TagExpiresAt: "2030-01-01T06:00:00Z", "Name": "Packer Builder"}
}

// start is fakeaws with its EC2; key signs as the account's administrator
// unless the test adds it as a user.
func start(t *testing.T, d fec2.Delays) (*fakeaws.Server, *fec2.Cloud) {
	t.Helper()
	s := fakeaws.NewServer()
	t.Cleanup(s.Close)
	c := s.EC2()
	c.SetDelays(d)
	return s, c
}

func client(s *fakeaws.Server, key, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region: region, BaseEndpoint: aws.String(s.URL()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, "secret", ""),
	})
}

func opts(id string) leftovers.Options {
	return leftovers.Options{RunID: id, Wait: 20 * time.Second, Poll: 50 * time.Millisecond}
}

// killedBuild seeds what Packer 1.8 leaves when killed while its instance
// runs: the instance, its temporary group and key pair (run_tags), its
// root volume and a data volume that outlives it (run_volume_tags).
type killedBuild struct{ instance, group, key, rootVol, dataVol string }

func seedKilledBuild(c *fec2.Cloud, id, region string, tagTemporaries bool) killedBuild {
	var k killedBuild
	tempTags := runTags(id)
	if !tagTemporaries {
		tempTags = nil // plugins before 1.8 tag only instances and volumes
	}
	k.group = c.SeedSecurityGroup(fec2.SecurityGroup{Region: region, Name: "packer_" + id[:8], Description: "Temporary group for Packer", Tags: tempTags})
	k.key = c.SeedKeyPair(fec2.KeyPair{Region: region, Name: "packer_" + id, Tags: tempTags})
	k.instance = c.SeedInstance(fec2.Instance{Region: region, KeyName: "packer_" + id, SecurityGroupIDs: []string{k.group}, Tags: runTags(id), InstanceProfileARN: profileOf(id)})
	k.dataVol = c.SeedVolume(fec2.Volume{Region: region, InstanceID: k.instance, Device: "/dev/sdf", Tags: runTags(id)})
	for _, v := range c.Volumes() {
		if v.InstanceID == k.instance && v.ID != k.dataVol {
			k.rootVol = v.ID
		}
	}
	return k
}

// profileOf is the instance profile run id's build launches with.
func profileOf(id string) string {
	return "arn:aws:iam::123456789012:instance-profile/buildrole/buildrole-octo-app-pr42-" + run.Short(id) + run.InstanceSuffix
}

func statusOf(rep *leftovers.Report, id string) string {
	for _, o := range rep.Outcomes {
		if o.ID == id {
			return o.Status
		}
	}
	return "(not in report)"
}

func has[T any](list []T, pred func(T) bool) bool { return slices.ContainsFunc(list, pred) }

// A killed build's instance is terminated, its group deleted once the
// instance is gone (DependencyViolation until then), its key pair deleted,
// its data volume deleted once detached; the root volume goes with the
// instance. Another run's instance and group, a foreign packer_ group, the
// product AMI and snapshots stay.
func TestCleanRemovesAKilledBuild(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{ShuttingDown: 1500 * time.Millisecond, VolumeDetach: 400 * time.Millisecond})
	k := seedKilledBuild(c, runID, "us-east-1", true)
	other := seedKilledBuild(c, otherID, "us-east-1", true)
	foreign := c.SeedSecurityGroup(fec2.SecurityGroup{Name: "packer_someone_else", Description: "Temporary group for Packer"})
	ami := c.SeedImage(fec2.Image{Owner: account, Name: "product", Tags: runTags(runID)})
	images, snaps := len(c.Images()), len(c.Snapshots())

	rep, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", opts(runID))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{k.instance: leftovers.StatusRemoved, k.group: leftovers.StatusRemoved, k.key: leftovers.StatusRemoved, k.dataVol: leftovers.StatusRemoved} {
		if got := statusOf(rep, id); got != want {
			t.Errorf("%s: %s, want %s\n%+v", id, got, want, rep.Outcomes)
		}
	}
	if n := rep.Removed(); n != 4 || len(rep.Remaining()) != 0 {
		t.Errorf("removed %d, remaining %v", n, rep.Remaining())
	}
	// Proof of the order EC2 imposes: the group was refused while the
	// instance shut down.
	refused := 0
	for _, call := range s.Requests() {
		if call.Action == "DeleteSecurityGroup" && call.ErrorCode == "DependencyViolation" {
			refused++
		}
		if call.Action == "DeregisterImage" || call.Action == "DeleteSnapshot" || strings.Contains(call.Action, "Image") && call.Action != "DescribeImages" {
			t.Errorf("called %s", call.Action)
		}
	}
	if refused == 0 {
		t.Error("the group was never refused while the instance shut down: the test does not exercise the wait")
	}
	if !has(c.Instances(), func(in fec2.Instance) bool { return in.ID == k.instance && in.State == "terminated" }) {
		t.Errorf("instance %s not terminated", k.instance)
	}
	if has(c.SecurityGroups(), func(g fec2.SecurityGroup) bool { return g.ID == k.group }) || has(c.KeyPairs(), func(kp fec2.KeyPair) bool { return kp.ID == k.key }) ||
		has(c.Volumes(), func(v fec2.Volume) bool { return v.ID == k.dataVol || v.ID == k.rootVol }) {
		t.Errorf("leftovers remain: groups %v keys %v volumes %v", c.SecurityGroups(), c.KeyPairs(), c.Volumes())
	}
	// Untouched.
	if !has(c.Instances(), func(in fec2.Instance) bool { return in.ID == other.instance && in.State == "running" }) {
		t.Error("another run's instance was touched")
	}
	for _, g := range []string{other.group, foreign} {
		if !has(c.SecurityGroups(), func(sg fec2.SecurityGroup) bool { return sg.ID == g }) {
			t.Errorf("group %s was deleted", g)
		}
	}
	if !has(c.KeyPairs(), func(kp fec2.KeyPair) bool { return kp.ID == other.key }) || !has(c.Volumes(), func(v fec2.Volume) bool { return v.ID == other.dataVol }) {
		t.Error("another run's key pair or volume was deleted")
	}
	if len(c.Images()) != images || len(c.Snapshots()) != snaps || !has(c.Images(), func(im fec2.Image) bool { return im.ID == ami }) {
		t.Error("an image or snapshot was touched")
	}

	// Again: nothing left to do, and nothing reported as removed.
	rep, err = leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", opts(runID))
	if err != nil || len(rep.Outcomes) != 0 {
		t.Errorf("second clean: %v %+v", err, rep.Outcomes)
	}
}

// Plugins before 1.8 tag only the instance and its volumes: the group and
// key pair are the run's because its instance names them and they are
// Packer's temporaries. A group the template named, and a packer_ group
// only another run's instance names, stay.
func TestCleanFollowsTheInstanceForUntaggedTemporaries(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{ShuttingDown: 300 * time.Millisecond, VolumeDetach: 100 * time.Millisecond})
	k := seedKilledBuild(c, runID, "us-east-1", false)
	named := c.SeedSecurityGroup(fec2.SecurityGroup{Name: "build-ssh", Description: "the template's security_group_id"})
	userKey := c.SeedKeyPair(fec2.KeyPair{Name: "ci-deploy"})
	second := c.SeedInstance(fec2.Instance{KeyName: "ci-deploy", SecurityGroupIDs: []string{named}, Tags: runTags(runID)})
	other := seedKilledBuild(c, otherID, "us-east-1", false)

	rep, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", opts(runID))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{k.instance, second, k.group, k.key, k.dataVol} {
		if got := statusOf(rep, id); got != leftovers.StatusRemoved {
			t.Errorf("%s: %s\n%+v", id, got, rep.Outcomes)
		}
	}
	for _, id := range []string{named, userKey, other.group, other.key, other.instance} {
		if got := statusOf(rep, id); got != "(not in report)" {
			t.Errorf("%s is not the run's temporary, but: %s", id, got)
		}
	}
	if !has(c.SecurityGroups(), func(g fec2.SecurityGroup) bool { return g.ID == named }) || !has(c.KeyPairs(), func(kp fec2.KeyPair) bool { return kp.ID == userKey }) {
		t.Error("the template's own group or key pair was deleted")
	}
}

// Within the bound, what EC2 still holds is reported as left, with its
// code and the command that finishes the job; never as removed.
func TestCleanReportsWhatOutlastsTheBound(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{ShuttingDown: time.Minute, VolumeDetach: time.Minute})
	k := seedKilledBuild(c, runID, "eu-west-1", true)
	o := opts(runID)
	o.Wait = 700 * time.Millisecond
	start := time.Now()
	rep, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "eu-west-1"), "eu-west-1", o)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: the bound does not hold", d)
	}
	// Shutting down counts: it stops running and billing.
	if got := statusOf(rep, k.instance); got != leftovers.StatusRemoved {
		t.Errorf("instance: %s", got)
	}
	left := rep.Remaining()
	if len(left) != 2 {
		t.Fatalf("remaining %+v, want the group and the data volume", left)
	}
	for _, l := range left {
		switch l.ID {
		case k.group:
			if l.Status != leftovers.StatusLeft || l.Code != "DependencyViolation" || l.Command() != "aws ec2 delete-security-group --region eu-west-1 --group-id "+k.group {
				t.Errorf("group: %+v %q", l, l.Command())
			}
		case k.dataVol:
			if l.Status != leftovers.StatusLeft || l.Command() != "aws ec2 delete-volume --region eu-west-1 --volume-id "+k.dataVol {
				t.Errorf("volume: %+v %q", l, l.Command())
			}
		default:
			t.Errorf("unexpected %+v", l)
		}
	}
	if statusOf(rep, k.key) != leftovers.StatusRemoved {
		t.Errorf("the key pair needs no wait: %s", statusOf(rep, k.key))
	}
}

// A volume with the run's tag attached to an instance that is not the
// run's is left alone and said so.
func TestCleanLeavesAVolumeOnAnotherInstance(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{})
	host := c.SeedInstance(fec2.Instance{Tags: fec2.Tags{"Name": "runner"}})
	vol := c.SeedVolume(fec2.Volume{InstanceID: host, Device: "/dev/sdf", Tags: runTags(runID)})
	rep, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", opts(runID))
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Remaining(); len(got) != 1 || got[0].ID != vol || !strings.Contains(got[0].Detail, host) {
		t.Errorf("remaining %+v", got)
	}
	if !has(c.Instances(), func(in fec2.Instance) bool { return in.ID == host && in.State == "running" }) {
		t.Error("the host was touched")
	}
}

// A caller EC2 refuses: the listing fails (the caller learns nothing was
// found, not that nothing is there), and nothing is removed.
func TestCleanSaysWhenItCannotList(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{})
	k := seedKilledBuild(c, runID, "us-east-1", true)
	s.AddUser("AKIANOGRANTS0000001", "ci", "")
	rep, err := leftovers.Clean(context.Background(), client(s, "AKIANOGRANTS0000001", "us-east-1"), "us-east-1", opts(runID))
	if err == nil || !strings.Contains(err.Error(), "UnauthorizedOperation") {
		t.Errorf("err %v", err)
	}
	if rep.Removed() != 0 || !has(c.Instances(), func(in fec2.Instance) bool { return in.ID == k.instance && in.State == "running" }) {
		t.Errorf("removed %+v", rep.Outcomes)
	}
}

// A removal EC2 fails with a server error may have been applied: unknown,
// never removed.
func TestCleanUnknownOutcome(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{ShuttingDown: 100 * time.Millisecond})
	k := seedKilledBuild(c, runID, "us-east-1", true)
	s.InjectFault(fakeaws.Fault{Action: "DeleteKeyPair", Drop: true, AfterApply: true})
	rep, _ := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", opts(runID))
	if got := statusOf(rep, k.key); got != leftovers.StatusUnknown {
		t.Errorf("key pair: %s %+v", got, rep.Outcomes)
	}
	if rep.Removed() != 3 {
		t.Errorf("removed %d: %+v", rep.Removed(), rep.Outcomes)
	}
}

// Sweep finds runs by the managed tag, with their tags and age.
func TestRunsListsManagedLeftovers(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{})
	seedKilledBuild(c, runID, "us-east-1", true)
	c.SeedVolume(fec2.Volume{Tags: runTags(otherID)})
	c.SeedInstance(fec2.Instance{Tags: fec2.Tags{run.TagRunID: "88888888-0000-4000-8000-000000000000"}}) // no managed tag
	c.SeedSecurityGroup(fec2.SecurityGroup{Name: "packer_x", Description: "Temporary group for Packer"})
	runs, err := leftovers.Runs(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", "/buildrole/")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.RunID)
		if r.Tags[run.TagExpiresAt] == "" {
			t.Errorf("%s: tags %v", r.RunID, r.Tags)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{runID, otherID}) {
		t.Errorf("runs %v", ids)
	}
}

// A run id that is not one is refused before any call.
func TestCleanRefusesABadRunID(t *testing.T) {
	t.Parallel()
	s, _ := start(t, fec2.Delays{})
	if _, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", opts("*")); err == nil {
		t.Error("no error")
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d calls", n)
	}
}

// A dry run lists what would go and changes nothing.
func TestCleanDryRun(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{})
	k := seedKilledBuild(c, runID, "us-east-1", true)
	o := opts(runID)
	o.DryRun = true
	rep, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", o)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{k.instance, k.group, k.key, k.dataVol} {
		if got := statusOf(rep, id); got != leftovers.StatusWouldRemove {
			t.Errorf("%s: %s", id, got)
		}
	}
	for _, call := range s.Requests() {
		if !strings.HasPrefix(call.Action, "Describe") {
			t.Errorf("dry run called %s", call.Action)
		}
	}
	if rep.Removed() != 0 || len(rep.Remaining()) != 0 {
		t.Errorf("removed %d, remaining %v", rep.Removed(), rep.Remaining())
	}
}
