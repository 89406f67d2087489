package buildpolicy

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

func deriveSource(t *testing.T, body string) (Derived, *packertemplate.Template) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.pkr.hcl")
	src := "variable \"buildrole_run_tags\" {\n  type    = map(string)\n  default = {}\n}\n" +
		"variable \"iam_instance_profile\" {\n  type    = string\n  default = \"p\"\n}\n" +
		"source \"amazon-ebs\" \"x\" {\n  region = \"us-east-1\"\n  instance_type = \"t3.micro\"\n  ssh_username = \"ec2-user\"\n  ami_name = \"x\"\n" + body + "\n}\nbuild {\n  sources = [\"source.amazon-ebs.x\"]\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := packertemplate.Load(path, packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return Derive(tmpl, awsfacts.PartitionAWS, catAccount, "us-east-1"), tmpl
}

func grant(d Derived, sid string) *Grant {
	for i := range d.Grants {
		if d.Grants[i].Sid == sid {
			return &d.Grants[i]
		}
	}
	return nil
}

// A known-empty iam_instance_profile is Packer's "no profile": no PassRole
// on every role, and nothing for the linter to refuse.
func TestEmptyInstanceProfileMeansNone(t *testing.T) {
	t.Parallel()
	_, d := derivedPolicy(t, "../../testdata/templates/empty-profile.pkr.hcl", "us-east-1")
	if len(d.InstanceProfiles) != 0 || len(d.Errors) != 0 {
		t.Fatalf("profiles %q, errors %q; want none", d.InstanceProfiles, d.Errors)
	}
	for _, n := range d.Notes {
		if strings.Contains(n, "own instance profile") {
			t.Errorf("note %q about an empty profile", n)
		}
	}
}

// KMS: aliases are bound by kms:ResourceAliases, never widened; a key not
// known before the build widens to the account's keys and says so; every
// KMS statement is for EC2's use only.
func TestKMSGrants(t *testing.T) {
	t.Parallel()
	d, _ := deriveSource(t, `encrypt_boot = true
  kms_key_id = "alias/images"
  ami_regions = ["eu-west-1"]
  region_kms_key_ids = { "eu-west-1" = "arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-8888-9999-000000000000" }`)
	for _, n := range d.Notes {
		if strings.Contains(n, "every key of the account") {
			t.Errorf("alias widened: %s", n)
		}
	}
	alias := grant(d, "KMSByAlias")
	if alias == nil || !slices.Equal(alias.Condition["ForAnyValue:StringEquals"][KeyResourceAliases], iampolicy.Values{"alias/images"}) {
		t.Fatalf("KMSByAlias = %+v, want bound to alias/images", alias)
	}
	for _, g := range d.Grants {
		if !strings.HasPrefix(g.Sid, "KMS") {
			continue
		}
		if got := g.Condition[iampolicy.OpStringEquals][KeyViaService]; !slices.Equal(got, iampolicy.Values{"ec2.us-east-1.amazonaws.com", "ec2.eu-west-1.amazonaws.com"}) {
			t.Errorf("%s: kms:ViaService %v", g.Sid, got)
		}
		if slices.Contains(g.Actions, "kms:Encrypt") {
			t.Errorf("%s grants kms:Encrypt, which EBS does not call", g.Sid)
		}
		grants := slices.Contains(g.Actions, "kms:CreateGrant")
		if bound := g.Condition["Bool"][KeyGrantIsForAWSResource] != nil; grants != bound {
			t.Errorf("%s: CreateGrant %v, GrantIsForAWSResource %v", g.Sid, grants, bound)
		}
	}

	d, _ = deriveSource(t, `encrypt_boot = true
  kms_key_id = var.iam_instance_profile`)
	if !strings.Contains(strings.Join(d.Notes, "\n"), "every key of the account") {
		t.Errorf("a key not known before the build widens silently: notes %q", d.Notes)
	}
}

// Spot builds get the command that creates EC2's service-linked role, not
// the right to create it.
func TestSpotNamesTheServiceLinkedRole(t *testing.T) {
	t.Parallel()
	_, d := derivedPolicy(t, "../../testdata/templates/spot-ssm.pkr.hcl", "eu-central-1")
	if !strings.Contains(strings.Join(d.Notes, "\n"), "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com") {
		t.Errorf("notes %q lack the service-linked role", d.Notes)
	}
	for _, g := range d.Grants {
		if slices.Contains(g.Actions, "iam:CreateServiceLinkedRole") {
			t.Errorf("%s grants iam:CreateServiceLinkedRole", g.Sid)
		}
	}
}

func TestTagScopeRefusesWhatItCannotBind(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`security_group_filter {
    filters = { "tag:Name" = "builds" }
  }`: "security_group_filter picks groups the run does not own",
		`ami_regions = ["eu-west-1"]
  ami_description = "x"`: "ami_regions with ami_description: CopyImage has no condition key",
		`encrypt_boot = true
  snapshot_users = ["210987654321"]`: "encrypt_boot with snapshot_users",
	} {
		_, tmpl := deriveSource(t, "run_tags = var.buildrole_run_tags\n  run_volume_tags = var.buildrole_run_tags\n  "+body)
		if errs := strings.Join(TagScopeErrors(tmpl, awsfacts.PartitionAWS), "\n"); !strings.Contains(errs, want) {
			t.Errorf("%s: errors %q, want %q", body, errs, want)
		}
	}
	_, tmpl := deriveSource(t, "run_tags = var.buildrole_run_tags\n  run_volume_tags = var.buildrole_run_tags\n  ami_users = [\"210987654321\"]\n  source_ami = \"ami-1\"")
	if errs := TagScopeErrors(tmpl, awsfacts.PartitionAWS); len(errs) > 0 {
		t.Errorf("sharing the run's own AMI refused: %v", errs)
	}
}

// Every guard of a statement is explained, also after scope: tags split it.
func TestExplainSaysWhatEachGuardStops(t *testing.T) {
	t.Parallel()
	tmpl, err := packertemplate.Load("../../testdata/templates/tagged-ssm.pkr.hcl", packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := Derive(tmpl, awsfacts.PartitionAWS, catAccount, "us-east-1")
	for _, scope := range []string{"", runID} {
		doc := BuildRolePolicy(BuildParams{Partition: awsfacts.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants,
			PassRoleARNs: []string{testRole}, InstanceProfileARNs: []string{testProfile}, TagRunID: scope})
		for _, st := range doc.Statement {
			why := Explain(st, d.Grants)
			if len(why) == 0 {
				t.Errorf("statement %s (scope %q) is not explained", st.Sid, scope)
				continue
			}
			for _, kv := range st.Condition {
				for k := range kv {
					if k == iampolicy.KeyRequestedRegion {
						continue
					}
					if !strings.Contains(strings.Join(why, "\n"), "guard: "+k+": ") {
						t.Errorf("statement %s: condition %s is not explained in %q", st.Sid, k, why)
					}
				}
			}
		}
	}
	if why := Explain(iampolicy.Statement{Sid: "Mine"}, d.Grants); why != nil {
		t.Errorf("an extra-policy statement explained as %q", why)
	}
}

// Statements merge only when resources and condition are the same, so the
// merged policy allows exactly what the parts allowed.
func TestMergeJoinsOnlyIdenticalScopes(t *testing.T) {
	t.Parallel()
	region := iampolicy.Condition{iampolicy.OpStringEquals: {iampolicy.KeyRequestedRegion: {"us-east-1"}}}
	owned := mergeCond(region, iampolicy.Condition{iampolicy.OpStringEquals: {KeyResourceTagRunID: {runID}}})
	img := iampolicy.Values{"arn:aws:ec2:*::image/*"}
	got := merge([]iampolicy.Statement{
		{Sid: "A", Effect: "Allow", Action: iampolicy.Values{"ec2:DeregisterImage"}, Resource: img, Condition: owned},
		{Sid: "B", Effect: "Allow", Action: iampolicy.Values{"ec2:EnableImageDeprecation"}, Resource: img, Condition: mergeCond(region, iampolicy.Condition{iampolicy.OpStringEquals: {KeyResourceTagRunID: {runID}}})},
		{Sid: "C", Effect: "Allow", Action: iampolicy.Values{"ec2:ModifyImageAttribute"}, Resource: img, Condition: region},
		{Sid: "D", Effect: "Allow", Action: iampolicy.Values{"ec2:DeleteSnapshot"}, Resource: iampolicy.Values{"arn:aws:ec2:*::snapshot/*"}, Condition: owned},
	})
	var sids []string
	for _, st := range got {
		sids = append(sids, st.Sid)
	}
	if !slices.Equal(sids, []string{"A", "C", "D"}) || !slices.Equal(got[0].Action, iampolicy.Values{"ec2:DeregisterImage", "ec2:EnableImageDeprecation"}) {
		t.Errorf("merged to %v, first %v", sids, got[0].Action)
	}
}

// What may be launched follows the template: its instance types, and the
// image its source_ami names or its source_ami_filter's owners; what the
// template leaves open is noted and left unbound.
func TestLaunchFollowsTheTemplate(t *testing.T) {
	t.Parallel()
	launch := func(doc iampolicy.Document, resource string, ctx map[string][]string) bool {
		c := map[string][]string{iampolicy.KeyRequestedRegion: {"us-east-1"}}
		for k, v := range ctx {
			c[k] = v
		}
		return iampolicy.Evaluate(iampolicy.Request{Action: "ec2:RunInstances", Resource: resource, Context: c}, []iampolicy.Document{doc}, nil) == iampolicy.Allow
	}
	policy := func(d Derived) iampolicy.Document {
		return BuildRolePolicy(BuildParams{Partition: awsfacts.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants})
	}
	const instance, image = "arn:aws:ec2:us-east-1:" + catAccount + ":instance/*", "arn:aws:ec2:us-east-1::image/ami-0found"
	typed := func(t string) map[string][]string { return map[string][]string{KeyInstanceType: {t}} }
	owned := func(o string) map[string][]string { return map[string][]string{KeyOwner: {o}} }
	for _, c := range []struct {
		name, body string
		allow      map[string]map[string][]string // resource|key=value → context
		deny       map[string]map[string][]string
		note       string
	}{
		{"filter owners", `source_ami_filter {
    filters = { name = "x-*" }
    owners  = ["self", "099720109477", "aws-marketplace"]
  }
  spot_instance_types = ["t3a.micro"]`,
			map[string]map[string][]string{
				instance + " t3.micro": typed("t3.micro"), instance + " t3a.micro": typed("t3a.micro"),
				image + " self": owned(catAccount), image + " canonical": owned("099720109477"),
				image + " alias": owned("amazon"), image + " marketplace": owned("aws-marketplace"),
			},
			map[string]map[string][]string{
				instance + " p5": typed("p5.48xlarge"), image + " other": owned("999999999999"), image + " none": nil,
			}, "any AMI owned by 099720109477, 123456789012, amazon, aws-marketplace"},
		{"only amazon", `source_ami_filter {
    filters = { name = "al2023-*" }
    owners  = ["amazon"]
  }`,
			map[string]map[string][]string{image + " amazon": owned("amazon")},
			map[string]map[string][]string{image + " self": owned(catAccount)}, "any AMI owned by amazon"},
		{"owners unknown", `source_ami_filter {
    filters = { name = "x-*" }
    owners  = [timestamp()]
  }
  spot_instance_types = [timestamp()]`,
			map[string]map[string][]string{image + " other": owned("999999999999"), instance + " p5": typed("p5.48xlarge")},
			nil, "the instance type is not known before the build"},
		{"an alias IAM does not show", `source_ami_filter {
    filters = { name = "x-*" }
    owners  = ["aws-backup-vault"]
  }`,
			map[string]map[string][]string{image + " other": owned("999999999999")}, nil, "no owner binds it"},
		{"literal source_ami", `source_ami = "ami-0literal"`,
			map[string]map[string][]string{"arn:aws:ec2:us-east-1::image/ami-0literal": nil},
			map[string]map[string][]string{image + " self": owned(catAccount)}, ""},
	} {
		d, _ := deriveSource(t, c.body)
		doc := policy(d)
		for k, ctx := range c.allow {
			if r, _, _ := strings.Cut(k, " "); !launch(doc, r, ctx) {
				t.Errorf("%s: launch %s denied", c.name, k)
			}
		}
		for k, ctx := range c.deny {
			if r, _, _ := strings.Cut(k, " "); launch(doc, r, ctx) {
				t.Errorf("%s: launch %s allowed", c.name, k)
			}
		}
		if notes := strings.Join(d.Notes, "\n"); !strings.Contains(notes, c.note) {
			t.Errorf("%s: notes %q lack %q", c.name, notes, c.note)
		}
	}
}

// RegisterImage: amazon-instance registers from its bundle and may name no
// snapshot but its mappings'; builders that register from the snapshots
// they made cannot be bound to them, so a template that also changes AMI
// attributes (any of them: the grant shares too) is refused.
func TestRegisterImageSnapshots(t *testing.T) {
	t.Parallel()
	register := func(d Derived, snapshot string) bool {
		doc := BuildRolePolicy(BuildParams{Partition: awsfacts.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants})
		req := iampolicy.Request{Action: "ec2:RegisterImage", Resource: "arn:aws:ec2:us-east-1::snapshot/" + snapshot, Context: map[string][]string{iampolicy.KeyRequestedRegion: {"us-east-1"}}}
		return iampolicy.Evaluate(req, []iampolicy.Document{doc}, nil) == iampolicy.Allow
	}
	src := func(typ string, opts map[string]packertemplate.Value) *packertemplate.Template {
		known := func(s string) packertemplate.Value { return packertemplate.Value{Known: true, String: s} }
		o := map[string]packertemplate.Value{"region": known("us-east-1"), "instance_type": known("m3.medium"), "source_ami": known("ami-1")}
		maps.Copy(o, opts)
		return &packertemplate.Template{Sources: []packertemplate.Source{{Type: typ, Name: "x", Options: o}}}
	}
	mapping := packertemplate.Value{Known: true, Blocks: []map[string]packertemplate.Value{{"device_name": {Known: true, String: "/dev/sdb"}, "snapshot_id": {Known: true, String: "snap-0data"}}}}
	d := Derive(src("amazon-instance", nil), awsfacts.PartitionAWS, catAccount, "us-east-1")
	if register(d, "snap-0prod") {
		t.Error("amazon-instance may register an AMI from any snapshot")
	}
	d = Derive(src("amazon-instance", map[string]packertemplate.Value{"ami_block_device_mappings": mapping}), awsfacts.PartitionAWS, catAccount, "us-east-1")
	if !register(d, "snap-0data") || register(d, "snap-0prod") {
		t.Error("amazon-instance: want its mapping's snapshot only")
	}
	desc := map[string]packertemplate.Value{"ami_description": {Known: true, String: "x"}}
	users := map[string]packertemplate.Value{"ami_users": {Known: true, List: []string{"210987654321"}}}
	for _, typ := range []string{"amazon-ebssurrogate", "amazon-chroot"} {
		d = Derive(src(typ, nil), awsfacts.PartitionAWS, catAccount, "us-east-1")
		if !register(d, "snap-0build") || len(d.Errors) > 0 {
			t.Errorf("%s without AMI attributes: register %v, errors %q", typ, register(d, "snap-0build"), d.Errors)
		}
		for _, opts := range []map[string]packertemplate.Value{desc, users} {
			d = Derive(src(typ, opts), awsfacts.PartitionAWS, catAccount, "us-east-1")
			if !strings.Contains(strings.Join(d.Errors, "\n"), "could register any snapshot of the account as an AMI and share it") {
				t.Errorf("%s with %v: errors %q", typ, slices.Collect(maps.Keys(opts)), d.Errors)
			}
		}
	}
}

// Removing the run's id or expiry is denied wherever DeleteTags is granted;
// an amazon-ebsvolume source that would remove them is refused.
func TestRunTagsAreNeverRemoved(t *testing.T) {
	t.Parallel()
	doc, d := derivedPolicy(t, "../../testdata/templates/ebsvolume-ssm.pkr.hcl", "us-east-1")
	if len(d.Errors) > 0 {
		t.Fatal(d.Errors)
	}
	untag := func(keys ...string) iampolicy.Decision {
		ctx := map[string][]string{iampolicy.KeyRequestedRegion: {"us-east-1"}}
		if keys != nil {
			ctx[KeyTagKeys] = keys
		}
		return iampolicy.Evaluate(iampolicy.Request{Action: "ec2:DeleteTags", Resource: "arn:aws:ec2:us-east-1:" + catAccount + ":volume/vol-1", Context: ctx}, []iampolicy.Document{doc}, nil)
	}
	for keys, want := range map[string]iampolicy.Decision{
		"Purpose": iampolicy.Allow, "Purpose,buildrole:run-id": iampolicy.ExplicitDeny, "buildrole:expires-at": iampolicy.ExplicitDeny, "": iampolicy.ExplicitDeny,
	} {
		var ks []string
		if keys != "" {
			ks = strings.Split(keys, ",")
		}
		if got := untag(ks...); got != want {
			t.Errorf("DeleteTags of %q = %v, want %v", keys, got, want)
		}
	}
	doc, _ = derivedPolicy(t, "../../testdata/templates/basic-ebs.pkr.hcl", "us-east-1")
	if slices.ContainsFunc(doc.Statement, func(s iampolicy.Statement) bool { return s.Sid == SidDenyRunTagRemoval }) {
		t.Error("a policy without DeleteTags carries its denials")
	}
	for _, tags := range []string{"var.buildrole_run_tags", `{ "buildrole:run-id" = "x" }`} {
		path := filepath.Join(t.TempDir(), "v.pkr.hcl")
		src := "variable \"buildrole_run_tags\" {\n  type    = map(string)\n  default = {}\n}\n" +
			"source \"amazon-ebsvolume\" \"v\" {\n  region = \"us-east-1\"\n  instance_type = \"t3.small\"\n  source_ami = \"ami-1\"\n  ssh_username = \"ec2-user\"\n" +
			"  run_volume_tags = " + tags + "\n  ebs_volumes {\n    device_name = \"/dev/xvdf\"\n    volume_size = 1\n  }\n}\nbuild {\n  sources = [\"source.amazon-ebsvolume.v\"]\n}\n"
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		tmpl, err := packertemplate.Load(path, packertemplate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d := Derive(tmpl, awsfacts.PartitionAWS, catAccount, "us-east-1")
		if !strings.Contains(strings.Join(d.Errors, "\n"), "keep the run's tags out of run_volume_tags") {
			t.Errorf("run_volume_tags = %s: errors %q", tags, d.Errors)
		}
	}
}

// Session Manager: AWS documents ssm:SessionDocumentAccessCheck only as
// BoolIfExists and says the condition must be on every statement that
// allows ssm:StartSession. Packer's session is allowed whether or not the
// request carries the key; the shell document (named, or the default when
// none is) and any other document are refused by resource alone; a request
// that turns the check off is refused.
func TestSessionManagerDocumentCheck(t *testing.T) {
	t.Parallel()
	tmpl, err := packertemplate.Load("../../testdata/templates/tagged-ssm.pkr.hcl", packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := Derive(tmpl, awsfacts.PartitionAWS, catAccount, "us-east-1")
	const (
		instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0build"
		shell    = "arn:aws:ssm:us-east-1:123456789012:document/SSM-SessionManagerRunShell"
		forward  = "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession"
	)
	for _, scope := range []string{"", runID} {
		doc := BuildRolePolicy(BuildParams{Partition: awsfacts.PartitionAWS, AccountID: catAccount, Regions: d.Regions, Grants: d.Grants,
			PassRoleARNs: []string{testRole}, InstanceProfileARNs: []string{testProfile}, TagRunID: scope})
		starts := 0
		for _, st := range doc.Statement {
			if !slices.Contains(st.Action, "ssm:StartSession") {
				continue
			}
			starts++
			if got := st.Condition["BoolIfExists"][KeySessionDocumentAccessCheck]; !slices.Equal(got, iampolicy.Values{"true"}) {
				t.Errorf("scope %q: statement %s allows ssm:StartSession without BoolIfExists %s = true: %v", scope, st.Sid, KeySessionDocumentAccessCheck, st.Condition)
			}
		}
		if starts < 2 {
			t.Fatalf("scope %q: %d statements allow ssm:StartSession, want the instance's and the document's", scope, starts)
		}
		for _, c := range []struct {
			name, resource, check string // check "": the request carries no key
			want                  iampolicy.Decision
		}{
			{"instance, key unsaid", instance, "", iampolicy.Allow},
			{"instance, check on", instance, "true", iampolicy.Allow},
			{"instance, check off", instance, "false", iampolicy.ImplicitDeny},
			{"port forwarding, key unsaid", forward, "", iampolicy.Allow},
			{"port forwarding, check on", forward, "true", iampolicy.Allow},
			{"shell named, key unsaid", shell, "", iampolicy.ImplicitDeny},
			{"no document (the default shell), check on", shell, "true", iampolicy.ImplicitDeny},
			{"another document", "arn:aws:ssm:us-east-1::document/AWS-StartInteractiveCommand", "true", iampolicy.ImplicitDeny},
		} {
			ctx := map[string][]string{iampolicy.KeyRequestedRegion: {"us-east-1"}}
			if c.check != "" {
				ctx[KeySessionDocumentAccessCheck] = []string{c.check}
			}
			if c.resource == instance {
				ctx[KeyResourceTagRunID] = []string{runID}
			}
			got := iampolicy.Evaluate(iampolicy.Request{Action: "ssm:StartSession", Resource: c.resource, Context: ctx}, []iampolicy.Document{doc}, nil)
			if got != c.want {
				t.Errorf("scope %q: %s = %v, want %v", scope, c.name, got, c.want)
			}
		}
	}
}
