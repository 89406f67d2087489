package iampolicy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

// Grant is one statement of a derived build policy, with why it is there.
type Grant struct {
	Sid       string
	Actions   []string
	Resources []string
	Why       []string // "amazon-ebs.web: ami_regions (builder/common/step_ami_region_copy.go)"
}

// arnCtx builds resource ARNs. The region part is "*": every statement is
// bound to the build regions by aws:RequestedRegion.
type arnCtx struct{ partition, account string }

func (a arnCtx) ec2(kind, id string) string {
	acct := a.account
	if kind == "image" || kind == "snapshot" {
		acct = "" // AMIs and snapshots carry no account in their ARN
	}
	return fmt.Sprintf("arn:%s:ec2:*:%s:%s/%s", a.partition, acct, kind, id)
}

// entry is one row of the permission catalogue: when a source's options
// make Packer call these actions on these resources. step names the
// packer-plugin-amazon file that makes the calls.
type entry struct {
	sid      string
	why      string
	step     string
	builders []string // nil: every Amazon builder
	when     func(s packertemplate.Source) bool
	actions  []string
	res      func(a arnCtx, s packertemplate.Source) []string
}

var (
	instanceBuilders = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-ebsvolume", "amazon-instance"}
	imageBuilders    = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-instance", "amazon-chroot"}
)

func always(packertemplate.Source) bool { return true }

func hasAny(names ...string) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		for _, n := range names {
			if s.Has(n) {
				return true
			}
		}
		return false
	}
}

func isTrue(name string) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		v, known := s.Bool(name)
		return v || (s.Has(name) && !known)
	}
}

func star(kind string) func(arnCtx, packertemplate.Source) []string {
	return func(a arnCtx, _ packertemplate.Source) []string { return []string{a.ec2(kind, "*")} }
}

func kinds(ks ...string) func(arnCtx, packertemplate.Source) []string {
	return func(a arnCtx, _ packertemplate.Source) []string {
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = a.ec2(k, "*")
		}
		return out
	}
}

func anywhere(arnCtx, packertemplate.Source) []string { return []string{"*"} }

// needsKeyPair mirrors StepKeyPair: no temporary key pair with an existing
// one, a private key file, a password, the SSH agent or no communicator.
func needsKeyPair(s packertemplate.Source) bool {
	if c, _ := s.Str("communicator"); c == "none" {
		return false
	}
	if a, _ := s.Bool("ssh_agent_auth"); a {
		return false
	}
	return !hasAny("ssh_keypair_name", "ssh_private_key_file", "ssh_password")(s)
}

func needsSecurityGroup(s packertemplate.Source) bool {
	return !hasAny("security_group_id", "security_group_ids", "security_group_filter")(s)
}

func spot(s packertemplate.Source) bool { return hasAny("spot_price", "spot_instance_types")(s) }

func sessionManager(s packertemplate.Source) bool {
	v, known := s.Str("ssh_interface")
	return v == "session_manager" || (s.Has("ssh_interface") && !known)
}

func windows(s packertemplate.Source) bool {
	c, known := s.Str("communicator")
	return c == "winrm" || (s.Has("communicator") && !known) || s.Has("windows_password_timeout")
}

// runResources are what RunInstances touches, scoped where the template
// fixes them.
func runResources(a arnCtx, s packertemplate.Source) []string {
	out := []string{a.ec2("instance", "*"), a.ec2("volume", "*"), a.ec2("network-interface", "*")}
	if id, ok := s.Str("subnet_id"); ok {
		out = append(out, a.ec2("subnet", id))
	} else {
		out = append(out, a.ec2("subnet", "*"))
	}
	if ids, ok := s.StrList("security_group_ids"); ok && !needsSecurityGroup(s) {
		for _, id := range ids {
			out = append(out, a.ec2("security-group", id))
		}
	} else if id, ok := s.Str("security_group_id"); ok {
		out = append(out, a.ec2("security-group", id))
	} else {
		out = append(out, a.ec2("security-group", "*"))
	}
	if name, ok := s.Str("ssh_keypair_name"); ok {
		out = append(out, a.ec2("key-pair", name))
	} else if needsKeyPair(s) {
		out = append(out, a.ec2("key-pair", keyPairName(s)))
	}
	if ami, ok := s.Str("source_ami"); ok && !s.Has("source_ami_filter") {
		out = append(out, a.ec2("image", ami))
	} else {
		out = append(out, a.ec2("image", "*"))
	}
	if spot(s) {
		out = append(out, a.ec2("launch-template", "*"))
	}
	return out
}

// keyPairName is the temporary key pair's name: Packer's default is
// "packer_<uuid>"; temporary_key_pair_name only renames it.
func keyPairName(s packertemplate.Source) string {
	if n, ok := s.Str("temporary_key_pair_name"); ok {
		return n
	}
	return "packer_*"
}

var kmsKeyID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^mrk-[0-9a-f]{32}$`)

// kmsKeys returns the key ARNs the template names. An alias cannot be
// resolved without a call, so it widens to the account's keys.
func kmsKeys(a arnCtx, s packertemplate.Source) []string {
	var ids []string
	if k, ok := s.Str("kms_key_id"); ok {
		ids = append(ids, k)
	} else if s.Has("kms_key_id") {
		ids = append(ids, "")
	}
	if v, ok := s.Options["region_kms_key_ids"]; ok {
		if !v.Known {
			ids = append(ids, "")
		}
		for _, k := range v.Map {
			ids = append(ids, k)
		}
	}
	for _, bd := range append(s.Options["launch_block_device_mappings"].Blocks, s.Options["ami_block_device_mappings"].Blocks...) {
		if v, ok := bd["kms_key_id"]; ok {
			if v.Known {
				ids = append(ids, v.String)
			} else {
				ids = append(ids, "")
			}
		}
	}
	var out []string
	for _, id := range ids {
		switch {
		case strings.HasPrefix(id, "arn:") && strings.Contains(id, ":key/"):
			out = append(out, id)
		case kmsKeyID.MatchString(id):
			out = append(out, fmt.Sprintf("arn:%s:kms:*:%s:key/%s", a.partition, a.account, id))
		default: // alias or unknown
			out = append(out, fmt.Sprintf("arn:%s:kms:*:%s:key/*", a.partition, a.account))
		}
	}
	return out
}

func usesKMS(s packertemplate.Source) bool { return len(kmsKeys(arnCtx{}, s)) > 0 }

// catalogue is the permission table. Each row cites the
// hashicorp/packer-plugin-amazon step that makes the calls.
var catalogue = []entry{
	{sid: "Describe", why: "every build", step: "builder/common/step_source_ami_info.go, step_run_source_instance.go, step_pre_validate.go",
		when: always, res: anywhere,
		actions: []string{"ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:DescribeRegions", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeTags", "ec2:DescribeImageAttribute"}},
	{sid: "Network", why: "vpc_filter, subnet_filter, associate_public_ip_address", step: "builder/common/step_network_info.go",
		when: hasAny("vpc_filter", "subnet_filter", "associate_public_ip_address", "vpc_id"), res: anywhere,
		actions: []string{"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeInstanceTypeOfferings"}},
	{sid: "RunInstance", why: "the build instance", step: "builder/common/step_run_source_instance.go", builders: instanceBuilders,
		when: func(s packertemplate.Source) bool { return !spot(s) }, res: runResources,
		actions: []string{"ec2:RunInstances"}},
	{sid: "InstanceLifecycle", why: "the build instance", step: "builder/common/step_run_source_instance.go, step_stop_ebs_instance.go", builders: instanceBuilders,
		when: always, res: star("instance"),
		actions: []string{"ec2:StopInstances", "ec2:TerminateInstances"}},
	{sid: "ModifyInstance", why: "ena_support, sriov_support", step: "builder/common/step_modify_ebs_instance.go", builders: instanceBuilders,
		when: hasAny("ena_support", "sriov_support"), res: star("instance"),
		actions: []string{"ec2:ModifyInstanceAttribute"}},
	{sid: "Tag", why: "run_tags, run_volume_tags, tags, snapshot_tags (tags on create and after)", step: "builder/common/step_create_tags.go, tags.go",
		when: always, res: kinds("instance", "volume", "image", "snapshot", "security-group", "key-pair", "network-interface", "launch-template"),
		actions: []string{"ec2:CreateTags"}},
	{sid: "KeyPair", why: "temporary key pair (no ssh_keypair_name, ssh_private_key_file or ssh_password)", step: "builder/common/step_key_pair.go",
		when: needsKeyPair, builders: instanceBuilders,
		res:     func(a arnCtx, s packertemplate.Source) []string { return []string{a.ec2("key-pair", keyPairName(s))} },
		actions: []string{"ec2:CreateKeyPair", "ec2:DeleteKeyPair"}},
	{sid: "SecurityGroup", why: "temporary security group (no security_group_id(s) or security_group_filter)", step: "builder/common/step_security_group.go",
		when: needsSecurityGroup, builders: instanceBuilders, res: kinds("security-group", "vpc"),
		actions: []string{"ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup"}},
	{sid: "CreateImage", why: "the AMI", step: "builder/ebs/step_create_ami.go", builders: []string{"amazon-ebs"},
		when: always, res: kinds("image", "instance", "snapshot"),
		actions: []string{"ec2:CreateImage"}},
	{sid: "RegisterImage", why: "the AMI", step: "builder/ebssurrogate/step_register_ami.go, builder/chroot/step_register_ami.go, builder/instance/step_register_ami.go",
		builders: []string{"amazon-ebssurrogate", "amazon-chroot", "amazon-instance"}, when: always, res: kinds("image", "snapshot"),
		actions: []string{"ec2:RegisterImage"}},
	{sid: "SnapshotVolumes", why: "snapshots of the root volume", step: "builder/ebssurrogate/step_snapshot_volumes.go, builder/chroot/step_snapshot.go",
		builders: []string{"amazon-ebssurrogate", "amazon-chroot"}, when: always, res: kinds("snapshot", "volume"),
		actions: []string{"ec2:CreateSnapshot"}},
	{sid: "ChrootVolume", why: "the chroot volume on this host", step: "builder/chroot/step_create_volume.go, step_attach_volume.go",
		builders: []string{"amazon-chroot"}, when: always, res: kinds("volume", "instance", "snapshot"),
		actions: []string{"ec2:CreateVolume", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:DeleteVolume"}},
	{sid: "Cleanup", why: "removing the AMI and snapshots of a failed build", step: "builder/ebs/step_create_ami.go (Cleanup)",
		builders: imageBuilders, when: always, res: kinds("image", "snapshot"),
		actions: []string{"ec2:DeregisterImage", "ec2:DeleteSnapshot"}},
	{sid: "ForceDeregister", why: "force_deregister, force_delete_snapshot", step: "builder/common/step_deregister_ami.go",
		builders: imageBuilders, when: isTrue("force_deregister"), res: kinds("image", "snapshot"),
		actions: []string{"ec2:DeregisterImage", "ec2:DeleteSnapshot"}},
	{sid: "CopyImage", why: "ami_regions, encrypt_boot (copy to encrypt)", step: "builder/common/step_ami_region_copy.go",
		builders: imageBuilders, when: func(s packertemplate.Source) bool { return s.Has("ami_regions") || isTrue("encrypt_boot")(s) }, res: kinds("image", "snapshot"),
		actions: []string{"ec2:CopyImage"}},
	{sid: "ImageAttributes", why: "ami_users, ami_groups, ami_org_arns, ami_ou_arns, ami_description, imds_support", step: "builder/common/step_modify_ami_attributes.go",
		builders: imageBuilders, when: hasAny("ami_users", "ami_groups", "ami_org_arns", "ami_ou_arns", "ami_product_codes", "imds_support"), res: star("image"),
		actions: []string{"ec2:ModifyImageAttribute"}},
	{sid: "SnapshotAttributes", why: "snapshot_users, snapshot_groups", step: "builder/common/step_modify_ami_attributes.go",
		builders: imageBuilders, when: hasAny("snapshot_users", "snapshot_groups"), res: star("snapshot"),
		actions: []string{"ec2:ModifySnapshotAttribute"}},
	{sid: "Deprecation", why: "deprecate_at", step: "builder/common/step_enable_deprecation.go",
		builders: imageBuilders, when: hasAny("deprecate_at"), res: star("image"),
		actions: []string{"ec2:EnableImageDeprecation"}},
	{sid: "DeregistrationProtection", why: "deregistration_protection", step: "builder/common/step_enable_deregistration_protection.go",
		builders: imageBuilders, when: hasAny("deregistration_protection"), res: star("image"),
		actions: []string{"ec2:EnableImageDeregistrationProtection"}},
	{sid: "Spot", why: "spot_price, spot_instance_types", step: "builder/common/step_run_spot_instance.go",
		builders: instanceBuilders, when: spot,
		res: func(a arnCtx, s packertemplate.Source) []string {
			return append(runResources(a, s), a.ec2("fleet", "*"), a.ec2("spot-instances-request", "*"))
		},
		actions: []string{"ec2:CreateLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:CreateFleet", "ec2:RunInstances"}},
	{sid: "SpotPrice", why: "spot_price = \"auto\", spot_instance_types", step: "builder/common/step_run_spot_instance.go",
		builders: instanceBuilders, when: spot, res: anywhere,
		actions: []string{"ec2:DescribeSpotPriceHistory"}},
	{sid: "WindowsPassword", why: "communicator = \"winrm\" (the Administrator password)", step: "builder/common/step_get_password.go",
		builders: instanceBuilders, when: windows, res: star("instance"),
		actions: []string{"ec2:GetPasswordData"}},
	{sid: "KMS", why: "encrypt_boot, kms_key_id, region_kms_key_ids, encrypted block devices", step: "builder/common/step_ami_region_copy.go, step_run_source_instance.go",
		when: usesKMS, res: kmsKeys,
		actions: []string{"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"}},
	{sid: "SessionManager", why: "ssh_interface = \"session_manager\"", step: "builder/common/step_create_ssm_tunnel.go",
		builders: instanceBuilders, when: sessionManager,
		res: func(a arnCtx, _ packertemplate.Source) []string {
			return []string{a.ec2("instance", "*"), fmt.Sprintf("arn:%s:ssm:*::document/AWS-StartPortForwardingSession", a.partition)}
		},
		actions: []string{"ssm:StartSession"}},
	{sid: "SessionManagerEnd", why: "ssh_interface = \"session_manager\"", step: "builder/common/step_create_ssm_tunnel.go",
		builders: instanceBuilders, when: sessionManager,
		res: func(a arnCtx, _ packertemplate.Source) []string {
			return []string{fmt.Sprintf("arn:%s:ssm:*:%s:session/*", a.partition, a.account)}
		},
		actions: []string{"ssm:TerminateSession"}},
}

// CatalogueActions lists every action any Packer build may be granted: the
// union of the catalogue, for the permissions boundary.
func CatalogueActions() []string {
	set := map[string]bool{}
	for _, a := range packerEC2Actions {
		set[a] = true
	}
	for _, e := range catalogue {
		for _, a := range e.actions {
			set[a] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Derived is the permission picture of one template.
type Derived struct {
	Grants  []Grant
	Regions []string // build region first, then every ami_regions entry
	// InstanceProfiles the template names itself (other than buildrole's).
	InstanceProfiles []string
	Notes            []string // conservative grants and things the user should know
	Errors           []string // the template cannot be built under buildrole as written
}

// Derive maps a template's sources to grants through the catalogue.
func Derive(t *packertemplate.Template, partition, account, buildRegion string) Derived {
	if partition == "" {
		partition = PartitionAWS
	}
	a := arnCtx{partition, account}
	d := Derived{Regions: []string{buildRegion}}
	bySid := map[string]*Grant{}
	var order []string
	for _, n := range t.Notes {
		d.Notes = append(d.Notes, n.String())
	}
	for _, s := range t.Sources {
		label := s.Type + "." + s.Name
		if r, ok := s.Str("region"); ok && r != buildRegion {
			d.Errors = append(d.Errors, fmt.Sprintf("%s: %s builds in region %q but aws-region is %q: set them the same", s.Pos, label, r, buildRegion))
		}
		if v, ok := s.Options["ami_regions"]; ok {
			if v.Known {
				d.Regions = append(d.Regions, v.List...)
			} else {
				d.Errors = append(d.Errors, fmt.Sprintf("%s: %s: ami_regions is not known before the build; give it literally or through a variable so the policy can name the regions", v.Pos, label))
			}
		}
		if s.Has("temporary_iam_instance_profile_policy_document") {
			d.Errors = append(d.Errors, fmt.Sprintf("%s: %s sets temporary_iam_instance_profile_policy_document: Packer would need iam:CreateRole and iam:PutRolePolicy, which defeats a least-privilege build role; remove it and use `iam_instance_profile = var.iam_instance_profile`, the profile buildrole creates (its policy comes from the instance-policy input)", s.Options["temporary_iam_instance_profile_policy_document"].Pos, label))
		}
		if v, ok := s.Options["iam_instance_profile"]; ok && !refersTo(v, "var.iam_instance_profile") {
			if v.Known {
				d.InstanceProfiles = append(d.InstanceProfiles, v.String)
				d.Notes = append(d.Notes, fmt.Sprintf("%s: %s uses its own instance profile %q: PassRole is granted on a role of the same name; prefer `iam_instance_profile = var.iam_instance_profile`", v.Pos, label, v.String))
			} else {
				d.Errors = append(d.Errors, fmt.Sprintf("%s: %s: iam_instance_profile is not known before the build; use `var.iam_instance_profile`, which buildrole sets", v.Pos, label))
			}
		}
		for _, e := range catalogue {
			if e.builders != nil && !slices.Contains(e.builders, s.Type) || !e.when(s) {
				continue
			}
			g := bySid[e.sid]
			if g == nil {
				g = &Grant{Sid: e.sid}
				bySid[e.sid] = g
				order = append(order, e.sid)
			}
			g.Actions = append(g.Actions, e.actions...)
			g.Resources = append(g.Resources, e.res(a, s)...)
			g.Why = append(g.Why, fmt.Sprintf("%s: %s (%s)", label, e.why, e.step))
		}
	}
	for _, sid := range order {
		g := bySid[sid]
		g.Actions = sortedSet(g.Actions)
		g.Resources = sortedSet(g.Resources)
		if slices.Contains(g.Resources, "*") {
			g.Resources = []string{"*"}
		}
		g.Why = sortedSet(g.Why)
		d.Grants = append(d.Grants, *g)
	}
	d.Regions = dedupe(d.Regions)
	for _, ds := range t.Data {
		label := "data." + ds.Type + "." + ds.Name
		switch ds.Type {
		case "amazon-parameterstore":
			res := fmt.Sprintf("arn:%s:ssm:*:%s:parameter/*", partition, account)
			if n, ok := ds.Str("name"); ok {
				res = fmt.Sprintf("arn:%s:ssm:*:%s:parameter/%s", partition, account, strings.TrimPrefix(n, "/"))
			}
			d.Grants = append(d.Grants, Grant{Sid: "ParameterStore", Actions: []string{"ssm:GetParameter"}, Resources: []string{res}, Why: []string{label + " (datasource/parameterstore/data.go)"}})
		case "amazon-secretsmanager":
			res := fmt.Sprintf("arn:%s:secretsmanager:*:%s:secret:*", partition, account)
			if n, ok := ds.Str("name"); ok {
				res = fmt.Sprintf("arn:%s:secretsmanager:*:%s:secret:%s-*", partition, account, n)
			}
			d.Grants = append(d.Grants, Grant{Sid: "SecretsManager", Actions: []string{"secretsmanager:GetSecretValue"}, Resources: []string{res}, Why: []string{label + " (datasource/secretsmanager/data.go)"}})
		case "amazon-ami":
			// DescribeImages is in every build's Describe grant.
		default:
			d.Errors = append(d.Errors, fmt.Sprintf("%s: %s is not in buildrole's permission catalogue; add what it needs with extra-policy", ds.Pos, label))
		}
	}
	for _, pp := range t.PostProcessors {
		d.Errors = append(d.Errors, fmt.Sprintf("%s: post-processor %s is not in buildrole's permission catalogue; add what it needs with extra-policy", pp.Pos, pp.Type))
	}
	if len(t.Sources) == 0 {
		d.Errors = append(d.Errors, "the template has no Amazon builder source (amazon-ebs, amazon-ebssurrogate, amazon-ebsvolume, amazon-instance, amazon-chroot)")
	}
	return d
}

func refersTo(v packertemplate.Value, ref string) bool {
	for _, r := range v.Refs {
		if r == ref {
			return true
		}
	}
	return false
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}
