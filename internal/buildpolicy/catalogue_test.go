package buildpolicy

import (
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

const (
	catAccount  = "123456789012"
	testRole    = "arn:aws:iam::123456789012:role/buildrole/buildrole-images-pr42-3f9c2a1b-vm"
	testProfile = "arn:aws:iam::123456789012:instance-profile/buildrole/buildrole-images-pr42-3f9c2a1b-vm"
)

func derivedPolicy(t *testing.T, path, region string) (iampolicy.Document, Derived) {
	t.Helper()
	tmpl, err := packertemplate.Load(path, packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := Derive(tmpl, awsfacts.PartitionAWS, catAccount, region)
	doc := BuildRolePolicy(BuildParams{
		Partition: awsfacts.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants,
		PassRoleARNs: []string{testRole}, InstanceProfileARNs: []string{testProfile},
	})
	return doc, d
}

// The calls Packer makes for every template under testdata/templates are
// evaluated, with the attacks around them, by test/iamsim (both evaluators).

// Templates buildrole cannot serve as written are refused with a reason.
func TestDeriveRefusesWhatItCannotScope(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"temporary-profile.pkr.hcl": "temporary_iam_instance_profile_policy_document",
		"dynamic.pkr.hcl":           "ami_regions is not known",
		"legacy.json":               "iam_instance_profile is not known",
	}
	for file, want := range cases {
		_, d := derivedPolicy(t, "../../testdata/templates/"+file, "us-east-1")
		if !strings.Contains(strings.Join(d.Errors, "\n"), want) {
			t.Errorf("%s: errors %v, want %q", file, d.Errors, want)
		}
	}
}

func TestDeriveExplainsEachGrant(t *testing.T) {
	t.Parallel()
	_, d := derivedPolicy(t, "../../testdata/templates/encrypted-copy.pkr.hcl", "us-east-1")
	why := map[string]string{}
	for _, g := range d.Grants {
		why[g.Sid] = strings.Join(g.Why, ";")
	}
	for sid, want := range map[string]string{"CopyImage": "ami_regions", "KMS": "kms_key_id", "ForceDeregister": "force_deregister", "SnapshotAttributes": "snapshot_users"} {
		if !strings.Contains(why[sid], want) || !strings.Contains(why[sid], "builder/") {
			t.Errorf("grant %s: why %q, want %q with its plugin step", sid, why[sid], want)
		}
	}
	if got := strings.Join(d.Regions, ","); got != "us-east-1,us-west-2,eu-west-1" {
		t.Errorf("regions = %s", got)
	}
}
