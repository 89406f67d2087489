package buildpolicy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/packertemplate"
	"github.com/buildrole/buildrole/internal/run"
)

// Derived is the permission picture of one template.
type Derived struct {
	Grants  []Grant
	Regions []string // build region first, then every ami_regions entry
	// InstanceProfiles the template names itself (other than buildrole's).
	InstanceProfiles []string
	Notes            []string // conservative grants and things the user should know
	Errors           []string // the template cannot be built under buildrole as written
	// SessionManager: some source reaches its VM through SSM, so the VM's
	// role needs the SSM agent's permissions.
	SessionManager bool
}

// Derive maps a template's sources to grants through the catalogue.
func Derive(t *packertemplate.Template, partition, account, buildRegion string) Derived {
	if partition == "" {
		partition = awsfacts.PartitionAWS
	}
	a := arnCtx{partition, account}
	d := Derived{Regions: []string{buildRegion}}
	for _, n := range t.Notes {
		d.Notes = append(d.Notes, n.String())
	}
	var gs grantSet
	for _, s := range t.Sources {
		label := s.Type + "." + s.Name
		d.SessionManager = d.SessionManager || sessionManager(s)
		d.checkRegions(s, label, buildRegion)
		d.checkInstanceProfile(s, label)
		d.noteSource(a, s, label)
		d.checkRunVolumeTags(s, label)
		gs.add(a, s, label)
	}
	d.refuseRegisteredSharing(a, t.Sources)
	d.Grants = gs.statements()
	d.Regions = dedupe(d.Regions)
	d.bindKMSToEC2(partition)
	d.addDataSources(a, t.Data)
	d.refuseUncatalogued(t)
	return d
}

// checkRegions collects the regions a source builds and copies to, and
// refuses a build region other than aws-region or copy regions known only
// at build time.
func (d *Derived) checkRegions(s packertemplate.Source, label, buildRegion string) {
	// No build region: the missing aws-region is the one error to report.
	if r, ok := s.Str("region"); ok && buildRegion != "" && r != buildRegion {
		d.Errors = append(d.Errors, fmt.Sprintf("%s: %s builds in region %q but aws-region is %q: set them the same", s.Pos, label, r, buildRegion))
	}
	if v, ok := s.Options["ami_regions"]; ok {
		if v.Known {
			d.Regions = append(d.Regions, v.List...)
		} else {
			d.Errors = append(d.Errors, fmt.Sprintf("%s: %s: ami_regions is not known before the build; give it literally or through a variable so the policy can name the regions", v.Pos, label))
		}
	}
}

// checkInstanceProfile refuses the profile Packer would create itself and
// a profile known only at build time, and notes one the template names.
func (d *Derived) checkInstanceProfile(s packertemplate.Source, label string) {
	if s.Has("temporary_iam_instance_profile_policy_document") {
		d.Errors = append(d.Errors, fmt.Sprintf("%s: %s sets temporary_iam_instance_profile_policy_document: Packer would need iam:CreateRole and iam:PutRolePolicy, which defeats a least-privilege build role; remove it and use %s, the profile buildrole creates (its policy comes from the instance-policy input)", s.Options["temporary_iam_instance_profile_policy_document"].Pos, label, profileFix(s)))
	}
	v, ok := s.Options["iam_instance_profile"]
	if !ok || refersTo(v, "var.iam_instance_profile") || v.Known && v.String == "" {
		return // buildrole's profile, or a known empty one: Packer's "no profile"
	}
	if v.Known {
		d.InstanceProfiles = append(d.InstanceProfiles, v.String)
		d.Notes = append(d.Notes, fmt.Sprintf("%s: %s uses its own instance profile %q: PassRole is granted on a role of the same name; prefer %s", v.Pos, label, v.String, profileFix(s)))
	} else {
		d.Errors = append(d.Errors, fmt.Sprintf("%s: %s: iam_instance_profile is not known before the build; use %s, which buildrole sets", v.Pos, label, profileFix(s)))
	}
}

func profileFix(s packertemplate.Source) string { return ProfileFix(s.Pos.File) }

// ProfileFix is how a template names buildrole's instance profile, in the
// syntax of its file: a legacy JSON template has no PKR_VAR_*, so its
// variable reads the environment.
func ProfileFix(file string) string {
	if packertemplate.LegacyJSON(file) {
		return "\"iam_instance_profile\": \"{{user `iam_instance_profile`}}\" with the variable \"iam_instance_profile\": \"{{env `PKR_VAR_iam_instance_profile`}}\" in \"variables\""
	}
	return "`iam_instance_profile = var.iam_instance_profile`"
}

// noteSource notes what a source needs beyond its grants: S3 access from
// the instance, service-linked roles, and where a grant had to widen.
func (d *Derived) noteSource(a arnCtx, s packertemplate.Source, label string) {
	if s.Type == "amazon-instance" {
		d.Notes = append(d.Notes, fmt.Sprintf("%s: %s bundles the volume and uploads it to s3_bucket from the instance (builder/instance/step_upload_bundle.go): the instance profile needs S3 access to that bucket; without iam_instance_profile Packer passes its own (the build role's) credentials to the instance", s.Pos, label))
	}
	d.Notes = append(d.Notes, widenings(a, s, label)...)
	if spot(s) && slices.Contains(instanceBuilders, s.Type) {
		d.Notes = append(d.Notes, fmt.Sprintf("%s: %s requests a spot instance: EC2 needs the service-linked role AWSServiceRoleForEC2Spot, which buildrole does not let the build role create (no IAM writes); if the account has never launched a spot instance, create it once: aws iam create-service-linked-role --aws-service-name spot.amazonaws.com", s.Options["spot_price"].Pos, label))
	}
	if blockTrue("fast_launch", "enable_fast_launch")(s) {
		d.Notes = append(d.Notes, fmt.Sprintf("%s: %s enables Windows fast launch: EC2 uses the AWSServiceRoleForEC2FastLaunch service-linked role, which must already exist (buildrole grants no iam:CreateServiceLinkedRole)", s.Pos, label))
	}
}

// checkRunVolumeTags refuses the run's tags in run_volume_tags of an
// amazon-ebsvolume source: the plugin removes run_volume_tags from
// ebs_volumes after launch (builder/ebsvolume/step_tag_ebs_volumes.go), and
// RunTagRemovalDenials deny removing a run's id and expiry.
func (d *Derived) checkRunVolumeTags(s packertemplate.Source, label string) {
	if s.Type != "amazon-ebsvolume" || !s.Has("ebs_volumes") {
		return
	}
	runKey := func(k string) bool { return k == run.TagRunID || k == run.TagExpiresAt }
	for _, name := range []string{"run_volume_tags", "run_volume_tag"} {
		v, ok := s.Options[name]
		if !ok {
			continue
		}
		carries := refersTo(v, runTagsVar) || hasAnyKey(v.Map, run.TagRunID, run.TagExpiresAt) ||
			slices.ContainsFunc(v.Blocks, func(b map[string]packertemplate.Value) bool {
				return runKey(b["key"].String) || refersTo(b["key"], runTagsVar)
			})
		if carries {
			d.Errors = append(d.Errors, fmt.Sprintf("%s: %s: amazon-ebsvolume removes run_volume_tags from ebs_volumes after launch (builder/ebsvolume/step_tag_ebs_volumes.go), and a run's %s and %s may never be removed: keep the run's tags out of %s here (tag ebs_volumes with their own tags)", v.Pos, label, run.TagRunID, run.TagExpiresAt, name))
		}
	}
}

// refuseRegisteredSharing refuses what IAM cannot bind in RegisterImage:
// the snapshots an AMI is registered from carry nothing that ties them to
// the run, and ec2:ModifyImageAttribute's image lists no ec2:Add/* key
// (Service Authorization Reference, Amazon EC2: those keys are the
// snapshot's only), so whatever may change one AMI attribute may add launch
// permissions: any snapshot of the account could leave as a shared AMI.
func (d *Derived) refuseRegisteredSharing(a arnCtx, sources []packertemplate.Source) {
	anySnapshot, anyImage := a.ec2("snapshot", "snap-any"), a.ec2("image", "ami-any")
	reg := slices.IndexFunc(sources, func(s packertemplate.Source) bool { return grantsOn(a, s, "ec2:RegisterImage", anySnapshot) })
	shr := slices.IndexFunc(sources, func(s packertemplate.Source) bool { return grantsOn(a, s, "ec2:ModifyImageAttribute", anyImage) })
	if reg < 0 || shr < 0 {
		return
	}
	r, sh := sources[reg], sources[shr]
	d.Errors = append(d.Errors, fmt.Sprintf("%s: %s.%s registers its AMI from snapshots, and IAM has no key that ties ec2:RegisterImage to the snapshots the build made nor one that binds the accounts ec2:ModifyImageAttribute shares an AMI with; with %s the build could register any snapshot of the account as an AMI and share it with any account: change AMI attributes in a later step with its own role (or, for amazon-ebssurrogate, set use_create_image)",
		r.Pos, r.Type, r.Name, optionsText([]sourceOptions{{sh, imageAttributeOptions(sh)}}, &r)))
}

// grantsOn says whether a catalogue row grants action to s on resource.
func grantsOn(a arnCtx, s packertemplate.Source, action, resource string) bool {
	for _, e := range catalogue {
		if !slices.Contains(e.actions, action) {
			continue
		}
		res, ok := e.applies(a, s)
		if ok && slices.ContainsFunc(res, func(r string) bool { return iampolicy.ResourceMatch(r, resource) }) {
			return true
		}
	}
	return false
}

// grantSet merges the catalogue rows that apply to a template's sources
// into one statement per Sid, in the order of first use.
type grantSet struct {
	bySid map[string]*Grant
	order []string
}

func (gs *grantSet) add(a arnCtx, s packertemplate.Source, label string) {
	for _, e := range catalogue {
		res, ok := e.applies(a, s)
		if !ok {
			continue
		}
		var cond iampolicy.Condition
		if e.cond != nil {
			cond = e.cond(a, s)
		}
		g := gs.bySid[e.sid]
		if g == nil {
			if gs.bySid == nil {
				gs.bySid = map[string]*Grant{}
			}
			g = &Grant{Sid: e.sid, Condition: cond}
			gs.bySid[e.sid] = g
			gs.order = append(gs.order, e.sid)
		} else {
			g.Condition = widen(g.Condition, cond)
		}
		g.Actions = append(g.Actions, e.actions...)
		g.Resources = append(g.Resources, res...)
		g.Why = append(g.Why, label+": "+e.reason())
	}
}

// statements are the merged grants: actions, resources and reasons sorted
// and distinct; a statement with "*" among its resources takes "*" alone.
func (gs *grantSet) statements() []Grant {
	var out []Grant
	for _, sid := range gs.order {
		g := gs.bySid[sid]
		g.Actions = sortedSet(g.Actions)
		g.Resources = sortedSet(g.Resources)
		if slices.Contains(g.Resources, "*") {
			g.Resources = []string{"*"}
		}
		g.Why = sortedSet(g.Why)
		out = append(out, *g)
	}
	return out
}

// bindKMSToEC2 lets the KMS grants serve only EC2's calls in the build's
// regions (kms:ViaService).
func (d *Derived) bindKMSToEC2(partition string) {
	for i, g := range d.Grants {
		if strings.HasPrefix(g.Sid, "KMS") {
			d.Grants[i].Condition = viaEC2(g.Condition, partition, d.Regions)
		}
	}
}

// addDataSources grants what the catalogue's data sources read and
// refuses the data sources it does not know.
func (d *Derived) addDataSources(a arnCtx, data []packertemplate.Source) {
	for _, ds := range data {
		label := "data." + ds.Type + "." + ds.Name
		if ds.Type == "amazon-ami" {
			continue // DescribeImages is in every build's Describe grant.
		}
		i := slices.IndexFunc(dataCatalogue, func(e dataEntry) bool { return e.typ == ds.Type })
		if i < 0 {
			d.Errors = append(d.Errors, fmt.Sprintf("%s: %s is not in buildrole's permission catalogue; add what it needs with extra-policy", ds.Pos, label))
			continue
		}
		e := dataCatalogue[i]
		d.Notes = append(d.Notes, fmt.Sprintf("%s: %s needs %s, which the boundary of `buildrole bootstrap` leaves out (it would let any build read any %s): add it to your boundary for this %s", ds.Pos, label, e.action, e.what, e.what))
		d.Grants = append(d.Grants, Grant{Sid: e.sid, Actions: []string{e.action}, Resources: []string{e.res(a, ds)}, Why: []string{reason(label, e.step)}})
	}
}

// refuseUncatalogued refuses post-processors and a template without an
// Amazon builder.
func (d *Derived) refuseUncatalogued(t *packertemplate.Template) {
	for _, pp := range t.PostProcessors {
		d.Errors = append(d.Errors, fmt.Sprintf("%s: post-processor %s is not in buildrole's permission catalogue; add what it needs with extra-policy", pp.Pos, pp.Type))
	}
	if len(t.Sources) == 0 {
		d.Errors = append(d.Errors, "the template has no Amazon builder source (amazon-ebs, amazon-ebssurrogate, amazon-ebsvolume, amazon-instance, amazon-chroot)")
	}
}

func refersTo(v packertemplate.Value, ref string) bool {
	return slices.Contains(v.Refs, ref)
}

// hasAnyKey reports whether m holds one of keys.
func hasAnyKey[V any](m map[string]V, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}
