package buildpolicy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/run"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

// Condition keys of scope: tags.
const (
	KeyRequestTagRunID  = iampolicy.PrefixRequestTag + run.TagRunID
	KeyResourceTagRunID = iampolicy.PrefixResourceTag + run.TagRunID
	KeyCreateAction     = "ec2:CreateAction"
)

// createsTagged are the calls that create resources of these kinds with the
// run's tags in the request (TagSpecifications from run_tags,
// run_volume_tags, spot_tags, fleet_tags): the request must carry this
// run's id. Source: builder/common/step_run_source_instance.go,
// step_key_pair.go, step_security_group.go, step_run_spot_instance.go,
// builder/ebs/step_create_ami.go (run_tags on the AMI and its snapshots).
var createsTagged = map[string][]string{
	// Not network-interface: older plugin versions tag only the instance
	// and its volumes on launch.
	"ec2:RunInstances":         {"instance", "volume"},
	"ec2:CreateKeyPair":        {"key-pair"},
	"ec2:CreateSecurityGroup":  {"security-group"},
	"ec2:CreateImage":          {"image", "snapshot"},
	"ec2:CreateLaunchTemplate": {"launch-template"},
	"ec2:CreateFleet":          {"fleet"},
}

// mutatesOwned are the calls that change or delete what the run created:
// the resource must carry this run's id. CopyImage keeps the source's tags
// (CopyImageTags), so copies carry it too.
var mutatesOwned = map[string][]string{
	// The temporary security group and key pair the run created; a group
	// or key pair the template names is bound by its ARN instead.
	"ec2:RunInstances":                        {"security-group", "key-pair"},
	"ssm:StartSession":                        {"instance"},
	"ec2:StopInstances":                       {"instance"},
	"ec2:TerminateInstances":                  {"instance"},
	"ec2:ModifyInstanceAttribute":             {"instance"},
	"ec2:GetPasswordData":                     {"instance"},
	"ec2:CreateImage":                         {"instance"},
	"ec2:DeleteKeyPair":                       {"key-pair"},
	"ec2:DeleteSecurityGroup":                 {"security-group"},
	"ec2:AuthorizeSecurityGroupIngress":       {"security-group"},
	"ec2:DeregisterImage":                     {"image", "snapshot"}, // snapshots too, with DeleteAssociatedSnapshots
	"ec2:DeleteSnapshot":                      {"snapshot"},
	"ec2:ModifyImageAttribute":                {"image"},
	"ec2:ModifySnapshotAttribute":             {"snapshot"},
	"ec2:EnableImageDeprecation":              {"image"},
	"ec2:EnableImageDeregistrationProtection": {"image"},
	"ec2:EnableFastLaunch":                    {"image"},
	"ec2:DeleteLaunchTemplate":                {"launch-template"},
	"ec2:AttachVolume":                        {"volume"},
	"ec2:DetachVolume":                        {"volume"},
	"ec2:DeleteVolume":                        {"volume"},
	"ec2:DeleteTags":                          {"volume"},
}

// onlyOwnKind are mutations that act on one resource type alone: merged
// grants pair them with other types, and those pairs are left out.
var onlyOwnKind = map[string]bool{
	"ec2:StopInstances": true, "ec2:TerminateInstances": true, "ec2:GetPasswordData": true,
	"ec2:DeleteKeyPair": true, "ec2:DeleteSecurityGroup": true, "ec2:AuthorizeSecurityGroupIngress": true,
	"ec2:DeregisterImage": true, "ec2:DeleteSnapshot": true, "ec2:ModifyImageAttribute": true,
	"ec2:ModifySnapshotAttribute": true, "ec2:EnableImageDeprecation": true,
	"ec2:EnableImageDeregistrationProtection": true, "ec2:EnableFastLaunch": true,
	"ec2:DeleteLaunchTemplate": true, "ec2:DeleteVolume": true,
}

// ec2Kind returns the resource type and id of an EC2 ARN.
func ec2Kind(arn string) (kind, id string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[2] != "ec2" {
		return "", ""
	}
	kind, id, _ = strings.Cut(parts[5], "/")
	return kind, id
}

type tagCond int

const (
	tagNone tagCond = iota
	tagRequest
	tagResource
)

// condFor decides the tag condition of one action on one resource. A
// resource the template names (subnet-..., sg-..., ami-...) is not the
// run's and gets none.
func condFor(action, resource string) tagCond {
	kind, id := ec2Kind(resource)
	if kind == "" {
		return tagNone
	}
	if slices.Contains(createsTagged[action], kind) {
		return tagRequest
	}
	if slices.Contains(mutatesOwned[action], kind) && (id == "*" || strings.HasSuffix(id, "*")) {
		return tagResource
	}
	return tagNone
}

// tagScoped splits each grant's statement by tag condition: creating calls
// need aws:RequestTag/buildrole:run-id = runID, calls on the run's own
// resources need aws:ResourceTag/buildrole:run-id = runID, and
// ec2:CreateTags is allowed only inside those creating calls
// (ec2:CreateAction, with the run's id among the tags; CopyImage, when the
// build copies, without) or on resources that already carry the run's id.
func tagScoped(g Grant, runID string, base func() iampolicy.Condition, copies bool) []iampolicy.Statement {
	buckets := map[tagCond]map[string][]string{} // cond → action → resources
	add := func(c tagCond, a, r string) {
		if buckets[c] == nil {
			buckets[c] = map[string][]string{}
		}
		buckets[c][a] = append(buckets[c][a], r)
	}
	var tagResources []string
	for _, a := range g.Actions {
		for _, r := range g.Resources {
			if a == "ec2:CreateTags" {
				tagResources = append(tagResources, r)
				continue
			}
			if kind, _ := ec2Kind(r); onlyOwnKind[a] && kind != "" && !slices.Contains(mutatesOwned[a], kind) {
				continue
			}
			add(condFor(a, r), a, r)
		}
	}
	var out []iampolicy.Statement
	for _, c := range []tagCond{tagNone, tagRequest, tagResource} {
		byAction := buckets[c]
		if len(byAction) == 0 {
			continue
		}
		// One statement per distinct resource set keeps the policy short.
		groups := map[string][]string{}
		for a, rs := range byAction {
			k := strings.Join(sortedSet(rs), "\x00")
			groups[k] = append(groups[k], a)
		}
		keys := make([]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			cond := base()
			switch c {
			case tagRequest:
				cond[iampolicy.OpStringEquals][KeyRequestTagRunID] = iampolicy.Values{runID}
			case tagResource:
				cond[iampolicy.OpStringEquals][KeyResourceTagRunID] = iampolicy.Values{runID}
			}
			out = append(out, iampolicy.Statement{
				Sid: g.Sid + [...]string{"", "Tagged", "Owned"}[c] + suffix(i), Effect: iampolicy.EffectAllow,
				Action: sortedSet(groups[k]), Resource: strings.Split(k, "\x00"), Condition: cond,
			})
		}
	}
	if len(tagResources) > 0 {
		// ec2:CreateAction holds the API name, without "ec2:".
		var creating []string
		for a := range createsTagged {
			creating = append(creating, strings.TrimPrefix(a, "ec2:"))
		}
		sort.Strings(creating)
		onCreate := base()
		if _, ok := onCreate[iampolicy.OpStringEquals][KeyCreateAction]; !ok {
			onCreate[iampolicy.OpStringEquals][KeyCreateAction] = creating
		}
		onCreate[iampolicy.OpStringEquals][KeyRequestTagRunID] = iampolicy.Values{runID}
		owned := base()
		owned[iampolicy.OpStringEquals][KeyResourceTagRunID] = iampolicy.Values{runID}
		res := sortedSet(tagResources)
		out = append(out, iampolicy.Statement{Sid: g.Sid + "OnCreate", Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"ec2:CreateTags"}, Resource: res, Condition: onCreate})
		// A grant for tagging on create only has no owned form.
		if _, onCreateOnly := base()[iampolicy.OpStringEquals][KeyCreateAction]; !onCreateOnly {
			out = append(out, iampolicy.Statement{Sid: g.Sid + "Owned", Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"ec2:CreateTags"}, Resource: res, Condition: owned})
		}
		// CopyImage copies the source AMI's tags (CopyImageTags), which EC2
		// authorizes as CreateTags on create; whether it shows them as
		// request tags is not documented, so the run's id is not required
		// here (the copy is not the run's to change: TagScopeErrors refuses
		// copies with attribute changes).
		var copied []string
		for _, r := range res {
			if kind, _ := ec2Kind(r); kind == "image" || kind == "snapshot" {
				copied = append(copied, r)
			}
		}
		if copies && len(copied) > 0 {
			onCopy := base()
			onCopy[iampolicy.OpStringEquals][KeyCreateAction] = iampolicy.Values{"CopyImage"}
			out = append(out, iampolicy.Statement{Sid: g.Sid + "OnCopy", Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"ec2:CreateTags"}, Resource: copied, Condition: onCopy})
		}
	}
	return out
}

func suffix(i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprint(i + 1)
}

// runTagsMissing reports whether s's option does not pass
// var.buildrole_run_tags, and where to say so: the option, else the source.
func runTagsMissing(s packertemplate.Source, option string) (packertemplate.Pos, bool) {
	v, ok := s.Options[option]
	switch {
	case ok && slices.Contains(v.Refs, runTagsVar):
		return v.Pos, false
	case ok:
		return v.Pos, true
	}
	return s.Pos, true
}

// TagScopeErrors says why a template cannot be built with scope: tags, and
// what to change. Tag-bound policies only work when Packer puts the run's
// tags on everything it creates, in the request that creates it.
func TagScopeErrors(t *packertemplate.Template, partition string) []string {
	var errs []string
	if partition == awsfacts.PartitionChina {
		return []string{"scope: tags needs tags on create, which Packer does not use in aws-cn: use scope: region"}
	}
	needs := func(s packertemplate.Source, option string) {
		if packertemplate.LegacyJSON(s.Pos.File) {
			if option != "run_tags" {
				return // said once per source
			}
			errs = append(errs, fmt.Sprintf("%s: %s.%s: scope: tags needs the run's tags as a map variable on what Packer creates, and a legacy JSON template's variables are strings: use scope: region, or upgrade the template (packer hcl2_upgrade)", s.Pos, s.Type, s.Name))
			return
		}
		pos, missing := runTagsMissing(s, option)
		if !missing {
			return
		}
		errs = append(errs, fmt.Sprintf("%s: %s.%s: scope: tags needs the run's tags on what Packer creates: set `%s = var.buildrole_run_tags` (or merge() your tags with it), and declare `variable \"buildrole_run_tags\" { type = map(string) }`", pos, s.Type, s.Name, option))
	}
	for _, s := range t.Sources {
		if s.Type != "amazon-ebs" {
			errs = append(errs, fmt.Sprintf("%s: %s.%s: scope: tags supports amazon-ebs only (%s registers or tags resources after creating them): use scope: region", s.Pos, s.Type, s.Name, s.Type))
			continue
		}
		needs(s, "run_tags")
		needs(s, "run_volume_tags")
		if spot(s) {
			errs = append(errs, fmt.Sprintf("%s: %s.%s: scope: tags does not support spot instances: the plugin tags the spot request after launch, which the run's tag cannot vouch for: use scope: region", s.Options["spot_price"].Pos, s.Type, s.Name))
		}
		if s.Has("security_group_filter") {
			errs = append(errs, fmt.Sprintf("%s: %s.%s: security_group_filter picks groups the run does not own, which scope: tags cannot bind: name them with security_group_ids, or use scope: region", s.Options["security_group_filter"].Pos, s.Type, s.Name))
		}
		if s.Has("ami_regions") && (s.Has("tags") || s.Has("snapshot_tags")) {
			errs = append(errs, fmt.Sprintf("%s: %s.%s: with ami_regions, tags and snapshot_tags are applied to the copies' snapshots, which do not carry the run's tag (CopyImage copies AMI tags only): drop tags/snapshot_tags or use scope: region", s.Options["ami_regions"].Pos, s.Type, s.Name))
		}
		if v, _ := s.Bool("force_deregister"); v {
			errs = append(errs, fmt.Sprintf("%s: %s.%s: force_deregister deletes AMIs of earlier runs, which scope: tags forbids: remove it or use scope: region", s.Options["force_deregister"].Pos, s.Type, s.Name))
		}
		if v, _ := s.Bool("skip_ami_run_tags"); v {
			errs = append(errs, fmt.Sprintf("%s: %s.%s: skip_ami_run_tags leaves the AMI without the run's tags: remove it or use scope: region", s.Options["skip_ami_run_tags"].Pos, s.Type, s.Name))
		}
		if partition == awsfacts.PartitionGovCloud {
			errs = append(errs, fmt.Sprintf("%s: %s.%s: in aws-us-gov Packer tags the AMI after creating it: use scope: region", s.Pos, s.Type, s.Name))
		}
	}
	return append(errs, publishErrors(t.Sources)...)
}

// runTagsVar is the variable buildrole sets to the run's tags
// (PKR_VAR_buildrole_run_tags).
const runTagsVar = "var.buildrole_run_tags"

// sourceOptions are options of one source of a template.
type sourceOptions struct {
	s    packertemplate.Source
	opts []string
}

// publishErrors refuse what would let a run publish an image it did not
// build. The policy is the union of every source's grants, so one source's
// copy or launch and another's sharing meet in it: decided over all sources.
func publishErrors(sources []packertemplate.Source) []string {
	var copies, shares, unbound []sourceOptions
	for _, s := range sources {
		if o := copyOptions(s); len(o) > 0 {
			copies = append(copies, sourceOptions{s, o})
		}
		if o := shareOptions(s); len(o) > 0 {
			shares = append(shares, sourceOptions{s, o})
		}
		if slices.Contains(instanceBuilders, s.Type) && imageAtBuild(s) {
			if _, ok := imageOwners(arnCtx{}, s); !ok {
				unbound = append(unbound, sourceOptions{s, nil})
			}
		}
	}
	if len(shares) == 0 {
		return nil
	}
	var errs []string
	shared := optionsText(shares, nil)
	if len(copies) > 0 {
		c := copies[0]
		errs = append(errs, fmt.Sprintf("%s: %s.%s: %s with %s: CopyImage has no condition key on its source AMI, so a copy of any AMI of the account could be tagged as this run's and then shared or changed: drop %s (share in a later step), or use scope: region",
			c.s.Options[c.opts[0]].Pos, c.s.Type, c.s.Name, optionsText(copies, &c.s), optionsText(shares, &c.s), shared))
	}
	if len(unbound) > 0 {
		u := unbound[0].s
		pos := u.Pos
		if v, ok := u.Options["source_ami_filter"]; ok {
			pos = v.Pos
		}
		errs = append(errs, fmt.Sprintf("%s: %s.%s: the source AMI is found at build time and no owner binds it, so with %s any AMI the account can use could be launched, imaged as this run's and shared: give source_ami or the source_ami_filter owners literally, drop %s (share in a later step), or use scope: region",
			pos, u.Type, u.Name, optionsText(shares, &u), shared))
	}
	return errs
}

// optionsText lists the options of several sources: those of self bare,
// the others' with their source ("ami_users in amazon-ebs.b").
func optionsText(list []sourceOptions, self *packertemplate.Source) string {
	var parts []string
	for _, so := range list {
		o := strings.Join(so.opts, ", ")
		if self == nil || so.s.Type != self.Type || so.s.Name != self.Name || so.s.Build != self.Build {
			o += " in " + so.s.Type + "." + so.s.Name
		}
		parts = append(parts, o)
	}
	return strings.Join(parts, "; ")
}

// copyOptions are the options of s that make Packer call CopyImage.
func copyOptions(s packertemplate.Source) []string {
	var out []string
	if s.Has("ami_regions") {
		out = append(out, "ami_regions")
	}
	for _, o := range []string{"encrypt_boot", "skip_build_region"} {
		if isTrue(o)(s) {
			out = append(out, o)
		}
	}
	return out
}

// shareOptions are the options of s that make Packer change an AMI's or a
// snapshot's attributes, sharing among them.
func shareOptions(s packertemplate.Source) []string {
	return append(imageAttributeOptions(s), present(s, "snapshot_users", "snapshot_groups")...)
}

// imageAttributeOptions are the options of s that make Packer call
// ModifyImageAttribute, which grants every attribute: sharing too.
func imageAttributeOptions(s packertemplate.Source) []string {
	return present(s, "ami_users", "ami_groups", "ami_org_arns", "ami_ou_arns", "ami_product_codes", "ami_description", "imds_support")
}

func present(s packertemplate.Source, names ...string) []string {
	var out []string
	for _, o := range names {
		if s.Has(o) {
			out = append(out, o)
		}
	}
	return out
}
