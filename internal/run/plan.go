package run

import (
	"slices"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/iampolicy"
)

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

// Plan is everything up will create, computed without any call.
type Plan struct {
	RunID              string       `json:"run_id"`
	Region             string       `json:"region"`
	Partition          string       `json:"partition"`
	AccountID          string       `json:"account_id"`
	Path               string       `json:"path"`
	Boundary           string       `json:"permissions_boundary,omitempty"`
	MaxSessionDuration int32        `json:"max_session_duration"`
	ExpiresAt          time.Time    `json:"expires_at"`
	Tags               []Tag        `json:"tags"`
	TrustMode          TrustMode    `json:"trust_mode"`
	BuildRole          RolePlan     `json:"build_role"`
	InstanceRole       *RolePlan    `json:"instance_role,omitempty"`
	InstanceProfile    *ProfilePlan `json:"instance_profile,omitempty"`
	Warnings           []string     `json:"warnings,omitempty"`
	Regions            []string     `json:"regions"`
	Trust              Trust        `json:"-"`
}

// State is what the post step needs to delete the run: names only, never
// credentials.
func (p *Plan) State() State {
	s := State{RunID: p.RunID, Region: p.Region, Regions: slices.Clone(p.Regions), Path: p.Path, Role: p.BuildRole.Name, BuildPolicy: p.BuildRole.PolicyName}
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
// resource pending since now. Down then waits for one that IAM does not
// show yet, a read lagging behind the create or a create still on its way,
// instead of taking it as gone.
func (p *Plan) SavedState(since time.Time) State {
	s := p.State()
	s.Pending, s.PendingSince = s.Resources(), since.UTC().Truncate(time.Second)
	return s
}

// Resources lists the run's resources, the instance profile first.
func (p *Plan) Resources() []Resource { return p.State().Resources() }

// ARNs lists the ARNs of what up creates: build role, instance role,
// instance profile.
func (p *Plan) ARNs() []string {
	out := []string{p.BuildRole.ARN}
	if p.InstanceRole != nil {
		out = append(out, p.InstanceRole.ARN)
	}
	if p.InstanceProfile != nil {
		out = append(out, p.InstanceProfile.ARN)
	}
	return out
}

// Actions lists the distinct actions the build role's policy allows,
// sorted, for summaries.
func (p *Plan) Actions() []string {
	var out []string
	for _, st := range p.BuildRole.Policy.Statement {
		if strings.EqualFold(st.Effect, iampolicy.EffectAllow) {
			out = append(out, st.Action...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
