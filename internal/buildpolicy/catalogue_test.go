package buildpolicy

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/iampolicy"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

const (
	catAccount  = "123456789012"
	testRole    = "arn:aws:iam::123456789012:role/buildrole/buildrole-images-pr42-3f9c2a1b-vm"
	testProfile = "arn:aws:iam::123456789012:instance-profile/buildrole/buildrole-images-pr42-3f9c2a1b-vm"
)

type call struct {
	deny                     bool
	region, action, resource string
}

// readCalls reads testdata/templates/<name>.calls: the calls Packer makes
// for that template, written from the plugin's steps, not from the catalogue.
func readCalls(t *testing.T, path string) (region string, calls []call) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if fields[0] == "region" {
			region = fields[1]
			continue
		}
		c := call{}
		if fields[0] == "deny" {
			c.deny, fields = true, fields[1:]
		}
		c.region, c.action = fields[0], fields[1]
		c.resource = strings.NewReplacer(
			"{ec2}", "arn:aws:ec2:"+c.region+":"+catAccount+":",
			"{img}", "arn:aws:ec2:"+c.region+"::",
			"{role}", testRole, "{profile}", testProfile,
		).Replace(fields[2])
		calls = append(calls, c)
	}
	return region, calls
}

func derivedPolicy(t *testing.T, path, region string) (iampolicy.Document, Derived) {
	t.Helper()
	tmpl, err := packertemplate.Load(path, packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := Derive(tmpl, iampolicy.PartitionAWS, catAccount, region)
	doc := BuildRolePolicy(BuildParams{
		Partition: iampolicy.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants,
		PassRoleARNs: []string{testRole}, InstanceProfileARNs: []string{testProfile},
	})
	return doc, d
}

func request(c call) iampolicy.Request {
	ctx := map[string][]string{"aws:RequestedRegion": {c.region}}
	switch c.action {
	case "iam:PassRole":
		ctx["iam:PassedToService"] = []string{"ec2.amazonaws.com"}
	case "iam:GetInstanceProfile":
		ctx["aws:RequestedRegion"] = []string{"us-east-1"} // IAM's own region
	}
	return iampolicy.Request{Action: c.action, Resource: c.resource, Context: ctx}
}

// For every template with a .calls file, the derived policy, evaluated,
// allows each call Packer makes and denies everything around it.
func TestDerivedPolicyAllowsWhatPackerCallsAndNothingElse(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../testdata/templates/*.calls")
	if len(files) < 5 {
		t.Fatalf("only %d .calls files", len(files))
	}
	for _, callsFile := range files {
		name := strings.TrimSuffix(filepath.Base(callsFile), ".calls")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := strings.TrimSuffix(callsFile, ".calls")
			for _, ext := range []string{".pkr.hcl", ".json", ""} {
				if _, err := os.Stat(path + ext); err == nil {
					path += ext
					break
				}
			}
			region, calls := readCalls(t, callsFile)
			doc, d := derivedPolicy(t, path, region)
			if len(d.Errors) > 0 {
				t.Fatalf("derive: %v", d.Errors)
			}
			docs := []iampolicy.Document{doc}
			for _, c := range calls {
				got := iampolicy.Evaluate(request(c), docs, nil)
				if c.deny && got == iampolicy.Allow {
					t.Errorf("allowed, want denied: %s %s in %s", c.action, c.resource, c.region)
				}
				if !c.deny && got != iampolicy.Allow {
					t.Errorf("denied, Packer needs it: %s %s in %s", c.action, c.resource, c.region)
				}
				// The same call outside the build's regions is refused.
				if !c.deny && !strings.HasPrefix(c.action, "iam:") {
					out := c
					out.region = "ap-south-1"
					if iampolicy.Evaluate(request(out), docs, nil) == iampolicy.Allow {
						t.Errorf("allowed outside the regions: %s %s", c.action, c.resource)
					}
				}
			}
			for _, bad := range []iampolicy.Request{
				{Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/Admin", Context: map[string][]string{"aws:RequestedRegion": {region}, "iam:PassedToService": {"ec2.amazonaws.com"}}},
				{Action: "iam:PassRole", Resource: testRole, Context: map[string][]string{"aws:RequestedRegion": {region}, "iam:PassedToService": {"lambda.amazonaws.com"}}},
			} {
				if iampolicy.Evaluate(bad, docs, nil) == iampolicy.Allow {
					t.Errorf("allowed %s on %s", bad.Action, bad.Resource)
				}
			}
			for _, a := range []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:DeleteRolePermissionsBoundary", "iam:CreateAccessKey", "sts:AssumeRole", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "s3:GetObject"} {
				for _, res := range []string{"*", testRole, "arn:aws:iam::123456789012:role/Admin"} {
					if iampolicy.Evaluate(iampolicy.Request{Action: a, Resource: res, Context: map[string][]string{"aws:RequestedRegion": {region}}}, docs, nil) == iampolicy.Allow {
						t.Errorf("allowed %s on %s", a, res)
					}
				}
			}
			for _, st := range doc.Statement {
				for _, a := range st.Action {
					if a == "*" || strings.HasSuffix(a, ":*") {
						t.Errorf("statement %s grants %s", st.Sid, a)
					}
				}
			}
			if n := iampolicy.Size(doc.JSON()); n > iampolicy.MaxInlineRolePolicySize {
				t.Errorf("policy is %d characters", n)
			}
		})
	}
}

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
