package buildpolicy

import (
	"slices"
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
		"register-share.pkr.hcl":    "could register any snapshot of the account as an AMI and share it",
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

// Rows is the catalogue Derive applies: every row a source with no options
// gets is Always, for each of its builders alike, and appears among the
// reasons of its statement; the others do not; a data source's row is its
// statement. Changing what Rows returned changes no later answer.
func TestRowsAreTheCatalogueDeriveApplies(t *testing.T) {
	t.Parallel()
	rows := Rows()
	if len(rows) != len(catalogue)+len(dataCatalogue) {
		t.Fatalf("%d rows, want %d", len(rows), len(catalogue)+len(dataCatalogue))
	}
	for _, r := range rows {
		if r.Sid == "" || r.Why == "" || r.Step == "" || len(r.Actions) == 0 || (r.Builders == nil) == (r.DataSource == "") {
			t.Errorf("row %+v: incomplete", r)
			continue
		}
		if r.DataSource != "" {
			tmpl := &packertemplate.Template{Sources: []packertemplate.Source{{Type: "amazon-ebs", Name: "web"}}, Data: []packertemplate.Source{{Type: r.DataSource, Name: "x"}}}
			d := Derive(tmpl, awsfacts.PartitionAWS, catAccount, "us-east-1")
			if !slices.ContainsFunc(d.Grants, func(g Grant) bool {
				return g.Sid == r.Sid && slices.Equal(g.Actions, r.Actions) && slices.Equal(g.Why, []string{"data." + r.DataSource + ".x (" + r.Step + ")"})
			}) || r.Always {
				t.Errorf("row %+v: not the grant of data.%s.x: %+v", r, r.DataSource, d.Grants)
			}
			continue
		}
		for _, b := range r.Builders {
			d := Derive(&packertemplate.Template{Sources: []packertemplate.Source{{Type: b, Name: "bare"}}}, awsfacts.PartitionAWS, catAccount, "us-east-1")
			got := slices.ContainsFunc(d.Grants, func(g Grant) bool {
				return g.Sid == r.Sid && slices.Contains(g.Why, b+".bare: "+r.Reason())
			})
			if got != r.Always {
				t.Errorf("row %s %q: Always %v, but a %s source without options gets it: %v", r.Sid, r.Why, r.Always, b, got)
			}
		}
	}
	rows[0].Actions[0], rows[0].Builders[0] = "changed", "changed"
	if again := Rows(); again[0].Actions[0] == "changed" || again[0].Builders[0] == "changed" {
		t.Error("Rows shares its slices with the catalogue")
	}
}
