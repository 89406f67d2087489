package buildpolicy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/run"
)

// packerEC2Actions is the minimal EC2 permission set of the Packer Amazon
// builders, from hashicorp/packer-plugin-amazon docs/builders/index.mdx,
// section "IAM Task or Instance Role". The docs spell "ec2:CreateKeypair";
// actions match case-insensitively, so the API's own spelling is used.
// Keep sorted (a test checks).
var packerEC2Actions = []string{
	"ec2:AttachVolume",
	"ec2:AuthorizeSecurityGroupIngress",
	"ec2:CopyImage",
	"ec2:CreateImage",
	"ec2:CreateKeyPair",
	"ec2:CreateSecurityGroup",
	"ec2:CreateSnapshot",
	"ec2:CreateTags",
	"ec2:CreateVolume",
	"ec2:DeleteKeyPair",
	"ec2:DeleteSecurityGroup",
	"ec2:DeleteSnapshot",
	"ec2:DeleteVolume",
	"ec2:DeregisterImage",
	"ec2:DescribeImageAttribute",
	"ec2:DescribeImages",
	"ec2:DescribeInstanceStatus",
	"ec2:DescribeInstances",
	"ec2:DescribeRegions",
	"ec2:DescribeSecurityGroups",
	"ec2:DescribeSnapshots",
	"ec2:DescribeSubnets",
	"ec2:DescribeTags",
	"ec2:DescribeVolumes",
	"ec2:DetachVolume",
	"ec2:GetPasswordData",
	"ec2:ModifyImageAttribute",
	"ec2:ModifyInstanceAttribute",
	"ec2:ModifySnapshotAttribute",
	"ec2:RegisterImage",
	"ec2:RunInstances",
	"ec2:StopInstances",
	"ec2:TerminateInstances",
}

// DefaultGrants is the Packer docs' documented minimum, used without a
// template: reads and the rest, on Resource "*".
func DefaultGrants() []Grant {
	var read, write []string
	for _, a := range packerEC2Actions {
		if strings.HasPrefix(a, "ec2:Describe") {
			read = append(read, a)
		} else {
			write = append(write, a)
		}
	}
	why := []string{"no template: the Packer Amazon builders' documented minimum (docs/builders/index.mdx, IAM Task or Instance Role)"}
	return []Grant{
		{Sid: SidPackerEC2Read, Actions: read, Resources: []string{"*"}, Why: why},
		{Sid: SidPackerEC2, Actions: write, Resources: []string{"*"}, Why: why},
	}
}

// Stable statement ids of the build role policy.
const (
	SidPackerEC2Read       = "PackerEC2Read"
	SidPackerEC2           = "PackerEC2"
	SidPassInstanceRole    = "PassInstanceRole"
	SidReadInstanceProfile = "ReadInstanceProfile"
	// SidDenyOutsideSourceCIDRs refuses calls from outside allowed-source-cidrs.
	SidDenyOutsideSourceCIDRs = "DenyOutsideSourceCIDRs"
	// SidDenyRunTagRemoval and SidDenyRemovingEveryTag keep a resource's
	// buildrole:run-id and buildrole:expires-at (RunTagRemovalDenials).
	SidDenyRunTagRemoval    = "DenyRunTagRemoval"
	SidDenyRemovingEveryTag = "DenyRemovingEveryTag"
)

// RunTagRemovalDenials deny removing buildrole:run-id or
// buildrole:expires-at from an EC2 resource: with the run id removed,
// CreateTags could give the resource another run's id, which scope: tags
// and the boundary's DenyRunIDRewrite trust never to change. DeleteTags
// carries the keys it removes in aws:TagKeys; one that names no key removes
// every tag, so it is denied too. Other tags stay removable (Packer removes
// run_volume_tags from ebs_volumes).
func RunTagRemovalDenials() []iampolicy.Statement {
	deny := func(sid string, c iampolicy.Condition) iampolicy.Statement {
		return iampolicy.Statement{Sid: sid, Effect: iampolicy.EffectDeny, Action: iampolicy.Values{"ec2:DeleteTags"}, Resource: iampolicy.Values{"*"}, Condition: c}
	}
	return []iampolicy.Statement{
		deny(SidDenyRunTagRemoval, iampolicy.Condition{"ForAnyValue:StringEquals": {KeyTagKeys: {run.TagRunID, run.TagExpiresAt}}}),
		deny(SidDenyRemovingEveryTag, iampolicy.Condition{"Null": {KeyTagKeys: {"true"}}}),
	}
}

// BuildParams describes what one Packer build may touch.
type BuildParams struct {
	Partition string // "aws" when empty
	AccountID string // the account of the run; the ARNs below carry it
	// Regions lists every region Packer may call, the build region first;
	// with none, the EC2 statements match no request.
	Regions []string
	// PassRoleARNs are the roles Packer may pass to EC2: the run's instance
	// role, or in "shared" mode the build role itself; empty without a profile.
	PassRoleARNs []string
	// InstanceProfileARNs are the profiles Packer may read.
	InstanceProfileARNs []string
	// SourceCIDRs, when set, restrict every statement to these caller
	// networks (aws:SourceIp).
	SourceCIDRs []string
	// Grants derived from a Packer template (Derive). Nil: the Packer
	// docs' documented minimum on Resource "*".
	Grants []Grant
	// TagRunID, when set (scope: tags), binds creating calls to requests
	// carrying buildrole:run-id = TagRunID and mutations to resources
	// carrying it. Needs Grants.
	TagRunID string
	// RunID, when set, lets the build role remove what a killed build of
	// this run left in EC2: instances, security groups, key pairs and
	// volumes tagged with it (teardown acts as the build role).
	RunID string
}

// BuildRolePolicy returns the build role's permission policy: the Packer
// EC2 actions bound to p.Regions, PassRole only on p.PassRoleARNs to EC2, and
// GetInstanceProfile only on p.InstanceProfileARNs. Statements without
// resources are left out. No action is a wildcard.
func BuildRolePolicy(p BuildParams) iampolicy.Document {
	partition := p.Partition
	if partition == "" {
		partition = awsfacts.PartitionAWS
	}
	regions := dedupe(p.Regions)
	cidrs := dedupe(p.SourceCIDRs)

	// The caller-network restriction is one Deny, not a condition on each
	// Allow: calls AWS services make on the build's behalf (EC2 asking KMS
	// for a grant while copying an encrypted AMI) carry no aws:SourceIp,
	// and aws:ViaAWSService exempts exactly those.
	regionBound := func() iampolicy.Condition {
		return iampolicy.Condition{iampolicy.OpStringEquals: {iampolicy.KeyRequestedRegion: slices.Clone(regions)}}
	}

	grants := p.Grants
	if grants == nil {
		grants = DefaultGrants()
	}
	var stmts []iampolicy.Statement
	launches, untags := false, false
	copies := slices.ContainsFunc(grants, func(g Grant) bool { return slices.Contains(g.Actions, "ec2:CopyImage") })
	for _, g := range grants {
		launches = launches || slices.Contains(g.Actions, "ec2:RunInstances")
		untags = untags || slices.Contains(g.Actions, "ec2:DeleteTags")
		cond := g.Condition
		if p.Grants != nil && slices.ContainsFunc(g.Actions, func(a string) bool { return slices.Contains(profileGuarded, a) }) {
			cond = mergeCond(cond, profileGuard(p.InstanceProfileARNs))
		}
		base := func() iampolicy.Condition { return mergeCond(regionBound(), cond) }
		if p.TagRunID != "" {
			stmts = append(stmts, tagScoped(g, p.TagRunID, base, copies)...)
			continue
		}
		stmts = append(stmts, iampolicy.Statement{Sid: g.Sid, Effect: iampolicy.EffectAllow, Action: slices.Clone(g.Actions), Resource: slices.Clone(g.Resources), Condition: base()})
	}

	if roles := dedupe(p.PassRoleARNs); len(roles) > 0 {
		// No region condition: AWS does not document which region an
		// iam:PassRole check carries (IAM is global), and a wrong guess would
		// fail every build outside us-east-1. The EC2 call that passes the
		// role is itself region-bound, and the role ARN and
		// iam:PassedToService bind the rest.
		c := iampolicy.Condition{iampolicy.OpStringEquals: {iampolicy.KeyPassedToService: iampolicy.Values{awsfacts.ServicePrincipal(partition, "ec2")}}}
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidPassInstanceRole, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{iampolicy.ActionPassRole}, Resource: roles, Condition: c,
		})
	}
	if profiles := dedupe(p.InstanceProfileARNs); len(profiles) > 0 {
		// IAM is global: its calls carry the IAM endpoint's region
		// (us-east-1 in aws), never the build region, so this statement is
		// scoped by resource ARN instead of aws:RequestedRegion.
		var c iampolicy.Condition
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidReadInstanceProfile, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{iampolicy.ActionGetInstanceProfile}, Resource: profiles, Condition: c,
		})
	}
	if p.Grants != nil {
		stmts = merge(stmts)
	}
	if launches && p.RunID != "" {
		guard := regionBound
		if p.Grants != nil {
			// Like Packer's own TerminateInstances: only an instance with
			// the run's profile (or none, without one).
			guard = func() iampolicy.Condition { return mergeCond(regionBound(), profileGuard(p.InstanceProfileARNs)) }
		}
		stmts = append(stmts, teardownStatements(partition, p.AccountID, p.RunID, regionBound, guard)...)
	}
	if launches {
		// A network interface RunInstances creates is authorized as
		// network-interface/*; an existing one carries its id (eni-...).
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidDenyExistingNetworkInterfaces, Effect: iampolicy.EffectDeny,
			Action:   iampolicy.Values{"ec2:RunInstances"},
			Resource: iampolicy.Values{fmt.Sprintf("arn:%s:ec2:*:*:network-interface/eni-*", partition)},
		})
	}
	if untags {
		stmts = append(stmts, RunTagRemovalDenials()...)
	}
	if len(cidrs) > 0 {
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidDenyOutsideSourceCIDRs, Effect: iampolicy.EffectDeny,
			Action: iampolicy.Values{"*"}, Resource: iampolicy.Values{"*"},
			Condition: iampolicy.Condition{
				"NotIpAddress": {iampolicy.KeySourceIP: cidrs},
				"Bool":         {"aws:ViaAWSService": iampolicy.Values{"false"}},
			},
		})
	}
	return iampolicy.Document{Version: iampolicy.Version, Statement: stmts}
}

// InstanceTrustPolicy lets EC2 in partition assume the instance role.
func InstanceTrustPolicy(partition string) iampolicy.Document {
	return iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Sid:       "EC2AssumeRole",
		Effect:    iampolicy.EffectAllow,
		Principal: &iampolicy.Principal{Service: iampolicy.Values{awsfacts.ServicePrincipal(partition, "ec2")}},
		Action:    iampolicy.Values{iampolicy.ActionAssumeRole},
	}}}
}

// WebIdentityTrustPolicy lets holders of an OIDC token from providerARN
// assume the role, only with exactly this audience and subject. issuerHost
// is the provider's URL without scheme ("token.actions.githubusercontent.com"),
// the prefix of its condition keys.
func WebIdentityTrustPolicy(providerARN, issuerHost, audience, subject string) iampolicy.Document {
	host := strings.TrimSuffix(strings.TrimPrefix(issuerHost, "https://"), "/")
	return iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Sid:       "WebIdentityAssumeRole",
		Effect:    iampolicy.EffectAllow,
		Principal: &iampolicy.Principal{Federated: iampolicy.Values{providerARN}},
		Action:    iampolicy.Values{iampolicy.ActionAssumeRoleWithWebIdentity},
		Condition: iampolicy.Condition{iampolicy.OpStringEquals: {
			host + ":aud": iampolicy.Values{audience},
			host + ":sub": iampolicy.Values{subject},
		}},
	}}}
}

// ChainTrustPolicy lets one principal (the bootstrap role) assume the role.
func ChainTrustPolicy(principalARN string) iampolicy.Document {
	return iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Sid:       "BootstrapAssumeRole",
		Effect:    iampolicy.EffectAllow,
		Principal: &iampolicy.Principal{AWS: iampolicy.Values{principalARN}},
		Action:    iampolicy.Values{iampolicy.ActionAssumeRole},
	}}}
}

// dedupe drops empty and repeated entries, keeping first-seen order so the
// build region stays first.
func dedupe(in []string) iampolicy.Values {
	var out iampolicy.Values
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// profileGuarded are the calls on an instance (or launching one) that the
// instance's profile binds: the build acts only on an instance that has the
// run's profile, or no profile at all, never on one with a production
// profile. The key is present on instance resources only.
var profileGuarded = []string{
	"ec2:CreateImage", "ec2:GetPasswordData", "ec2:ModifyInstanceAttribute",
	"ec2:RunInstances", "ec2:StopInstances", "ec2:TerminateInstances",
}

// ProfileGuardedActions returns profileGuarded, sorted.
func ProfileGuardedActions() []string { return slices.Clone(profileGuarded) }

func profileGuard(profiles []string) iampolicy.Condition {
	if ps := dedupe(profiles); len(ps) > 0 {
		return iampolicy.Condition{"ArnLikeIfExists": {KeyInstanceProfile: ps}}
	}
	return iampolicy.Condition{"Null": {KeyInstanceProfile: {"true"}}}
}
