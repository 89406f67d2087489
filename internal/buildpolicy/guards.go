package buildpolicy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

// Condition keys of the guards, as the Service Authorization Reference
// spells them.
const (
	KeyViaService                 = "kms:ViaService"
	KeyGrantIsForAWSResource      = "kms:GrantIsForAWSResource"
	KeyResourceAliases            = "kms:ResourceAliases"
	KeySessionDocumentAccessCheck = "ssm:SessionDocumentAccessCheck"
	KeySessionOwner               = "ssm:resourceTag/aws:ssmmessages:session-id"
	KeyOSUser                     = "ec2:osuser"
	KeyAddUserID                  = "ec2:Add/userId"
	KeyAddGroup                   = "ec2:Add/group"
	KeyInstanceProfile            = "ec2:InstanceProfile"
	// KeyInstanceType is on the instance resource of RunInstances.
	KeyInstanceType = "ec2:InstanceType"
	// KeyOwner is on the image resource of RunInstances: an account id, or
	// "amazon" / "aws-marketplace" for images EC2 shows under that alias.
	KeyOwner = "ec2:Owner"
	// KeyTagKeys lists the keys a tagging request names; for DeleteTags,
	// the keys it removes.
	KeyTagKeys = "aws:TagKeys"
)

// SessionDocumentCheck is the condition of every statement that allows
// ssm:StartSession, in the form AWS documents it (Systems Manager user
// guide, "Start a session with a document by specifying the session
// documents in IAM policies"): BoolIfExists, since AWS does not say that a
// request naming a document carries the key, and Bool would then refuse
// Packer's own session. In every StartSession statement it makes Session
// Manager require explicit access to the session document, the default
// shell document (SSM-SessionManagerRunShell) too when none is named; only
// PortForwardingDocument is ever granted.
func SessionDocumentCheck() iampolicy.Condition {
	return iampolicy.Condition{"BoolIfExists": {KeySessionDocumentAccessCheck: {"true"}}}
}

// PortForwardingDocument is the AWS-owned session document Packer names
// (builder/common/ssm/session.go): its ARN has no account.
func PortForwardingDocument(partition string) string {
	return fmt.Sprintf("arn:%s:ssm:*::document/AWS-StartPortForwardingSession", partition)
}

// SidDenyExistingNetworkInterfaces refuses launching with a network
// interface that already exists.
const SidDenyExistingNetworkInterfaces = "DenyExistingNetworkInterfaces"

// ViaEC2 are the kms:ViaService values of EC2 in regions: EBS calls KMS
// through "ec2.REGION.amazonaws.com" (".com.cn" in China).
func ViaEC2(partition string, regions []string) iampolicy.Values {
	var out iampolicy.Values
	for _, r := range regions {
		out = append(out, "ec2."+r+"."+awsfacts.DNSSuffix(partition))
	}
	return out
}

// viaEC2 adds kms:ViaService to c: the key is usable only by EC2 acting for
// the build in its regions, never by the build role directly.
func viaEC2(c iampolicy.Condition, partition string, regions []string) iampolicy.Condition {
	out := cloneCond(c)
	if out[iampolicy.OpStringEquals] == nil {
		out[iampolicy.OpStringEquals] = map[string]iampolicy.Values{}
	}
	out[iampolicy.OpStringEquals][KeyViaService] = ViaEC2(partition, regions)
	return out
}

func cloneCond(c iampolicy.Condition) iampolicy.Condition {
	out := iampolicy.Condition{}
	for op, keys := range c {
		out[op] = maps.Clone(keys)
	}
	return out
}

// mergeCond returns a and b together, b's keys winning.
func mergeCond(a, b iampolicy.Condition) iampolicy.Condition {
	out := cloneCond(a)
	for op, keys := range b {
		if out[op] == nil {
			out[op] = map[string]iampolicy.Values{}
		}
		for k, v := range keys {
			out[op][k] = slices.Clone(v)
		}
	}
	return out
}

// merge joins statements that differ only in their actions (same effect,
// resources and condition) into the first of them: the policy stays
// within IAM's size quota as grants multiply, and allows exactly the same.
func merge(stmts []iampolicy.Statement) []iampolicy.Statement {
	var out []iampolicy.Statement
	at := map[string]int{}
	for _, st := range stmts {
		k := st.Effect + "\x00" + strings.Join(st.Resource, "\x00") + "\x00" + iampolicy.Document{Statement: []iampolicy.Statement{{Condition: st.Condition}}}.JSON()
		if i, ok := at[k]; ok && len(st.NotAction) == 0 && len(out[i].NotAction) == 0 {
			out[i].Action = sortedSet(append(out[i].Action, st.Action...))
			continue
		}
		at[k] = len(out)
		out = append(out, st)
	}
	return out
}

// widen merges the conditions of two rows of one statement so that the
// statement allows what either row allows: a key bound by both keeps the
// union of their values; a key only one binds is dropped.
func widen(a, b iampolicy.Condition) iampolicy.Condition {
	out := iampolicy.Condition{}
	for op, keys := range a {
		for k, v := range keys {
			w, ok := b[op][k]
			if !ok {
				continue
			}
			if out[op] == nil {
				out[op] = map[string]iampolicy.Values{}
			}
			out[op][k] = sortedSet(append(slices.Clone(v), w...))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// widenings are the notes of one source: what the template leaves open, so
// that the policy grants more than the build will use.
func widenings(a arnCtx, s packertemplate.Source, label string) []string {
	if !slices.Contains(instanceBuilders, s.Type) && s.Type != "amazon-chroot" {
		return nil
	}
	var out []string
	note := func(option, format string, args ...any) {
		pos := s.Pos
		if v, ok := s.Options[option]; ok {
			pos = v.Pos
		}
		out = append(out, fmt.Sprintf("%s: %s: ", pos, label)+fmt.Sprintf(format, args...))
	}
	if _, _, unknown := kmsRefs(a, s); unknown {
		note("kms_key_id", "a KMS key is not known before the build: EC2 may use every key of the account on the build's behalf (still only through EC2, never directly); name the keys by id, ARN or alias")
	}
	if slices.Contains(instanceBuilders, s.Type) {
		notedImage(a, s, note)
		if _, ok := instanceTypes(s); !ok {
			note("instance_type", "the instance type is not known before the build: the build may launch any instance type; give instance_type (and spot_instance_types) literally or through a variable with a value")
		}
		if s.Has("security_group_filter") {
			note("security_group_filter", "security_group_filter: the build may launch into any security group of the build region; give security_group_ids to bind them")
		}
		if _, ok := s.Str("subnet_id"); !ok {
			note("subnet_id", "no subnet_id: the build may launch into any subnet of the build region; give subnet_id to bind it")
		}
	}
	if _, known := optionList(s, "snapshot_users"); !known {
		note("snapshot_users", "snapshot_users is not known before the build: snapshots may be shared with any account; give the accounts literally")
	}
	return out
}

// notedImage notes how far the image a source finds at build time is
// bound.
func notedImage(a arnCtx, s packertemplate.Source, note func(option, format string, args ...any)) {
	if !imageAtBuild(s) {
		return
	}
	option := "source_ami_filter"
	if !s.Has(option) {
		option = "source_ami"
	}
	if owners, ok := imageOwners(a, s); ok {
		note(option, "the source AMI is found at build time: the build may launch any AMI owned by %s (ec2:Owner); give source_ami to bind it to one", strings.Join(owners, ", "))
		return
	}
	note(option, "the source AMI is found at build time and no owner binds it (source_ami_filter owners not known before the build, or an alias IAM does not show): the build may launch any AMI the account can use; give source_ami, or the filter's owners literally")
}

// guardWhy says what each condition key stops, for `buildrole policy`.
var guardWhy = map[string]string{
	KeyRequestTagRunID:            "the request must tag what it creates with this run's buildrole:run-id, so nothing is created that the run does not own",
	KeyResourceTagRunID:           "only on resources tagged with this run's buildrole:run-id: never another run's or anything else in the account",
	KeyCreateAction:               "only inside the creating call (tag on create), so no existing resource can be tagged into the run",
	KeySessionDocumentAccessCheck: "on every StartSession statement (BoolIfExists, as AWS documents it), Session Manager requires explicit access to the session document, also to the default shell document when none is named: only AWS-StartPortForwardingSession is granted, so a shell or any other document is denied",
	KeySessionOwner:               "only sessions this role started (their session-id tag is the caller's aws:userid): it cannot end anyone else's session",
	KeyViaService:                 "only when EC2 calls KMS for the build in its regions (kms:ViaService): the build role cannot decrypt, encrypt or re-encrypt data with the key itself",
	KeyGrantIsForAWSResource:      "only grants EC2 creates for its own volumes: no grant to another principal",
	KeyResourceAliases:            "only the keys that carry the template's aliases",
	KeyAddUserID:                  "snapshots can be shared only with the accounts the template names",
	KeyAddGroup:                   "no public (group \"all\") sharing of snapshots unless the template asks for it",
	KeyOSUser:                     "SSH keys only for the template's ssh_username",
	iampolicy.KeyPassedToService:  "only to EC2, never to another service",
	KeyInstanceProfile:            "only instances with this run's instance profile, or none: never one that carries another profile (production's)",
	KeyInstanceType:               "only the template's instance types (instance_type, spot_instance_types): no larger or costlier instance",
	KeyOwner:                      "only images of the source_ami_filter's owners (and, with an account named, partner images EC2 shows under Amazon's alias): no other account's private image can be launched, imaged and shared",
	KeyTagKeys:                    "never removes buildrole:run-id or buildrole:expires-at, and never every tag at once (a DeleteTags naming no key)",
}

// staticWhy explains the statements that come from no catalogue row.
var staticWhy = map[string]string{
	SidTeardownRead:                  "buildrole down (teardown, as this role): finds what a killed build left in EC2 (instances, security groups, key pairs, volumes)",
	SidTeardown:                      "buildrole down (teardown, as this role): terminates and deletes what a killed build of this run left, never an image or snapshot",
	SidPassInstanceRole:              "Packer passes the instance role to the build VM (RunInstances with an instance profile)",
	SidReadInstanceProfile:           "Packer reads the instance profile it was given (builder/common/step_iam_instance_profile.go)",
	SidDenyOutsideSourceCIDRs:        "allowed-source-cidrs: calls from other networks are denied, except those AWS services make on the build's behalf (aws:ViaAWSService)",
	SidDenyExistingNetworkInterfaces: "RunInstances creates the instance's network interface; attaching one that already exists (another instance's, production's) is denied",
	SidDenyRunTagRemoval:             "buildrole:run-id and buildrole:expires-at are never removed: a removed run id could be replaced with this run's, moving another run's resource into it",
	SidDenyRemovingEveryTag:          "a DeleteTags that names no key removes every tag, buildrole's too: denied",
}

// Explain says why statement st of a build policy is there: the
// catalogue rows of the grants it came from (a statement is the grant its
// Sid names, split by scope: tags, and grants merged into it that share its
// resources and condition), then one "guard:" line per condition key saying
// what it stops. nil: st is not one of buildrole's (extra-policy).
func Explain(st iampolicy.Statement, grants []Grant) []string {
	var why []string
	if w, ok := staticWhy[st.Sid]; ok {
		why = []string{w}
	}
	ours := slices.ContainsFunc(grants, func(g Grant) bool {
		return strings.HasPrefix(st.Sid, g.Sid) && tagSuffix(strings.TrimPrefix(st.Sid, g.Sid))
	})
	if ours {
		for _, g := range grants {
			shares := func(have, want []string) bool {
				return slices.ContainsFunc(have, func(x string) bool { return slices.Contains(want, x) })
			}
			if shares(st.Action, g.Actions) && shares(st.Resource, g.Resources) {
				why = append(why, g.Why...)
			}
		}
		why = sortedSet(why)
	}
	if why == nil {
		return nil
	}
	why = slices.Clone(why)
	var keys []string
	for _, kv := range st.Condition {
		for k := range kv {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if w, ok := guardWhy[k]; ok {
			why = append(why, "guard: "+k+": "+w)
		}
	}
	return why
}

// tagSuffix: what tagScoped appends to a grant's Sid ("", "Tagged",
// "Owned2", "OnCreate", "OnCopy").
func tagSuffix(s string) bool {
	for _, p := range []string{"Tagged", "Owned", "OnCreate", "OnCopy"} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.Trim(s, "0123456789") == ""
}
