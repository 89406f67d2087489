package leftovers_test

import (
	"context"
	"testing"
	"time"

	fec2 "github.com/buildrole/buildrole/internal/fakeaws/ec2"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/run"
)

// As the bootstrap session (sweep), the run's tags prove nothing: a build
// role may write them on any instance, volume or group in its region. Only
// an instance with the run's profile under the path is the run's, and
// what it holds; the rest is reported with its command, never removed.
func TestElevatedCleanRemovesOnlyWhatTheRunsProfileProves(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{ShuttingDown: 200 * time.Millisecond, VolumeDetach: 100 * time.Millisecond})
	k := seedKilledBuild(c, runID, "us-east-1", true)
	tags := runTags(runID)
	forged := map[string]string{
		"production's instance":                     c.SeedInstance(fec2.Instance{InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/production", Tags: tags}),
		"an instance without a profile":             c.SeedInstance(fec2.Instance{Tags: tags}),
		"a profile under another path":              c.SeedInstance(fec2.Instance{InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/admin/buildrole-octo-app-pr42-3f9c2a1b-vm", Tags: tags}),
		"another run's profile":                     c.SeedInstance(fec2.Instance{InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/buildrole/buildrole-octo-app-pr42-77777777-vm", Tags: tags}),
		"a detached volume":                         c.SeedVolume(fec2.Volume{Tags: tags}),
		"a group":                                   c.SeedSecurityGroup(fec2.SecurityGroup{Name: "prod-web", Description: "production", Tags: tags}),
		"a Packer-like group no run instance is in": c.SeedSecurityGroup(fec2.SecurityGroup{Name: "packer_x", Description: "Temporary group for Packer", Tags: tags}),
		"a key pair":                                c.SeedKeyPair(fec2.KeyPair{Name: "deploy", Tags: tags}),
	}
	o := opts(runID)
	o.Elevated, o.Path = true, "/buildrole/"
	rep, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", o)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{k.instance, k.group, k.key, k.dataVol} {
		if got := statusOf(rep, id); got != leftovers.StatusRemoved {
			t.Errorf("the run's %s: %s\n%+v", id, got, rep.Outcomes)
		}
	}
	for what, id := range forged {
		if got := statusOf(rep, id); got != leftovers.StatusLeft {
			t.Errorf("%s (%s) tagged as the run's: %s, want left", what, id, got)
		}
	}
	for _, in := range c.Instances() {
		if in.ID != k.instance && in.State != "running" {
			t.Errorf("instance %s: %s", in.ID, in.State)
		}
	}
	if len(c.Volumes()) < 1 || len(c.SecurityGroups()) < 2 || len(c.KeyPairs()) != 1 {
		t.Errorf("a forged leftover was deleted: volumes %v groups %v keys %v", c.Volumes(), c.SecurityGroups(), c.KeyPairs())
	}
}

// A key pair a run instance names is Packer's temporary only by Packer's
// exact name (packer_ and a UUID) and made within the run: a template's
// own key named packer_ci, or a packer_<uuid> made before the run began,
// stays, even on a successful build.
func TestCleanFollowsOnlyPackersOwnKeyPair(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{ShuttingDown: 100 * time.Millisecond})
	began := time.Now().Add(-time.Minute)
	shared := c.SeedKeyPair(fec2.KeyPair{Name: "packer_ci", CreateTime: began.Add(-48 * time.Hour)})
	old := "packer_0123abcd-0000-4000-8000-000000000000"
	stale := c.SeedKeyPair(fec2.KeyPair{Name: old, CreateTime: began.Add(-time.Hour)})
	fresh := "packer_0123abcd-0000-4000-8000-000000000001"
	temp := c.SeedKeyPair(fec2.KeyPair{Name: fresh})
	for _, name := range []string{"packer_ci", old, fresh} {
		c.SeedInstance(fec2.Instance{KeyName: name, Tags: runTags(runID)})
	}
	o := opts(runID)
	o.Since = began
	rep, err := leftovers.Clean(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", o)
	if err != nil {
		t.Fatal(err)
	}
	if got := statusOf(rep, temp); got != leftovers.StatusRemoved {
		t.Errorf("Packer's temporary: %s\n%+v", got, rep.Outcomes)
	}
	for _, id := range []string{shared, stale} {
		if got := statusOf(rep, id); got != "(not in report)" {
			t.Errorf("%s is not Packer's temporary of this run, but: %s", id, got)
		}
	}
	if len(c.KeyPairs()) != 2 {
		t.Errorf("keys left: %v", c.KeyPairs())
	}
}

// A build role may put another run's id and a past expiry on a foreign
// instance: sweep must not judge that run by it. A run with an instance
// under a run profile is judged by its instances alone.
func TestRunsJudgesARunByItsProvedInstances(t *testing.T) {
	t.Parallel()
	s, c := start(t, fec2.Delays{})
	forged := runTags(runID)
	forged[run.TagExpiresAt] = "2000-01-01T00:00:00Z"
	c.SeedInstance(fec2.Instance{Tags: forged, LaunchTime: time.Now().Add(-48 * time.Hour)})
	c.SeedVolume(fec2.Volume{Tags: forged})
	seedKilledBuild(c, runID, "us-east-1", true)
	runs, err := leftovers.Runs(context.Background(), client(s, "AKIAADMIN0000000001", "us-east-1"), "us-east-1", "/buildrole/")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Tags[run.TagExpiresAt] != runTags(runID)[run.TagExpiresAt] || time.Since(runs[0].Created) > time.Hour {
		t.Errorf("the run judged by a forged tag: %+v", runs)
	}
}
