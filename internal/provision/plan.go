package provision

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/naming"
	"github.com/buildrole/buildrole/internal/policylint"
)

// Inline policy names. A role's inline policies share one 10,240-character
// quota, so each role gets a single document.
const (
	BuildPolicyName    = "buildrole-packer"
	InstancePolicyName = "buildrole-instance"
)

// GitHubOIDCHost is the provider name of github.com's issuer.
const GitHubOIDCHost = "token.actions.githubusercontent.com"

// Trust says who may assume the build role.
type Trust struct {
	// WebIdentity mode: this job's token, by exact sub and aud.
	ProviderARN string `json:"provider_arn,omitempty"`
	// Issuer is the provider's name (HOST/PATH of the token's iss), the
	// prefix of its condition keys; default GitHubOIDCHost.
	Issuer   string `json:"issuer,omitempty"`
	Audience string `json:"audience,omitempty"`
	Subject  string `json:"subject,omitempty"`
	// Chain mode: the bootstrap session's principal.
	PrincipalARN string `json:"principal_arn,omitempty"`
}

// Mode is "web-identity" or "chain".
func (t Trust) Mode() string {
	if t.PrincipalARN != "" {
		return "chain"
	}
	return "web-identity"
}

// RolePlan is one role to create.
type RolePlan struct {
	Name       string              `json:"name"`
	ARN        string              `json:"arn"`
	Trust      iampolicy.Document  `json:"trust_policy"`
	PolicyName string              `json:"policy_name,omitempty"`
	Policy     *iampolicy.Document `json:"policy,omitempty"`
}

// ProfilePlan is the instance profile to create.
type ProfilePlan struct {
	Name string `json:"name"`
	ARN  string `json:"arn"`
	Role string `json:"role"`
}

// Plan is everything Up will create, computed without any call.
type Plan struct {
	RunID              string              `json:"run_id"`
	Region             string              `json:"region"`
	Partition          string              `json:"partition"`
	AccountID          string              `json:"account_id"`
	Path               string              `json:"path"`
	Boundary           string              `json:"permissions_boundary,omitempty"`
	MaxSessionDuration int32               `json:"max_session_duration"`
	ExpiresAt          time.Time           `json:"expires_at"`
	Tags               []naming.Tag        `json:"tags"`
	TrustMode          string              `json:"trust_mode"`
	BuildRole          RolePlan            `json:"build_role"`
	InstanceRole       *RolePlan           `json:"instance_role,omitempty"`
	InstanceProfile    *ProfilePlan        `json:"instance_profile,omitempty"`
	Warnings           []string            `json:"warnings,omitempty"`
	Regions            []string            `json:"regions"`
	Grants             []buildpolicy.Grant `json:"-"`
	Names              naming.Names        `json:"-"`
	Trust              Trust               `json:"-"`
}

// PlaceholderAccount stands in for the account id in a dry run that has no
// role-to-assume to read it from.
const PlaceholderAccount = "000000000000"

// NewPlan derives names, ARNs, tags and policies from the config. accountID
// comes from the role ARN or GetCallerIdentity.
func NewPlan(c *config.Config, accountID string, trust Trust) (*Plan, error) {
	arn := func(kind, name string) string {
		return fmt.Sprintf("arn:%s:iam::%s:%s%s%s", c.Partition, accountID, kind, c.Path, name)
	}
	p := &Plan{
		RunID:     c.RunID,
		Region:    c.Region,
		Partition: c.Partition,
		AccountID: accountID,
		Path:      c.Path,
		Boundary:  c.Boundary,
		// IAM's MaxSessionDuration starts at one hour; shorter sessions
		// are asked for when assuming.
		MaxSessionDuration: max(c.DurationSeconds, 3600),
		ExpiresAt:          c.ExpiresAt,
		Tags:               c.Tags,
		TrustMode:          trust.Mode(),
		Names:              c.Names,
		Trust:              trust,
		Warnings:           c.Warnings,
	}
	var buildTrust iampolicy.Document
	if trust.Mode() == "chain" {
		buildTrust = buildpolicy.ChainTrustPolicy(trust.PrincipalARN)
	} else {
		issuer := trust.Issuer
		if issuer == "" {
			issuer = GitHubOIDCHost
		}
		buildTrust = buildpolicy.WebIdentityTrustPolicy(trust.ProviderARN, issuer, trust.Audience, trust.Subject)
	}
	p.BuildRole = RolePlan{Name: c.Names.Role, ARN: arn("role", c.Names.Role), Trust: buildTrust, PolicyName: BuildPolicyName}

	params := buildpolicy.BuildParams{
		Partition:   c.Partition,
		AccountID:   accountID,
		Regions:     []string{c.Region},
		SourceCIDRs: c.SourceCIDRs,
	}
	switch c.InstanceProfile {
	case config.ProfileSeparate:
		p.InstanceRole = &RolePlan{
			Name:  c.Names.InstanceRole,
			ARN:   arn("role", c.Names.InstanceRole),
			Trust: buildpolicy.InstanceTrustPolicy(c.Partition),
		}
		if c.InstancePolicy != nil {
			p.InstanceRole.PolicyName = InstancePolicyName
			p.InstanceRole.Policy = c.InstancePolicy
		}
		p.InstanceProfile = &ProfilePlan{Name: c.Names.InstanceProfile, ARN: arn("instance-profile", c.Names.InstanceProfile), Role: c.Names.InstanceRole}
		params.PassRoleARNs = []string{p.InstanceRole.ARN}
	case config.ProfileShared:
		// The build role itself travels to the VM, so the build role's
		// trust must also admit EC2.
		ec2 := buildpolicy.InstanceTrustPolicy(c.Partition)
		p.BuildRole.Trust.Statement = append(p.BuildRole.Trust.Statement, ec2.Statement...)
		p.InstanceProfile = &ProfilePlan{Name: c.Names.InstanceProfile, ARN: arn("instance-profile", c.Names.InstanceProfile), Role: c.Names.Role}
		params.PassRoleARNs = []string{p.BuildRole.ARN}
	}
	if p.InstanceProfile != nil {
		params.InstanceProfileARNs = []string{p.InstanceProfile.ARN}
	}
	if c.Packer != nil {
		d := buildpolicy.Derive(c.Packer, c.Partition, accountID, c.Region)
		params.Grants, params.Regions = d.Grants, d.Regions
		if c.Scope == config.ScopeTags {
			params.TagRunID = c.RunID
		}
		p.Grants, p.Regions = d.Grants, d.Regions
		p.Warnings = append(p.Warnings, d.Notes...)
		// A profile the template names itself: the role behind it is
		// assumed to share its name (path unknown without a call).
		if len(d.InstanceProfiles) > 0 && c.Boundary != "" {
			return nil, fmt.Errorf("input \"template\": the template names its own instance profile %q, whose role the permissions boundary does not let the build role pass: use `iam_instance_profile = var.iam_instance_profile`", d.InstanceProfiles[0])
		}
		if d.SessionManager && p.InstanceRole != nil && p.InstanceRole.Policy == nil {
			// The SSM agent on the VM must reach Systems Manager, or
			// Packer's session never connects.
			doc := ssmAgentPolicy()
			p.InstanceRole.PolicyName, p.InstanceRole.Policy = InstancePolicyName, &doc
			p.Warnings = append(p.Warnings, "the template connects through Session Manager: the instance role gets the SSM agent's permissions (set instance-policy to choose them)")
		}
		for _, name := range d.InstanceProfiles {
			params.InstanceProfileARNs = append(params.InstanceProfileARNs, fmt.Sprintf("arn:%s:iam::%s:instance-profile/%s", c.Partition, accountID, name), fmt.Sprintf("arn:%s:iam::%s:instance-profile/*/%s", c.Partition, accountID, name))
			params.PassRoleARNs = append(params.PassRoleARNs, fmt.Sprintf("arn:%s:iam::%s:role/%s", c.Partition, accountID, name), fmt.Sprintf("arn:%s:iam::%s:role/*/%s", c.Partition, accountID, name))
		}
	} else {
		p.Grants, p.Regions = buildpolicy.DefaultGrants(), params.Regions
	}
	policy := buildpolicy.BuildRolePolicy(params)
	policy.Statement = append(policy.Statement, c.ExtraStatements...)
	p.BuildRole.Policy = &policy

	seen := map[string]bool{}
	for _, st := range policy.Statement {
		if st.Sid != "" && seen[st.Sid] {
			return nil, fmt.Errorf("input \"extra-policy\": statement id %q is already used in the build role's policy, and IAM wants them unique: rename it", st.Sid)
		}
		seen[st.Sid] = true
	}
	// The whole document, extra statements included, passes the linter
	// before IAM sees it.
	for _, f := range policylint.Lint("build-role-policy", []byte(policy.Indent()), policylint.LintOptions{AllowedPassRoleARNs: params.PassRoleARNs}) {
		if f.Severity == policylint.Error {
			return nil, fmt.Errorf("the build role's policy, with extra-policy, fails the linter: %s", f)
		}
	}
	if n := iampolicy.Size(policy.JSON()); n > iampolicy.MaxInlineRolePolicySize {
		return nil, fmt.Errorf("the build role's policy is %d characters without whitespace; IAM allows %d per role: shorten extra-policy", n, iampolicy.MaxInlineRolePolicySize)
	}
	if n := iampolicy.Size(p.BuildRole.Trust.JSON()); n > iampolicy.MaxTrustPolicySize {
		return nil, fmt.Errorf("the build role's trust policy is %d characters without whitespace; IAM allows %d", n, iampolicy.MaxTrustPolicySize)
	}
	return p, nil
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

// State is what the post step needs to delete the run: names only, never
// credentials.
func (p *Plan) State() State {
	s := State{RunID: p.RunID, Region: p.Region, Path: p.Path, Role: p.BuildRole.Name, BuildPolicy: p.BuildRole.PolicyName}
	if p.InstanceRole != nil {
		s.InstanceRole = p.InstanceRole.Name
		s.InstancePolicy = p.InstanceRole.PolicyName
	}
	if p.InstanceProfile != nil {
		s.InstanceProfile = p.InstanceProfile.Name
		s.ProfileRole = p.InstanceProfile.Role
	}
	return s
}

// SavedState is the state up saves before its first create: every
// resource pending since now. Down then waits (within PendingWindow of
// since) for one that IAM does not show yet, a read lagging behind the
// create or a create still on its way, instead of taking it as gone.
func (p *Plan) SavedState(since time.Time) State {
	s := p.State()
	var pending []string
	if s.InstanceProfile != "" {
		pending = append(pending, KindProfile+"/"+s.InstanceProfile)
	}
	for _, r := range []string{s.Role, s.InstanceRole} {
		if r != "" {
			pending = append(pending, KindRole+"/"+r)
		}
	}
	s.Pending, s.PendingSince = strings.Join(pending, ","), since.UTC().Format(time.RFC3339)
	return s
}

// Actions lists the distinct actions the build role's policy allows, sorted,
// for summaries.
func (p *Plan) Actions() []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range p.BuildRole.Policy.Statement {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		for _, a := range st.Action {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}
