package buildpolicy

import (
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/packertemplate"
	"github.com/buildrole/buildrole/internal/run"
)

// Teardown, acting as the build role, may find and remove its own run's
// leftovers and nothing else that scope: tags keeps from it.
func TestTeardownGrantsOnlyTheRunsLeftovers(t *testing.T) {
	t.Parallel()
	const runID, other = "3f9c2a1b-0000-4000-8000-000000000000", "77777777-0000-4000-8000-000000000000"
	grants := []Grant{{Sid: "RunInstance", Actions: []string{"ec2:RunInstances"}, Resources: []string{"arn:aws:ec2:*:123456789012:instance/*"}}}
	for _, scoped := range []bool{false, true} {
		p := BuildParams{AccountID: "123456789012", Regions: []string{"us-east-1"}, Grants: grants, RunID: runID}
		if scoped {
			p.TagRunID = runID
		}
		doc := BuildRolePolicy(p)
		ctx := func(region, tag string) map[string][]string {
			m := map[string][]string{iampolicy.KeyRequestedRegion: {region}}
			if tag != "" {
				m[iampolicy.PrefixResourceTag+run.TagRunID] = []string{tag}
			}
			return m
		}
		for _, c := range []struct {
			action, resource string
			ctx              map[string][]string
			want             bool
		}{
			{"ec2:DescribeKeyPairs", "*", ctx("us-east-1", ""), true},
			{"ec2:DescribeVolumes", "*", ctx("us-east-1", ""), true},
			{"ec2:DescribeInstances", "*", ctx("eu-west-1", ""), false},
			{"ec2:TerminateInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", ctx("us-east-1", runID), true},
			{"ec2:DeleteSecurityGroup", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", ctx("us-east-1", runID), true},
			{"ec2:DeleteKeyPair", "arn:aws:ec2:us-east-1:123456789012:key-pair/key-1", ctx("us-east-1", runID), true},
			{"ec2:DeleteVolume", "arn:aws:ec2:us-east-1:123456789012:volume/vol-1", ctx("us-east-1", runID), true},
			{"ec2:DeleteVolume", "arn:aws:ec2:us-east-1:123456789012:volume/vol-2", ctx("us-east-1", other), false},
			{"ec2:DeleteSecurityGroup", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-2", ctx("us-east-1", ""), false},
			{"ec2:DeleteKeyPair", "arn:aws:ec2:us-east-1:123456789012:key-pair/key-2", ctx("us-east-1", other), false},
			{"ec2:DeleteVolume", "arn:aws:ec2:eu-west-1:123456789012:volume/vol-1", ctx("eu-west-1", runID), false},
			{"ec2:DeleteSnapshot", "arn:aws:ec2:us-east-1::snapshot/snap-1", ctx("us-east-1", runID), false},
			{"ec2:DeregisterImage", "arn:aws:ec2:us-east-1::image/ami-1", ctx("us-east-1", runID), false},
		} {
			got := iampolicy.Evaluate(iampolicy.Request{Action: c.action, Resource: c.resource, Context: c.ctx}, []iampolicy.Document{doc}, nil) == iampolicy.Allow
			if got != c.want {
				t.Errorf("scoped=%v: %s on %s with %v: allowed %v, want %v", scoped, c.action, c.resource, c.ctx, got, c.want)
			}
		}
	}
	// A build that launches nothing gets no teardown grant.
	none := BuildRolePolicy(BuildParams{AccountID: "123456789012", Regions: []string{"us-east-1"}, Grants: []Grant{{Sid: "Describe", Actions: []string{"ec2:DescribeImages"}, Resources: []string{"*"}}}, RunID: runID})
	for _, st := range none.Statement {
		if st.Sid == SidTeardown || st.Sid == SidTeardownRead {
			t.Errorf("teardown grant %s without a launch", st.Sid)
		}
	}
}

// A template whose instance or volumes would not carry the run's tags is
// warned about, option by option; one that passes them, or builds no
// instance, is not.
func TestLeftoverWarnings(t *testing.T) {
	t.Parallel()
	for file, want := range map[string][]string{
		"basic-ebs.pkr.hcl":   {"run_tags does not pass var.buildrole_run_tags", "run_volume_tags does not pass var.buildrole_run_tags"},
		"copy-share.pkr.hcl":  nil,
		"chroot.pkr.hcl":      nil,
		"spot-filter.pkr.hcl": nil,
	} {
		tmpl, err := packertemplate.Load("../../testdata/templates/"+file, packertemplate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := LeftoverWarnings(tmpl)
		if len(got) != len(want) {
			t.Errorf("%s: %q, want %d warnings", file, got, len(want))
			continue
		}
		for i, w := range want {
			if !strings.Contains(got[i], w) || !strings.Contains(got[i], "teardown cannot find") {
				t.Errorf("%s: %q lacks %q", file, got[i], w)
			}
		}
	}
}
