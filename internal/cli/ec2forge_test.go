package cli_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/run"
)

// foreign are others' resources in the build region: production's
// instance, an instance without a profile, a detached volume, a group.
type foreign struct{ prod, bare, volume, group string }

func seedForeign(w *world) foreign {
	c := w.srv.EC2()
	return foreign{
		prod:   c.SeedInstance(fakeaws.EC2Instance{InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/production", Tags: map[string]string{"Name": "prod"}}),
		bare:   c.SeedInstance(fakeaws.EC2Instance{Tags: map[string]string{"Name": "bastion"}}),
		volume: c.SeedVolume(fakeaws.EC2Volume{Tags: map[string]string{"Name": "prod-data"}}),
		group:  c.SeedSecurityGroup(fakeaws.EC2SecurityGroup{Name: "prod-web", Description: "production web"}),
	}
}

// forgeTags tags f with buildrole's managed tag, the run's id and an
// expiry past, as the run's build role: what its Tag grants let it do in
// its region. What it is refused the administrator tags instead, so that
// the cleanup is tested either way.
func forgeTags(t *testing.T, w *world, roleARN, runID string, f foreign) {
	t.Helper()
	ctx := context.Background()
	tok, err := fetchToken(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(awsConfig(w, aws.AnonymousCredentials{})).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("attacker"), WebIdentityToken: aws.String(tok),
	})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	build := ec2.NewFromConfig(awsConfig(w, credentials.NewStaticCredentialsProvider(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken)))
	admin := ec2.NewFromConfig(awsConfig(w, credentials.NewStaticCredentialsProvider("AKID", "s", "")))
	tags := []ec2types.Tag{
		{Key: aws.String(run.TagManaged), Value: aws.String(run.TagManagedValue)},
		{Key: aws.String(run.TagRunID), Value: aws.String(runID)},
		{Key: aws.String(run.TagExpiresAt), Value: aws.String("2000-01-01T00:00:00Z")},
	}
	for _, id := range []string{f.prod, f.bare, f.volume, f.group} {
		in := &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}
		if _, err := build.CreateTags(ctx, in); err != nil {
			t.Logf("the build role may not tag %s (%v): tagged as the administrator", id, err)
			if _, err := admin.CreateTags(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// untouched fails the test for each of f that is gone or terminating.
func untouched(t *testing.T, w *world, f foreign) {
	t.Helper()
	c := w.srv.EC2()
	for _, id := range []string{f.prod, f.bare} {
		if !slices.ContainsFunc(c.Instances(), func(in fakeaws.EC2Instance) bool { return in.ID == id && in.State == "running" }) {
			t.Errorf("foreign instance %s terminated", id)
		}
	}
	if !slices.ContainsFunc(c.Volumes(), func(v fakeaws.EC2Volume) bool { return v.ID == f.volume }) {
		t.Errorf("foreign volume %s deleted", f.volume)
	}
	if !slices.ContainsFunc(c.SecurityGroups(), func(g fakeaws.EC2SecurityGroup) bool { return g.ID == f.group }) {
		t.Errorf("foreign group %s deleted", f.group)
	}
}

// A build role that tags others' resources as its run's leftovers gets
// none of them removed: not by the post step (as the build role, which
// EC2 refuses or the proof stops), not by sweep (as the bootstrap
// session). Both report them with the command, exit 3, and still remove
// the run's real leftovers.
func TestForgedLeftoverTagsRemoveNothingForeign(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"down", "sweep"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.cleanup = fastCleanup
			if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
				t.Fatalf("up exit %d:\n%s", code, out)
			}
			outs := w.file("GITHUB_OUTPUT")
			k := seedKilled(w, outs["run-id"], outs["expires-at"])
			f := seedForeign(w)
			forgeTags(t, w, outs["role-arn"], outs["run-id"], f)
			if step == "down" {
				w.postEnv()
			} else {
				w.set("INPUT_SWEEP-RUN-ID", outs["run-id"])
			}
			code, stdout, stderr := w.run(context.Background(), step)
			all := stdout + stderr
			if code != cli.ExitLeftovers {
				t.Errorf("%s exit %d, want %d:\n%s", step, code, cli.ExitLeftovers, all)
			}
			untouched(t, w, f)
			if left := ec2Left(w, k); len(left) != 0 {
				t.Errorf("the run's real leftovers remain: %v\n%s", left, all)
			}
			for _, want := range []string{
				"aws ec2 terminate-instances --region us-east-1 --instance-ids " + f.prod,
				"aws ec2 terminate-instances --region us-east-1 --instance-ids " + f.bare,
				"aws ec2 delete-volume --region us-east-1 --volume-id " + f.volume,
				"aws ec2 delete-security-group --region us-east-1 --group-id " + f.group,
			} {
				if !strings.Contains(all, want) {
					t.Errorf("%s does not report %q:\n%s", step, want, all)
				}
			}
		})
	}
}
