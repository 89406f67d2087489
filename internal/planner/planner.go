package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/policylint"
	"github.com/buildrole/buildrole/internal/run"
)

// Plan is the run's plan with the catalogue rows that explain its build
// policy (for `policy` and `exec`).
type Plan struct {
	run.Plan
	Grants []buildpolicy.Grant `json:"-"`
}

// New derives names, ARNs, tags and policies from the config, and refuses
// what IAM would refuse (sizes, duplicate statement ids, lint errors)
// before any call. accountID comes from the role ARN or the bootstrap
// session.
func New(c *config.Config, accountID string, trust run.Trust) (*Plan, error) {
	b := &builder{c: c, account: accountID}
	p := b.base(trust)
	params := b.roles(p)
	if err := b.fromTemplate(p, &params); err != nil {
		return nil, err
	}
	if err := b.buildPolicy(p, params); err != nil {
		return nil, err
	}
	return p, nil
}

type builder struct {
	c       *config.Config
	account string
}

func (b *builder) arn(kind, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:%s%s%s", b.c.Partition, b.account, kind, b.c.Path, name)
}

// base is the plan without documents beyond the build role's trust.
func (b *builder) base(trust run.Trust) *Plan {
	c := b.c
	p := &Plan{Plan: run.Plan{
		RunID:     c.RunID,
		Region:    c.Region,
		Partition: c.Partition,
		AccountID: b.account,
		Path:      c.Path,
		Boundary:  c.Boundary,
		// IAM's MaxSessionDuration starts at one hour; shorter sessions
		// are asked for when assuming.
		MaxSessionDuration: max(c.DurationSeconds, 3600),
		ExpiresAt:          c.ExpiresAt,
		Tags:               slices.Clone(c.Tags),
		TrustMode:          trust.Mode(),
		Trust:              trust,
		Warnings:           slices.Clone(c.Warnings),
	}}
	p.BuildRole = run.RolePlan{Name: c.Names.Role, ARN: b.arn(run.IAMTypeRole, c.Names.Role), Trust: trustPolicy(trust), PolicyName: run.BuildPolicyName}
	return p
}

func trustPolicy(t run.Trust) iampolicy.Document {
	if t.Mode() == run.TrustChain {
		return buildpolicy.ChainTrustPolicy(t.PrincipalARN)
	}
	issuer := t.Issuer
	if issuer == "" {
		issuer = run.GitHubOIDCHost
	}
	return buildpolicy.WebIdentityTrustPolicy(t.ProviderARN, issuer, t.Audience, t.Subject)
}

// roles adds the instance role and profile the instance-profile input asks
// for, and returns the build policy's parameters so far.
func (b *builder) roles(p *Plan) buildpolicy.BuildParams {
	c := b.c
	params := buildpolicy.BuildParams{Partition: c.Partition, AccountID: b.account, Regions: []string{c.Region}, SourceCIDRs: c.SourceCIDRs}
	switch c.InstanceProfile {
	case config.ProfileSeparate:
		p.InstanceRole = &run.RolePlan{Name: c.Names.InstanceRole, ARN: b.arn(run.IAMTypeRole, c.Names.InstanceRole), Trust: buildpolicy.InstanceTrustPolicy(c.Partition)}
		if c.InstancePolicy != nil {
			p.InstanceRole.PolicyName, p.InstanceRole.Policy = run.InstancePolicyName, c.InstancePolicy
		}
		p.InstanceProfile = &run.ProfilePlan{Name: c.Names.InstanceProfile, ARN: b.arn(run.IAMTypeInstanceProfile, c.Names.InstanceProfile), Role: c.Names.InstanceRole}
		params.PassRoleARNs = []string{p.InstanceRole.ARN}
	case config.ProfileShared:
		// The build role itself travels to the VM, so the build role's
		// trust must also admit EC2.
		ec2 := buildpolicy.InstanceTrustPolicy(c.Partition)
		p.BuildRole.Trust.Statement = append(p.BuildRole.Trust.Statement, ec2.Statement...)
		p.InstanceProfile = &run.ProfilePlan{Name: c.Names.InstanceProfile, ARN: b.arn(run.IAMTypeInstanceProfile, c.Names.InstanceProfile), Role: c.Names.Role}
		params.PassRoleARNs = []string{p.BuildRole.ARN}
	}
	if p.InstanceProfile != nil {
		params.InstanceProfileARNs = []string{p.InstanceProfile.ARN}
	}
	return params
}

// fromTemplate derives the build's grants and regions from the template,
// or the default grants without one.
func (b *builder) fromTemplate(p *Plan, params *buildpolicy.BuildParams) error {
	c := b.c
	if c.Packer == nil {
		p.Grants, p.Regions = buildpolicy.DefaultGrants(), params.Regions
		return nil
	}
	d := buildpolicy.Derive(c.Packer, c.Partition, b.account, c.Region)
	params.Grants, params.Regions = d.Grants, d.Regions
	if c.Scope == config.ScopeTags {
		params.TagRunID = c.RunID
	}
	p.Grants, p.Regions = d.Grants, d.Regions
	p.Warnings = append(p.Warnings, d.Notes...)
	// A profile the template names itself: the role behind it is assumed
	// to share its name (path unknown without a call).
	if len(d.InstanceProfiles) > 0 && c.Boundary != "" {
		return fmt.Errorf("input \"template\": the template names its own instance profile %q, whose role the permissions boundary does not let the build role pass: use %s", d.InstanceProfiles[0], buildpolicy.ProfileFix(c.Template))
	}
	if d.SessionManager && p.InstanceRole != nil && p.InstanceRole.Policy == nil {
		// The SSM agent on the VM must reach Systems Manager, or Packer's
		// session never connects.
		doc := ssmAgentPolicy()
		p.InstanceRole.PolicyName, p.InstanceRole.Policy = run.InstancePolicyName, &doc
		p.Warnings = append(p.Warnings, "the template connects through Session Manager: the instance role gets the SSM agent's permissions (set instance-policy to choose them)")
	}
	for _, name := range d.InstanceProfiles {
		params.InstanceProfileARNs = append(params.InstanceProfileARNs, fmt.Sprintf("arn:%s:iam::%s:instance-profile/%s", c.Partition, b.account, name), fmt.Sprintf("arn:%s:iam::%s:instance-profile/*/%s", c.Partition, b.account, name))
		params.PassRoleARNs = append(params.PassRoleARNs, fmt.Sprintf("arn:%s:iam::%s:role/%s", c.Partition, b.account, name), fmt.Sprintf("arn:%s:iam::%s:role/*/%s", c.Partition, b.account, name))
	}
	return nil
}

// buildPolicy writes the build role's policy, extra statements included,
// and checks it as IAM and the linter would.
func (b *builder) buildPolicy(p *Plan, params buildpolicy.BuildParams) error {
	// Teardown acts as the build role to remove a killed build's leftovers.
	params.RunID = b.c.RunID
	policy := buildpolicy.BuildRolePolicy(params)
	policy.Statement = append(policy.Statement, b.c.ExtraStatements...)
	p.BuildRole.Policy = &policy

	seen := map[string]bool{}
	for _, st := range policy.Statement {
		if st.Sid != "" && seen[st.Sid] {
			return fmt.Errorf("input \"extra-policy\": statement id %q is already used in the build role's policy, and IAM wants them unique: rename it", st.Sid)
		}
		seen[st.Sid] = true
	}
	for _, f := range policylint.Lint("build-role-policy", []byte(policy.Indent()), policylint.LintOptions{AllowedPassRoleARNs: params.PassRoleARNs}) {
		if f.Severity == policylint.Error {
			return fmt.Errorf("the build role's policy, with extra-policy, fails the linter: %s", f)
		}
	}
	if n := iampolicy.Size(policy.JSON()); n > iampolicy.MaxInlineRolePolicySize {
		return fmt.Errorf("the build role's policy is %d characters without whitespace; IAM allows %d per role: shorten extra-policy", n, iampolicy.MaxInlineRolePolicySize)
	}
	if n := iampolicy.Size(p.BuildRole.Trust.JSON()); n > iampolicy.MaxTrustPolicySize {
		return fmt.Errorf("the build role's trust policy is %d characters without whitespace; IAM allows %d", n, iampolicy.MaxTrustPolicySize)
	}
	return nil
}

// ssmAgentPolicy lets the VM's SSM agent register and carry sessions.
func ssmAgentPolicy() iampolicy.Document {
	var actions iampolicy.Values
	for _, a := range accountsetup.DefaultInstanceActions() {
		if strings.HasPrefix(a, "ssm:") || strings.HasPrefix(a, "ssmmessages:") || strings.HasPrefix(a, "ec2messages:") {
			actions = append(actions, a)
		}
	}
	return iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Sid: "SSMAgent", Effect: iampolicy.EffectAllow, Action: actions, Resource: iampolicy.Values{"*"},
	}}}
}
