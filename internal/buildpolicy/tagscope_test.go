package buildpolicy

import (
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/policylint"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

const runID = "3f9c2a1b-0000-4000-8000-000000000000"

func tagPolicy(t *testing.T) iampolicy.Document {
	t.Helper()
	tmpl, err := packertemplate.Load("../../testdata/templates/tagged.pkr.hcl", packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if errs := TagScopeErrors(tmpl, awsfacts.PartitionAWS); len(errs) > 0 {
		t.Fatalf("tagged.pkr.hcl refused: %v", errs)
	}
	d := Derive(tmpl, awsfacts.PartitionAWS, catAccount, "us-east-1")
	return BuildRolePolicy(BuildParams{Partition: awsfacts.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants,
		PassRoleARNs: []string{testRole}, InstanceProfileARNs: []string{testProfile}, TagRunID: runID})
}

// scope: tags, evaluated: creating calls need this run's id in the request,
// calls on existing resources need it on the resource, CreateTags works only
// inside a creating call or on the run's own resources.
func TestTagScopeBindsMutationsToTheRun(t *testing.T) {
	t.Parallel()
	doc := tagPolicy(t)
	ec2 := "arn:aws:ec2:us-east-1:" + catAccount + ":"
	img := "arn:aws:ec2:us-east-1::"
	type ctx map[string]string
	cases := []struct {
		action, resource string
		c                ctx
		want             bool
	}{
		{"ec2:RunInstances", ec2 + "instance/*", ctx{KeyRequestTagRunID: runID}, true},
		{"ec2:RunInstances", ec2 + "instance/*", ctx{KeyRequestTagRunID: "other-run"}, false},
		{"ec2:RunInstances", ec2 + "instance/*", nil, false},
		{"ec2:RunInstances", ec2 + "volume/*", ctx{KeyRequestTagRunID: runID}, true},
		{"ec2:RunInstances", ec2 + "volume/*", nil, false},
		{"ec2:RunInstances", img + "image/ami-0123456789abcdef0", nil, true}, // the source AMI is not ours
		{"ec2:RunInstances", ec2 + "subnet/subnet-1", nil, true},
		{"ec2:CreateKeyPair", ec2 + "key-pair/packer_1", ctx{KeyRequestTagRunID: runID}, true},
		{"ec2:CreateKeyPair", ec2 + "key-pair/packer_1", nil, false},
		{"ec2:CreateSecurityGroup", ec2 + "security-group/*", ctx{KeyRequestTagRunID: runID}, true},
		{"ec2:CreateSecurityGroup", ec2 + "security-group/*", nil, false},
		{"ec2:TerminateInstances", ec2 + "instance/i-1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:TerminateInstances", ec2 + "instance/i-1", ctx{KeyResourceTagRunID: "other-run"}, false},
		{"ec2:TerminateInstances", ec2 + "instance/i-1", nil, false},
		{"ec2:StopInstances", ec2 + "instance/i-1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:DeleteSecurityGroup", ec2 + "security-group/sg-1", ctx{KeyResourceTagRunID: "other-run"}, false},
		{"ec2:DeleteKeyPair", ec2 + "key-pair/packer_1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:CreateImage", img + "image/*", ctx{KeyRequestTagRunID: runID}, true},
		{"ec2:CreateImage", img + "image/*", nil, false},
		{"ec2:CreateImage", ec2 + "instance/i-1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:CreateImage", ec2 + "instance/i-2", ctx{KeyResourceTagRunID: "other-run"}, false},
		{"ec2:DeregisterImage", img + "image/ami-1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:ModifyImageAttribute", img + "image/ami-1", ctx{KeyResourceTagRunID: runID}, false}, // no attribute options
		{"ec2:RunInstances", ec2 + "security-group/sg-1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:RunInstances", ec2 + "security-group/sg-prod", nil, false},
		{"ec2:RunInstances", ec2 + "key-pair/packer_1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:RunInstances", ec2 + "key-pair/packer_1", ctx{KeyResourceTagRunID: "other-run"}, false},
		{"ec2:DeregisterImage", img + "image/ami-old", ctx{KeyResourceTagRunID: "earlier-run"}, false},
		{"ec2:CreateTags", ec2 + "instance/i-1", ctx{KeyCreateAction: "RunInstances", KeyRequestTagRunID: runID}, true},
		{"ec2:CreateTags", ec2 + "instance/i-1", ctx{KeyCreateAction: "RunInstances", KeyRequestTagRunID: "other-run"}, false},
		{"ec2:CreateTags", ec2 + "instance/i-1", ctx{KeyCreateAction: "RunInstances"}, false},
		{"ec2:CreateTags", img + "image/ami-copy", ctx{KeyCreateAction: "CopyImage"}, true}, // the copy takes the AMI's tags
		{"ec2:CreateTags", ec2 + "instance/i-1", ctx{KeyCreateAction: "CopyImage"}, false},
		{"ec2:CreateTags", ec2 + "instance/i-1", ctx{KeyResourceTagRunID: runID}, true},
		{"ec2:CreateTags", ec2 + "instance/i-other", nil, false},
		{"ec2:CreateTags", ec2 + "instance/i-other", ctx{KeyResourceTagRunID: "other-run"}, false},
		// The key pair a CreateKeyPair tags, by its name or as "*": inside
		// that call only, with the run's id; never an existing pair.
		{"ec2:CreateTags", ec2 + "key-pair/packer_1", ctx{KeyCreateAction: "CreateKeyPair", KeyRequestTagRunID: runID}, true},
		{"ec2:CreateTags", ec2 + "key-pair/*", ctx{KeyCreateAction: "CreateKeyPair", KeyRequestTagRunID: runID}, true},
		{"ec2:CreateTags", ec2 + "key-pair/*", ctx{KeyCreateAction: "CreateKeyPair", KeyRequestTagRunID: "other-run"}, false},
		{"ec2:CreateTags", ec2 + "key-pair/prod", ctx{KeyRequestTagRunID: runID}, false},
		{"ec2:CreateTags", ec2 + "key-pair/prod", ctx{KeyResourceTagRunID: "other-run"}, false},
		{"ec2:CreateKeyPair", ec2 + "key-pair/prod", ctx{KeyRequestTagRunID: runID}, false},
		{"ec2:DeleteKeyPair", ec2 + "key-pair/packer_other", ctx{KeyResourceTagRunID: "other-run"}, false},
		{"ec2:DeleteKeyPair", ec2 + "key-pair/prod", nil, false},
	}
	for _, c := range cases {
		context := map[string][]string{"aws:RequestedRegion": {"us-east-1"}}
		for k, v := range c.c {
			context[k] = []string{v}
		}
		got := iampolicy.Evaluate(iampolicy.Request{Action: c.action, Resource: c.resource, Context: context}, []iampolicy.Document{doc}, nil) == iampolicy.Allow
		if got != c.want {
			t.Errorf("%s on %s with %v: allowed=%v, want %v", c.action, c.resource, c.c, got, c.want)
		}
	}
	if n := iampolicy.Size(doc.JSON()); n > iampolicy.MaxInlineRolePolicySize {
		t.Errorf("policy is %d characters", n)
	}
	if f := policylint.Lint("tags.json", []byte(doc.Indent()), policylint.LintOptions{AllowedPassRoleARNs: []string{testRole}}); policylint.HasErrors(f) {
		t.Errorf("scope: tags policy does not lint clean: %v", f)
	}
}

func TestTagScopeRefusesTemplatesThatDoNotTag(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"basic-ebs.pkr.hcl":      {"run_tags = var.buildrole_run_tags", "run_volume_tags = var.buildrole_run_tags"},
		"encrypted-copy.pkr.hcl": {"force_deregister", "ami_regions, encrypt_boot with ami_users, snapshot_users: CopyImage has no condition key on its source AMI"},
		"chroot.pkr.hcl":         {"supports amazon-ebs only"},
		"spot-ssm.pkr.hcl":       {"does not support spot"},
		// One source copies, another shares: the policy holds both.
		"copy-share.pkr.hcl": {"amazon-ebs.copy: ami_regions with ami_users in amazon-ebs.share: CopyImage has no condition key"},
		// The image is found at build time and no owner binds it.
		"reimage-share.pkr.hcl": {"amazon-ebs.base: the source AMI is found at build time and no owner binds it, so with ami_users"},
	}
	for file, wants := range cases {
		tmpl, err := packertemplate.Load("../../testdata/templates/"+file, packertemplate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		errs := strings.Join(TagScopeErrors(tmpl, awsfacts.PartitionAWS), "\n")
		for _, want := range wants {
			if !strings.Contains(errs, want) {
				t.Errorf("%s: errors %q lack %q", file, errs, want)
			}
		}
		if !strings.Contains(errs, file) {
			t.Errorf("%s: errors carry no position: %s", file, errs)
		}
	}
	tmpl, _ := packertemplate.Load("../../testdata/templates/tagged.pkr.hcl", packertemplate.Options{})
	if errs := TagScopeErrors(tmpl, awsfacts.PartitionChina); len(errs) == 0 {
		t.Error("aws-cn accepted")
	}
	// A filter bound to its owners may share: the launch is bound.
	tmpl, _ = packertemplate.Load("../../testdata/templates/tagged-filter.pkr.hcl", packertemplate.Options{})
	if errs := TagScopeErrors(tmpl, awsfacts.PartitionAWS); len(errs) > 0 {
		t.Errorf("tagged-filter.pkr.hcl refused: %v", errs)
	}
}

// Resource names with spaces survive the statement split.
func TestTagScopeKeepsResourceNamesWhole(t *testing.T) {
	t.Parallel()
	g := Grant{Sid: "KeyPair", Actions: []string{"ec2:DeleteKeyPair", "ec2:CreateKeyPair"}, Resources: []string{"arn:aws:ec2:*:123456789012:key-pair/team key"}}
	for _, st := range tagScoped(g, runID, func() iampolicy.Condition { return iampolicy.Condition{iampolicy.OpStringEquals: {}} }, false) {
		for _, r := range st.Resource {
			if r != "arn:aws:ec2:*:123456789012:key-pair/team key" {
				t.Errorf("statement %s resource %q", st.Sid, r)
			}
		}
	}
}

// Scope region: the temporary key pair is tagged only inside CreateKeyPair,
// whichever name EC2 gives it in that check; no existing pair can be tagged.
func TestKeyPairTaggedOnlyOnCreate(t *testing.T) {
	t.Parallel()
	tmpl, err := packertemplate.Load("../../testdata/templates/tagged.pkr.hcl", packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := Derive(tmpl, awsfacts.PartitionAWS, catAccount, "us-east-1")
	doc := BuildRolePolicy(BuildParams{Partition: awsfacts.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants,
		PassRoleARNs: []string{testRole}, InstanceProfileARNs: []string{testProfile}})
	kp := "arn:aws:ec2:us-east-1:" + catAccount + ":key-pair/"
	for _, c := range []struct {
		resource, create string
		want             bool
	}{
		{kp + "packer_1", "CreateKeyPair", true},
		{kp + "*", "CreateKeyPair", true},
		{kp + "packer_1", "", false},
		{kp + "prod", "", false},
		{kp + "prod", "RunInstances", false},
	} {
		ctx := map[string][]string{"aws:RequestedRegion": {"us-east-1"}}
		if c.create != "" {
			ctx[KeyCreateAction] = []string{c.create}
		}
		got := iampolicy.Evaluate(iampolicy.Request{Action: "ec2:CreateTags", Resource: c.resource, Context: ctx}, []iampolicy.Document{doc}, nil) == iampolicy.Allow
		if got != c.want {
			t.Errorf("CreateTags on %s in %q: allowed=%v, want %v", c.resource, c.create, got, c.want)
		}
	}
}
