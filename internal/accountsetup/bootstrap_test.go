package accountsetup

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/run"

	"github.com/google/go-cmp/cmp"
)

const (
	bsAccount  = "123456789012"
	bsBoundary = "arn:aws:iam::123456789012:policy/buildrole/buildrole-boundary"
	bsRun      = "buildrole-octo-app-pr42-3f9c2a1b"
	bsRole     = "arn:aws:iam::123456789012:role/buildrole/" + bsRun
	bsRoleVM   = bsRole + "-vm"
	bsProfile  = "arn:aws:iam::123456789012:instance-profile/buildrole/" + bsRun + "-vm"
	bsProvider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	bsOIDCHost = "token.actions.githubusercontent.com"
)

func bsNew(t *testing.T, mod func(*BootstrapParams)) *Bootstrap {
	t.Helper()
	p := BootstrapParams{AccountID: bsAccount, Repository: "octo/app"}
	if mod != nil {
		mod(&p)
	}
	b, err := NewBootstrap(p)
	if err != nil {
		t.Fatalf("NewBootstrap: %v", err)
	}
	return b
}

// bsTags is a request context: the tags of the request (aws:RequestTag,
// aws:TagKeys) or of the resource (aws:ResourceTag), and other keys.
type bsTags map[string]string

func bsContext(request, resource bsTags, extra ...string) map[string][]string {
	ctx := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(request)) {
		ctx["aws:RequestTag/"+k] = []string{request[k]}
		ctx["aws:TagKeys"] = append(ctx["aws:TagKeys"], k)
	}
	for k, v := range resource {
		ctx["aws:ResourceTag/"+k] = []string{v}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		ctx[extra[i]] = append(ctx[extra[i]], extra[i+1])
	}
	return ctx
}

// runTags are the tags `up` puts on every resource.
var runTags = bsTags{
	run.TagManaged:         "true",
	run.TagRunID:           "3f9c2a1b-0000-4000-8000-000000000000",
	"buildrole:repository": "octo/app",
	run.TagExpiresAt:       "2030-01-01T06:00:00Z",
}

type bsCase struct {
	name     string
	action   string
	resource string
	ctx      map[string][]string
	want     iampolicy.Decision
}

func bsEval(t *testing.T, b *Bootstrap, cases []bsCase) {
	t.Helper()
	for _, c := range cases {
		req := iampolicy.Request{Action: c.action, Resource: c.resource, Context: c.ctx}
		if got := iampolicy.Evaluate(req, []iampolicy.Document{b.Permissions}, nil); got != c.want {
			t.Errorf("%s: %s on %s = %v, want %v", c.name, c.action, c.resource, got, c.want)
		}
	}
}

// upDownSweepCalls are the calls `up`, `down` and `sweep` make with the
// bootstrap session on properly created run resources.
func upDownSweepCalls() []bsCase {
	boundary := func(tags bsTags, resource bsTags) map[string][]string {
		return bsContext(tags, resource, KeyPermissionsBoundary, bsBoundary)
	}
	onRole := bsContext(nil, runTags)
	onProfile := bsContext(nil, runTags)
	var out []bsCase
	for _, role := range []string{bsRole, bsRoleVM} {
		out = append(out,
			bsCase{"up: create role with boundary and tags", "iam:CreateRole", role, boundary(runTags, nil), iampolicy.Allow},
			// Tag-on-create: IAM also authorizes TagRole; the role has no tags yet.
			bsCase{"up: tag role on create", "iam:TagRole", role, bsContext(runTags, nil), iampolicy.Allow},
			bsCase{"up: tag role on create (resource tags visible)", "iam:TagRole", role, bsContext(runTags, runTags), iampolicy.Allow},
			bsCase{"up: put inline policy", "iam:PutRolePolicy", role, boundary(nil, runTags), iampolicy.Allow},
			bsCase{"up: get role on retry", "iam:GetRole", role, boundary(nil, runTags), iampolicy.Allow},
			bsCase{"up: pass role to the profile", "iam:PassRole", role, bsContext(nil, nil, iampolicy.KeyPassedToService, "ec2.amazonaws.com"), iampolicy.Allow},
			bsCase{"down: delete inline policy", "iam:DeleteRolePolicy", role, boundary(nil, runTags), iampolicy.Allow},
			bsCase{"down: list inline policies", "iam:ListRolePolicies", role, onRole, iampolicy.Allow},
			bsCase{"down: list attached policies", "iam:ListAttachedRolePolicies", role, onRole, iampolicy.Allow},
			bsCase{"down: detach policy", "iam:DetachRolePolicy", role, bsContext(nil, runTags, "iam:PolicyARN", "arn:aws:iam::aws:policy/ReadOnlyAccess"), iampolicy.Allow},
			bsCase{"down: list profiles of role", "iam:ListInstanceProfilesForRole", role, onRole, iampolicy.Allow},
			bsCase{"down: delete role", "iam:DeleteRole", role, boundary(nil, runTags), iampolicy.Allow},
			bsCase{"sweep: list role tags", "iam:ListRoleTags", role, onRole, iampolicy.Allow},
		)
	}
	out = append(out,
		bsCase{"up: create profile with tags", "iam:CreateInstanceProfile", bsProfile, bsContext(runTags, nil), iampolicy.Allow},
		bsCase{"up: tag profile on create", "iam:TagInstanceProfile", bsProfile, bsContext(runTags, nil), iampolicy.Allow},
		bsCase{"up: add role to profile", "iam:AddRoleToInstanceProfile", bsProfile, onProfile, iampolicy.Allow},
		bsCase{"up/down: get profile", "iam:GetInstanceProfile", bsProfile, onProfile, iampolicy.Allow},
		bsCase{"down: remove role from profile", "iam:RemoveRoleFromInstanceProfile", bsProfile, onProfile, iampolicy.Allow},
		bsCase{"down: delete profile", "iam:DeleteInstanceProfile", bsProfile, onProfile, iampolicy.Allow},
		bsCase{"sweep: list profile tags", "iam:ListInstanceProfileTags", bsProfile, onProfile, iampolicy.Allow},
		bsCase{"sweep: list roles", "iam:ListRoles", "*", nil, iampolicy.Allow},
		bsCase{"sweep: list profiles", "iam:ListInstanceProfiles", "*", nil, iampolicy.Allow},
	)
	return out
}

func TestBootstrapAllowsUpDownSweep(t *testing.T) {
	t.Parallel()
	for _, chain := range []bool{false, true} {
		t.Run(fmt.Sprintf("chain=%v", chain), func(t *testing.T) {
			t.Parallel()
			bsEval(t, bsNew(t, func(p *BootstrapParams) { p.ChainMode = chain }), upDownSweepCalls())
		})
	}
}

func TestBootstrapDenies(t *testing.T) {
	t.Parallel()
	b := bsNew(t, nil)
	withBoundary := func(tags, resource bsTags, boundary string) map[string][]string {
		return bsContext(tags, resource, KeyPermissionsBoundary, boundary)
	}
	unmanaged := bsTags{run.TagManaged: "false"}
	foreign := bsTags{"team": "platform"}
	withProfile := func(resource bsTags, profile string) map[string][]string {
		return bsContext(nil, resource, buildpolicy.KeyInstanceProfile, profile)
	}
	otherBoundary := "arn:aws:iam::123456789012:policy/buildrole/AdministratorAccess"
	cases := []bsCase{
		// CreateRole: boundary, path, prefix, tag.
		{"create role without boundary", "iam:CreateRole", bsRole, bsContext(runTags, nil), iampolicy.ExplicitDeny},
		{"create role with another boundary", "iam:CreateRole", bsRole, withBoundary(runTags, nil, otherBoundary), iampolicy.ExplicitDeny},
		{"create role with AWS admin boundary", "iam:CreateRole", bsRole, withBoundary(runTags, nil, "arn:aws:iam::aws:policy/AdministratorAccess"), iampolicy.ExplicitDeny},
		{"create role outside the path", "iam:CreateRole", "arn:aws:iam::123456789012:role/" + bsRun, withBoundary(runTags, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create role under another path", "iam:CreateRole", "arn:aws:iam::123456789012:role/admin/" + bsRun, withBoundary(runTags, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create role in a sub-path", "iam:CreateRole", "arn:aws:iam::123456789012:role/buildrole/x/" + bsRun, withBoundary(runTags, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create role with another prefix", "iam:CreateRole", "arn:aws:iam::123456789012:role/buildrole/admin", withBoundary(runTags, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create role in another account", "iam:CreateRole", "arn:aws:iam::210987654321:role/buildrole/" + bsRun, withBoundary(runTags, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create role without tags", "iam:CreateRole", bsRole, withBoundary(nil, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create role tagged unmanaged", "iam:CreateRole", bsRole, withBoundary(unmanaged, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create profile without the tag", "iam:CreateInstanceProfile", bsProfile, bsContext(foreign, nil), iampolicy.ImplicitDeny},
		{"create profile outside the path", "iam:CreateInstanceProfile", "arn:aws:iam::123456789012:instance-profile/" + bsRun, bsContext(runTags, nil), iampolicy.ImplicitDeny},
		// Existing roles and profiles not managed by buildrole.
		{"put policy on unmanaged role", "iam:PutRolePolicy", bsRole, withBoundary(nil, unmanaged, bsBoundary), iampolicy.ImplicitDeny},
		{"put policy on untagged role", "iam:PutRolePolicy", bsRole, withBoundary(nil, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"put policy on a role without the boundary", "iam:PutRolePolicy", bsRole, bsContext(nil, runTags), iampolicy.ExplicitDeny},
		{"put policy on a role with another boundary", "iam:PutRolePolicy", bsRole, withBoundary(nil, runTags, otherBoundary), iampolicy.ExplicitDeny},
		{"put policy outside the path", "iam:PutRolePolicy", "arn:aws:iam::123456789012:role/Admin", withBoundary(nil, runTags, bsBoundary), iampolicy.ImplicitDeny},
		{"delete unmanaged role", "iam:DeleteRole", bsRole, bsContext(nil, unmanaged), iampolicy.ImplicitDeny},
		{"delete untagged role", "iam:DeleteRole", bsRole, bsContext(nil, foreign), iampolicy.ImplicitDeny},
		{"delete role outside the path", "iam:DeleteRole", "arn:aws:iam::123456789012:role/Admin", bsContext(nil, runTags), iampolicy.ImplicitDeny},
		{"delete policy of unmanaged role", "iam:DeleteRolePolicy", bsRole, bsContext(nil, unmanaged), iampolicy.ImplicitDeny},
		{"tag unmanaged role", "iam:TagRole", bsRole, bsContext(runTags, unmanaged), iampolicy.ImplicitDeny},
		{"tag role without the managed tag", "iam:TagRole", bsRole, bsContext(foreign, runTags), iampolicy.ImplicitDeny},
		{"untag the managed tag", "iam:TagRole", bsRole, bsContext(unmanaged, runTags), iampolicy.ImplicitDeny},
		{"tag role outside the path", "iam:TagRole", "arn:aws:iam::123456789012:role/Admin", bsContext(runTags, nil), iampolicy.ImplicitDeny},
		{"untag role", "iam:UntagRole", bsRole, bsContext(nil, runTags, "aws:TagKeys", run.TagManaged), iampolicy.ImplicitDeny},
		{"tag unmanaged profile", "iam:TagInstanceProfile", bsProfile, bsContext(runTags, unmanaged), iampolicy.ImplicitDeny},
		{"add role to unmanaged profile", "iam:AddRoleToInstanceProfile", bsProfile, bsContext(nil, unmanaged), iampolicy.ImplicitDeny},
		{"add role to untagged profile", "iam:AddRoleToInstanceProfile", bsProfile, nil, iampolicy.ImplicitDeny},
		{"delete unmanaged profile", "iam:DeleteInstanceProfile", bsProfile, bsContext(nil, foreign), iampolicy.ImplicitDeny},
		{"remove role from unmanaged profile", "iam:RemoveRoleFromInstanceProfile", bsProfile, bsContext(nil, unmanaged), iampolicy.ImplicitDeny},
		{"pass a role outside the path", "iam:PassRole", "arn:aws:iam::123456789012:role/Admin", nil, iampolicy.ImplicitDeny},
		{"pass a run role to Lambda", "iam:PassRole", bsRole, bsContext(nil, nil, iampolicy.KeyPassedToService, "lambda.amazonaws.com"), iampolicy.ImplicitDeny},
		// AddRoleToInstanceProfile's check: AWS does not say it names the
		// service (the role still goes only to EC2 through the profile).
		{"pass a run role, the service unsaid", "iam:PassRole", bsRole, nil, iampolicy.Allow},
		{"tag a role without a run id", "iam:TagRole", bsRole, bsContext(bsTags{run.TagManaged: "true", run.TagExpiresAt: "2030-01-01T06:00:00Z"}, nil), iampolicy.ImplicitDeny},
		{"tag a role without an expiry", "iam:TagRole", bsRole, bsContext(bsTags{run.TagManaged: "true", run.TagRunID: "x"}, nil), iampolicy.ImplicitDeny},
		{"push a run's expiry out", "iam:TagRole", bsRole, bsContext(bsTags{run.TagManaged: "true", run.TagRunID: runTags[run.TagRunID], run.TagExpiresAt: "2099-01-01T00:00:00Z"}, runTags), iampolicy.ExplicitDeny},
		{"move a role into another run", "iam:TagRole", bsRole, bsContext(bsTags{run.TagManaged: "true", run.TagRunID: "other-run", run.TagExpiresAt: runTags[run.TagExpiresAt]}, runTags), iampolicy.ExplicitDeny},
		{"push a profile's expiry out", "iam:TagInstanceProfile", bsProfile, bsContext(bsTags{run.TagManaged: "true", run.TagRunID: runTags[run.TagRunID], run.TagExpiresAt: "2099-01-01T00:00:00Z"}, runTags), iampolicy.ExplicitDeny},
		// Weakening or replacing the boundary.
		{"delete a run role's boundary", "iam:DeleteRolePermissionsBoundary", bsRole, withBoundary(nil, runTags, bsBoundary), iampolicy.ExplicitDeny},
		{"replace a run role's boundary", "iam:PutRolePermissionsBoundary", bsRole, withBoundary(nil, runTags, otherBoundary), iampolicy.ExplicitDeny},
		{"delete any role's boundary", "iam:DeleteRolePermissionsBoundary", "arn:aws:iam::123456789012:role/Admin", nil, iampolicy.ExplicitDeny},
		{"new version of the boundary", "iam:CreatePolicyVersion", bsBoundary, nil, iampolicy.ExplicitDeny},
		{"delete the boundary", "iam:DeletePolicy", bsBoundary, nil, iampolicy.ExplicitDeny},
		{"delete a boundary version", "iam:DeletePolicyVersion", bsBoundary, nil, iampolicy.ExplicitDeny},
		{"roll the boundary back", "iam:SetDefaultPolicyVersion", bsBoundary, nil, iampolicy.ExplicitDeny},
		{"change a run role's trust", "iam:UpdateAssumeRolePolicy", bsRole, bsContext(nil, runTags), iampolicy.ExplicitDeny},
		// Nothing beyond the run resources.
		{"assume a run role without chain mode", "sts:AssumeRole", bsRole, bsContext(nil, runTags), iampolicy.ImplicitDeny},
		{"attach a managed policy", "iam:AttachRolePolicy", bsRole, withBoundary(nil, runTags, bsBoundary), iampolicy.ImplicitDeny},
		{"create a user", "iam:CreateUser", "arn:aws:iam::123456789012:user/buildrole/x", withBoundary(runTags, nil, bsBoundary), iampolicy.ImplicitDeny},
		{"create a policy", "iam:CreatePolicy", "arn:aws:iam::123456789012:policy/buildrole/buildrole-x", bsContext(runTags, nil), iampolicy.ImplicitDeny},
		{"create an access key", "iam:CreateAccessKey", "arn:aws:iam::123456789012:user/admin", nil, iampolicy.ImplicitDeny},
		{"read another role", "iam:GetRole", "arn:aws:iam::123456789012:role/Admin", nil, iampolicy.ImplicitDeny},
		{"run an instance", "ec2:RunInstances", "*", nil, iampolicy.ImplicitDeny},
		// Sweep's EC2 leftovers: only what carries the managed tag, never
		// an image or a snapshot; an instance only with a run's profile,
		// since a build role may tag any instance in its region.
		{"terminate a managed instance with a run's profile", "ec2:TerminateInstances", bsEC2("instance/i-1"), withProfile(runTags, bsProfile), iampolicy.Allow},
		{"terminate a managed instance with the build role's own-named profile", "ec2:TerminateInstances", bsEC2("instance/i-1"), withProfile(runTags, "arn:aws:iam::123456789012:instance-profile/buildrole/"+bsRun), iampolicy.Allow},
		{"terminate an instance a build role tagged, without a profile", "ec2:TerminateInstances", bsEC2("instance/i-4"), bsContext(nil, runTags), iampolicy.ImplicitDeny},
		{"terminate an instance a build role tagged, with production's profile", "ec2:TerminateInstances", bsEC2("instance/i-4"), withProfile(runTags, "arn:aws:iam::123456789012:instance-profile/production"), iampolicy.ImplicitDeny},
		{"terminate an instance a build role tagged, with a profile under another path", "ec2:TerminateInstances", bsEC2("instance/i-4"), withProfile(runTags, "arn:aws:iam::123456789012:instance-profile/admin/"+bsRun), iampolicy.ImplicitDeny},
		{"terminate an instance a build role tagged, with a profile of another account", "ec2:TerminateInstances", bsEC2("instance/i-4"), withProfile(runTags, "arn:aws:iam::210987654321:instance-profile/buildrole/"+bsRun), iampolicy.ImplicitDeny},
		{"terminate an unmanaged instance with a run's profile", "ec2:TerminateInstances", bsEC2("instance/i-4"), withProfile(unmanaged, bsProfile), iampolicy.ImplicitDeny},
		{"delete a managed group", "ec2:DeleteSecurityGroup", bsEC2("security-group/sg-1"), bsContext(nil, runTags), iampolicy.Allow},
		{"delete a managed key pair", "ec2:DeleteKeyPair", bsEC2("key-pair/key-1"), bsContext(nil, runTags), iampolicy.Allow},
		{"delete a managed volume", "ec2:DeleteVolume", bsEC2("volume/vol-1"), bsContext(nil, runTags), iampolicy.Allow},
		{"list instances", "ec2:DescribeInstances", "*", nil, iampolicy.Allow},
		{"terminate an untagged instance", "ec2:TerminateInstances", bsEC2("instance/i-2"), nil, iampolicy.ImplicitDeny},
		{"terminate an unmanaged instance", "ec2:TerminateInstances", bsEC2("instance/i-2"), bsContext(nil, unmanaged), iampolicy.ImplicitDeny},
		{"delete an untagged packer_ group", "ec2:DeleteSecurityGroup", bsEC2("security-group/sg-2"), nil, iampolicy.ImplicitDeny},
		{"delete an unmanaged volume", "ec2:DeleteVolume", bsEC2("volume/vol-2"), bsContext(nil, unmanaged), iampolicy.ImplicitDeny},
		{"terminate a managed instance of another account", "ec2:TerminateInstances", "arn:aws:ec2:us-east-1:210987654321:instance/i-3", withProfile(runTags, bsProfile), iampolicy.ImplicitDeny},
		{"deregister a managed image", "ec2:DeregisterImage", "arn:aws:ec2:us-east-1::image/ami-1", bsContext(nil, runTags), iampolicy.ImplicitDeny},
		{"delete a managed snapshot", "ec2:DeleteSnapshot", "arn:aws:ec2:us-east-1::snapshot/snap-1", bsContext(nil, runTags), iampolicy.ImplicitDeny},
		{"delete a managed network interface", "ec2:DeleteNetworkInterface", bsEC2("network-interface/eni-1"), bsContext(nil, runTags), iampolicy.ImplicitDeny},
	}
	bsEval(t, b, cases)
}

func bsEC2(resource string) string { return "arn:aws:ec2:us-east-1:123456789012:" + resource }

func TestBootstrapAssumeRoleOnlyInChainMode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		chain    bool
		resource string
		want     iampolicy.Decision
	}{
		{false, bsRole, iampolicy.ImplicitDeny},
		{true, bsRole, iampolicy.Allow},
		{true, bsRoleVM, iampolicy.Allow},
		{true, "arn:aws:iam::123456789012:role/Admin", iampolicy.ImplicitDeny},
		{true, "arn:aws:iam::123456789012:role/buildrole/other-x", iampolicy.ImplicitDeny},
	} {
		b := bsNew(t, func(p *BootstrapParams) { p.ChainMode = c.chain })
		got := iampolicy.Evaluate(iampolicy.Request{Action: "sts:AssumeRole", Resource: c.resource}, []iampolicy.Document{b.Permissions}, nil)
		if got != c.want {
			t.Errorf("chain=%v: sts:AssumeRole on %s = %v, want %v", c.chain, c.resource, got, c.want)
		}
	}
}

// TestBootstrapGrantsNothingElse pins the complete list of allowed actions:
// a new grant must be added here on purpose.
func TestBootstrapGrantsNothingElse(t *testing.T) {
	t.Parallel()
	want := []string{
		"iam:AddRoleToInstanceProfile", "iam:CreateInstanceProfile", "iam:CreateRole",
		"iam:DeleteInstanceProfile", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
		"iam:GetInstanceProfile", "iam:GetRole", "iam:ListAttachedRolePolicies",
		"iam:ListInstanceProfileTags", "iam:ListInstanceProfiles", "iam:ListInstanceProfilesForRole",
		"iam:ListRolePolicies", "iam:ListRoleTags", "iam:ListRoles", "iam:PassRole", "iam:PutRolePolicy",
		"iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:TagRole",
		// Sweep's EC2 leftovers: reads, and removals of managed resources.
		"ec2:DeleteKeyPair", "ec2:DeleteSecurityGroup", "ec2:DeleteVolume", "ec2:DescribeInstances",
		"ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes", "ec2:TerminateInstances",
	}
	for _, chain := range []bool{false, true} {
		b := bsNew(t, func(p *BootstrapParams) { p.ChainMode = chain })
		var got []string
		for _, s := range b.Permissions.Statement {
			if len(s.NotAction) > 0 || len(s.NotResource) > 0 || s.Principal != nil {
				t.Errorf("statement %s uses NotAction, NotResource or Principal", s.Sid)
			}
			for _, a := range s.Action {
				if strings.ContainsAny(a, "*?") {
					t.Errorf("statement %s: wildcard action %q", s.Sid, a)
				}
				if s.Effect == iampolicy.EffectAllow {
					got = append(got, a)
				}
			}
			if s.Effect != iampolicy.EffectAllow {
				continue
			}
			for _, r := range s.Resource {
				star := r == "*"
				listOnly := !slices.ContainsFunc(s.Action, func(a string) bool {
					return a != "iam:ListRoles" && a != "iam:ListInstanceProfiles" && !strings.HasPrefix(a, "ec2:Describe")
				})
				if star && !listOnly {
					t.Errorf("statement %s allows %v on \"*\"", s.Sid, s.Action)
				}
				managedEC2 := strings.HasPrefix(r, "arn:aws:ec2:*:123456789012:") && s.Condition[iampolicy.OpStringEquals][KeyResourceTagManaged] != nil
				if !star && !managedEC2 && !strings.Contains(r, ":role/buildrole/buildrole-") && !strings.Contains(r, ":instance-profile/buildrole/buildrole-") {
					t.Errorf("statement %s: resource %q is outside the run resources", s.Sid, r)
				}
			}
		}
		slices.Sort(got)
		w := slices.Clone(want)
		if chain {
			w = append(w, "sts:AssumeRole")
		}
		slices.Sort(w)
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("chain=%v: allowed actions (-want +got):\n%s", chain, diff)
		}
	}
}

func TestBootstrapBoundaryCapsRunRoles(t *testing.T) {
	t.Parallel()
	b := bsNew(t, nil)
	// A run role whose own policy asks for too much still gets only what
	// the boundary allows.
	greedy := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"iam:CreateUser", "s3:DeleteBucket", "ec2:RunInstances"}, Resource: iampolicy.Values{"*"},
	}}}
	for action, want := range map[string]iampolicy.Decision{
		"iam:CreateUser":   iampolicy.ImplicitDeny,
		"s3:DeleteBucket":  iampolicy.ImplicitDeny,
		"ec2:RunInstances": iampolicy.Allow,
	} {
		req := iampolicy.Request{Action: action, Resource: "*"}
		if got := iampolicy.Evaluate(req, []iampolicy.Document{greedy}, &b.Boundary); got != want {
			t.Errorf("%s under the boundary = %v, want %v", action, got, want)
		}
	}

	// Everything the catalogue may ever grant fits under the boundary,
	// and only that plus the instance actions.
	everything := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"*"}, Resource: iampolicy.Values{"*"}}}}
	eval := func(action, resource string, ctx map[string][]string) iampolicy.Decision {
		return iampolicy.Evaluate(iampolicy.Request{Action: action, Resource: resource, Context: ctx}, []iampolicy.Document{everything}, &b.Boundary)
	}
	ec2 := map[string][]string{iampolicy.KeyPassedToService: {"ec2.amazonaws.com"}}
	docCheck := map[string][]string{buildpolicy.KeySessionDocumentAccessCheck: {"true"}}
	// The context EC2, KMS and SSM give each catalogue action when Packer
	// calls it (test/iamsim proves the same for every template's calls).
	for _, a := range buildpolicy.CatalogueActions() {
		resource, ctx := "*", map[string][]string{}
		switch {
		case a == iampolicy.ActionPassRole:
			resource, ctx = bsRoleVM, ec2
		case a == iampolicy.ActionGetInstanceProfile:
			resource = bsProfile
		case a == "ssm:StartSession":
			// AWS does not say the request carries the document check key.
			resource = "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
		case a == "ssm:TerminateSession":
			resource, ctx = "arn:aws:ssm:us-east-1:123456789012:session/b-1", map[string][]string{"aws:userid": {"AROA1:b"}, buildpolicy.KeySessionOwner: {"AROA1:b"}}
		case strings.HasPrefix(a, "kms:"):
			ctx = map[string][]string{buildpolicy.KeyViaService: {"ec2.us-east-1.amazonaws.com"}, buildpolicy.KeyGrantIsForAWSResource: {"true"}}
		case a == "ec2:DeleteTags":
			ctx = map[string][]string{buildpolicy.KeyTagKeys: {"Purpose"}} // run_volume_tags
		}
		if got := eval(a, resource, ctx); got != iampolicy.Allow {
			t.Errorf("catalogue action %s on %s under the boundary = %v, want Allow", a, resource, got)
		}
	}
	for _, a := range DefaultInstanceActions() {
		if got := eval(a, "*", nil); got != iampolicy.Allow {
			t.Errorf("instance action %s under the boundary = %v, want Allow", a, got)
		}
	}
	for _, c := range []struct {
		name, action, resource string
		ctx                    map[string][]string
		want                   iampolicy.Decision
	}{
		{"pass the instance role to EC2", iampolicy.ActionPassRole, bsRoleVM, ec2, iampolicy.Allow},
		{"pass a role outside the path", iampolicy.ActionPassRole, "arn:aws:iam::123456789012:role/Admin", ec2, iampolicy.ImplicitDeny},
		{"pass a run role to Lambda", iampolicy.ActionPassRole, bsRoleVM, map[string][]string{iampolicy.KeyPassedToService: {"lambda.amazonaws.com"}}, iampolicy.ImplicitDeny},
		{"read a profile outside the path", iampolicy.ActionGetInstanceProfile, "arn:aws:iam::123456789012:instance-profile/Admin", nil, iampolicy.ImplicitDeny},
		{"create a role", "iam:CreateRole", bsRole, nil, iampolicy.ImplicitDeny},
		{"put a role policy", "iam:PutRolePolicy", bsRole, nil, iampolicy.ImplicitDeny},
		{"assume a role", "sts:AssumeRole", "arn:aws:iam::123456789012:role/Admin", nil, iampolicy.ImplicitDeny},
		{"read every secret", "secretsmanager:GetSecretValue", "*", nil, iampolicy.ImplicitDeny},
		{"write objects", "s3:PutObject", "*", nil, iampolicy.ImplicitDeny},
		{"port forwarding, the document check unsaid", "ssm:StartSession", "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession", nil, iampolicy.Allow},
		{"port forwarding, the document check on", "ssm:StartSession", "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession", docCheck, iampolicy.Allow},
		{"a session to an instance, the document check on", "ssm:StartSession", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", docCheck, iampolicy.Allow},
		{"a session without the document check", "ssm:StartSession", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", map[string][]string{buildpolicy.KeySessionDocumentAccessCheck: {"false"}}, iampolicy.ImplicitDeny},
		{"the default shell document (no document named)", "ssm:StartSession", "arn:aws:ssm:us-east-1:123456789012:document/SSM-SessionManagerRunShell", docCheck, iampolicy.ImplicitDeny},
		{"the shell document named", "ssm:StartSession", "arn:aws:ssm:us-east-1:123456789012:document/SSM-SessionManagerRunShell", nil, iampolicy.ImplicitDeny},
		{"another AWS document", "ssm:StartSession", "arn:aws:ssm:us-east-1::document/AWS-StartInteractiveCommand", nil, iampolicy.ImplicitDeny},
	} {
		if got := eval(c.action, c.resource, c.ctx); got != c.want {
			t.Errorf("%s: %s under the boundary = %v, want %v", c.name, c.action, got, c.want)
		}
	}

	// The boundary names no action outside catalogue, teardown's,
	// instance actions, PassRole and GetInstanceProfile.
	allowed := slices.Concat(buildpolicy.CatalogueActions(), buildpolicy.TeardownActions(), DefaultInstanceActions(), []string{iampolicy.ActionPassRole, iampolicy.ActionGetInstanceProfile})
	for _, s := range b.Boundary.Statement {
		if s.Effect == iampolicy.EffectDeny && slices.Contains([]string{SidDenyRunIDRewrite, SidDenyExpiryRewrite, buildpolicy.SidDenyRunTagRemoval, buildpolicy.SidDenyRemovingEveryTag}, s.Sid) {
			continue // a Deny only narrows
		}
		if s.Effect != iampolicy.EffectAllow || len(s.NotAction) > 0 || len(s.NotResource) > 0 {
			t.Errorf("boundary statement %s: want plain Allow statements", s.Sid)
		}
		for _, a := range s.Action {
			if !slices.Contains(allowed, a) {
				t.Errorf("boundary statement %s allows %q, which is neither in the catalogue nor an instance action", s.Sid, a)
			}
		}
	}
}

func TestBootstrapBoundaryInstanceActions(t *testing.T) {
	t.Parallel()
	b := bsNew(t, func(p *BootstrapParams) {
		p.InstanceActions = []string{"s3:GetObject", "S3:getobject", "logs:PutLogEvents"}
	})
	everything := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"*"}, Resource: iampolicy.Values{"*"}}}}
	for action, want := range map[string]iampolicy.Decision{
		"logs:PutLogEvents":             iampolicy.Allow,
		"s3:GetObject":                  iampolicy.Allow,
		"ssm:UpdateInstanceInformation": iampolicy.ImplicitDeny, // the default is replaced, not extended
	} {
		if got := iampolicy.Evaluate(iampolicy.Request{Action: action, Resource: "*"}, []iampolicy.Document{everything}, &b.Boundary); got != want {
			t.Errorf("%s = %v, want %v", action, got, want)
		}
	}
	var instance iampolicy.Statement
	for _, s := range b.Boundary.Statement {
		if s.Sid == SidBoundaryInstance {
			instance = s
		}
	}
	if diff := cmp.Diff(iampolicy.Values{"logs:PutLogEvents", "s3:GetObject"}, instance.Action); diff != "" {
		t.Errorf("instance actions deduplicated case-insensitively and sorted (-want +got):\n%s", diff)
	}
}

// --instance-type bounds what any run role may launch; without it, any
// type. Whatever the flags, a run role removes no run id or expiry and never
// every tag at once, and other tags stay removable.
func TestBootstrapBoundaryInstanceTypesAndTags(t *testing.T) {
	t.Parallel()
	everything := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"*"}, Resource: iampolicy.Values{"*"}}}}
	const instances, volumes = "arn:aws:ec2:us-east-1:123456789012:instance/*", "arn:aws:ec2:us-east-1:123456789012:volume/*"
	for _, c := range []struct {
		types    []string
		resource string
		ctx      map[string][]string
		want     iampolicy.Decision
	}{
		{nil, instances, map[string][]string{buildpolicy.KeyInstanceType: {"u-24tb1.112xlarge"}}, iampolicy.Allow},
		{[]string{"t3.*", "m5.large"}, instances, map[string][]string{buildpolicy.KeyInstanceType: {"t3.micro"}}, iampolicy.Allow},
		{[]string{"t3.*", "m5.large"}, instances, map[string][]string{buildpolicy.KeyInstanceType: {"m5.large"}}, iampolicy.Allow},
		{[]string{"t3.*", "m5.large"}, instances, map[string][]string{buildpolicy.KeyInstanceType: {"m5.24xlarge"}}, iampolicy.ExplicitDeny},
		{[]string{"t3.*", "m5.large"}, instances, map[string][]string{buildpolicy.KeyInstanceType: {"p5.48xlarge"}}, iampolicy.ExplicitDeny},
		{[]string{"t3.*", "m5.large"}, instances, nil, iampolicy.ExplicitDeny},
		{[]string{"t3.*", "m5.large"}, volumes, nil, iampolicy.Allow},
	} {
		b := bsNew(t, func(p *BootstrapParams) { p.InstanceTypes = c.types })
		got := iampolicy.Evaluate(iampolicy.Request{Action: "ec2:RunInstances", Resource: c.resource, Context: c.ctx}, []iampolicy.Document{everything}, &b.Boundary)
		if got != c.want {
			t.Errorf("types %v: RunInstances on %s with %v = %v, want %v", c.types, c.resource, c.ctx, got, c.want)
		}
	}
	b := bsNew(t, nil)
	for _, c := range []struct {
		keys []string
		want iampolicy.Decision
	}{
		{[]string{"Purpose"}, iampolicy.Allow},
		{[]string{"Purpose", "buildrole:run-id"}, iampolicy.ExplicitDeny},
		{[]string{"buildrole:expires-at"}, iampolicy.ExplicitDeny},
		{nil, iampolicy.ExplicitDeny}, // DeleteTags naming no key removes every tag
	} {
		ctx := map[string][]string{}
		if c.keys != nil {
			ctx[buildpolicy.KeyTagKeys] = c.keys
		}
		got := iampolicy.Evaluate(iampolicy.Request{Action: "ec2:DeleteTags", Resource: volumes, Context: ctx}, []iampolicy.Document{everything}, &b.Boundary)
		if got != c.want {
			t.Errorf("DeleteTags of %v = %v, want %v", c.keys, got, c.want)
		}
	}
}

func bsTrust(b *Bootstrap, principal, aud, sub string) iampolicy.Decision {
	return iampolicy.EvaluateTrust(iampolicy.Request{
		Principal: map[string]string{"Federated": principal},
		Action:    iampolicy.ActionAssumeRoleWithWebIdentity,
		Resource:  b.RoleARN,
		Context:   map[string][]string{bsOIDCHost + ":aud": {aud}, bsOIDCHost + ":sub": {sub}},
	}, b.Trust)
}

func TestBootstrapTrust(t *testing.T) {
	t.Parallel()
	b := bsNew(t, nil)
	if len(b.Warnings) != 0 {
		t.Errorf("exact default subjects: warnings %q, want none", b.Warnings)
	}
	aud := DefaultBootstrapAudience
	for _, c := range []struct {
		name, principal, aud, sub string
		want                      iampolicy.Decision
	}{
		{"main branch", bsProvider, aud, "repo:octo/app:ref:refs/heads/main", iampolicy.Allow},
		{"pull request", bsProvider, aud, "repo:octo/app:pull_request", iampolicy.Allow},
		{"other branch", bsProvider, aud, "repo:octo/app:ref:refs/heads/feature", iampolicy.ImplicitDeny},
		{"tag", bsProvider, aud, "repo:octo/app:ref:refs/tags/v1", iampolicy.ImplicitDeny},
		{"environment", bsProvider, aud, "repo:octo/app:environment:prod", iampolicy.ImplicitDeny},
		{"other repository", bsProvider, aud, "repo:octo/other:pull_request", iampolicy.ImplicitDeny},
		{"same name, other owner", bsProvider, aud, "repo:evil/app:pull_request", iampolicy.ImplicitDeny},
		{"prefix of the name", bsProvider, aud, "repo:octo/app-fork:pull_request", iampolicy.ImplicitDeny},
		{"case differs", bsProvider, aud, "repo:Octo/App:pull_request", iampolicy.ImplicitDeny},
		{"other audience", bsProvider, "https://github.com/octo", "repo:octo/app:pull_request", iampolicy.ImplicitDeny},
		{"other provider", "arn:aws:iam::123456789012:oidc-provider/gitlab.com", aud, "repo:octo/app:pull_request", iampolicy.ImplicitDeny},
		{"provider in another account", "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com", aud, "repo:octo/app:pull_request", iampolicy.ImplicitDeny},
	} {
		if got := bsTrust(b, c.principal, c.aud, c.sub); got != c.want {
			t.Errorf("%s (%s): %v, want %v", c.name, c.sub, got, c.want)
		}
	}
	if _, ok := b.Trust.Statement[0].Condition["StringLike"]; ok {
		t.Errorf("exact subjects must use StringEquals, not StringLike: %s", b.Trust.JSON())
	}
}

func TestBootstrapTrustImmutableSubjects(t *testing.T) {
	t.Parallel()
	b := bsNew(t, func(p *BootstrapParams) {
		p.OwnerID, p.RepositoryID = "123456", "456789"
		p.Subjects = []string{"ref:refs/heads/main", "environment:prod"}
	})
	for sub, want := range map[string]iampolicy.Decision{
		"repo:octo@123456/app@456789:ref:refs/heads/main": iampolicy.Allow,
		"repo:octo@123456/app@456789:environment:prod":    iampolicy.Allow,
		"repo:octo@123456/app@456789:pull_request":        iampolicy.ImplicitDeny,
		// The name-only form is what a recycled name would present.
		"repo:octo/app:ref:refs/heads/main":               iampolicy.ImplicitDeny,
		"repo:octo@999999/app@456789:ref:refs/heads/main": iampolicy.ImplicitDeny,
		"repo:octo@123456/app@999999:ref:refs/heads/main": iampolicy.ImplicitDeny,
	} {
		if got := bsTrust(b, bsProvider, DefaultBootstrapAudience, sub); got != want {
			t.Errorf("%s: %v, want %v", sub, got, want)
		}
	}
}

func TestBootstrapTrustWildcards(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		subjects []string
		allow    []string
		deny     []string
		warn     []string // substrings, one warning each
	}{
		{
			name:     "release branches",
			subjects: []string{"ref:refs/heads/release/*", "pull_request"},
			allow:    []string{"repo:octo/app:ref:refs/heads/release/1.2", "repo:octo/app:pull_request"},
			deny:     []string{"repo:octo/app:ref:refs/heads/main", "repo:octo/other:ref:refs/heads/release/1.2"},
			warn:     []string{"admits any matching branch"},
		},
		{
			name:     "every repository of the owner",
			subjects: []string{"repo:octo/*:pull_request"},
			allow:    []string{"repo:octo/app:pull_request", "repo:octo/other:pull_request"},
			deny:     []string{"repo:evil/app:pull_request", "repo:octo/app:ref:refs/heads/main"},
			warn:     []string{"admits workflows of other repositories"},
		},
		{
			name:     "full subject of another repository",
			subjects: []string{"repo:octo/tools:ref:refs/heads/main"},
			allow:    []string{"repo:octo/tools:ref:refs/heads/main"},
			deny:     []string{"repo:octo/app:ref:refs/heads/main"},
			warn:     []string{"admits a repository other than octo/app"},
		},
	} {
		b := bsNew(t, func(p *BootstrapParams) { p.Subjects = c.subjects })
		for _, sub := range c.allow {
			if got := bsTrust(b, bsProvider, DefaultBootstrapAudience, sub); got != iampolicy.Allow {
				t.Errorf("%s: %s = %v, want Allow", c.name, sub, got)
			}
		}
		for _, sub := range c.deny {
			if got := bsTrust(b, bsProvider, DefaultBootstrapAudience, sub); got != iampolicy.ImplicitDeny {
				t.Errorf("%s: %s = %v, want ImplicitDeny", c.name, sub, got)
			}
		}
		if len(b.Warnings) != len(c.warn) {
			t.Errorf("%s: warnings %q, want %d", c.name, b.Warnings, len(c.warn))
			continue
		}
		for i, w := range c.warn {
			if !strings.Contains(b.Warnings[i], w) {
				t.Errorf("%s: warning %q, want it to say %q", c.name, b.Warnings[i], w)
			}
		}
	}
}

func TestNewBootstrapRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		mod  func(*BootstrapParams)
		want string // the field the error must name
	}{
		{"no account", func(p *BootstrapParams) { p.AccountID = "" }, "account"},
		{"short account", func(p *BootstrapParams) { p.AccountID = "12345" }, "account"},
		{"bad partition", func(p *BootstrapParams) { p.Partition = "azure" }, "partition"},
		{"no repository", func(p *BootstrapParams) { p.Repository = "" }, "repository"},
		{"repository without owner", func(p *BootstrapParams) { p.Repository = "app" }, "repository"},
		{"repository with three parts", func(p *BootstrapParams) { p.Repository = "octo/app/x" }, "repository"},
		{"wildcard owner", func(p *BootstrapParams) { p.Repository = "*/app" }, "repository"},
		{"wildcard repository", func(p *BootstrapParams) { p.Repository = "octo/*" }, "repository"},
		{"only the repository id", func(p *BootstrapParams) { p.RepositoryID = "456789" }, "repository id"},
		{"non-numeric ids", func(p *BootstrapParams) { p.RepositoryID, p.OwnerID = "abc", "123" }, "repository id"},
		{"bare wildcard subject", func(p *BootstrapParams) { p.Subjects = []string{"*"} }, "subject"},
		{"wildcard context", func(p *BootstrapParams) { p.Subjects = []string{"repo:octo/app:*"} }, "subject"},
		{"any repository", func(p *BootstrapParams) { p.Subjects = []string{"repo:*"} }, "subject"},
		{"any owner", func(p *BootstrapParams) { p.Subjects = []string{"repo:*/app:pull_request"} }, "subject"},
		{"empty subject", func(p *BootstrapParams) { p.Subjects = []string{"pull_request", " "} }, "subject"},
		{"subject with space", func(p *BootstrapParams) { p.Subjects = []string{"ref:refs/heads/a b"} }, "subject"},
		{"policy variable in subject", func(p *BootstrapParams) { p.Subjects = []string{"ref:${aws:username}"} }, "subject"},
		{"path without slashes", func(p *BootstrapParams) { p.Path = "buildrole" }, "path"},
		{"wildcard path", func(p *BootstrapParams) { p.Path = "/build*/" }, "path"},
		{"long prefix", func(p *BootstrapParams) { p.NamePrefix = strings.Repeat("b", 53) }, "name prefix"},
		{"prefix with wildcard", func(p *BootstrapParams) { p.NamePrefix = "build*" }, "name prefix"},
		{"role name with slash", func(p *BootstrapParams) { p.RoleName = "a/b" }, "role name"},
		{"long role name", func(p *BootstrapParams) { p.RoleName = strings.Repeat("r", 65) }, "role name"},
		{"boundary name with space", func(p *BootstrapParams) { p.BoundaryName = "my boundary" }, "boundary name"},
		{"wildcard audience", func(p *BootstrapParams) { p.Audience = "*" }, "audience"},
		{"wildcard instance action", func(p *BootstrapParams) { p.InstanceActions = []string{"s3:*"} }, "instance actions"},
		{"any instance action", func(p *BootstrapParams) { p.InstanceActions = []string{"*"} }, "instance actions"},
		{"any instance type", func(p *BootstrapParams) { p.InstanceTypes = []string{"*"} }, "instance type"},
		{"instance type with a space", func(p *BootstrapParams) { p.InstanceTypes = []string{"t3. micro"} }, "instance type"},
		{"instance type in capitals", func(p *BootstrapParams) { p.InstanceTypes = []string{"T3.MICRO"} }, "instance type"},
		{"bootstrap role under its own grants", func(p *BootstrapParams) { p.Path = "/" }, "bootstrap role name"},
		{"trust policy too large", func(p *BootstrapParams) {
			for i := range 60 {
				p.Subjects = append(p.Subjects, fmt.Sprintf("environment:production-%02d", i))
			}
		}, "trust policy"},
	} {
		p := BootstrapParams{AccountID: bsAccount, Repository: "octo/app"}
		c.mod(&p)
		b, err := NewBootstrap(p)
		if err == nil {
			t.Errorf("%s: NewBootstrap succeeded, want an error naming %q; trust %s", c.name, c.want, b.Trust.JSON())
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name %q", c.name, err, c.want)
		}
	}
}

func TestNewBootstrapDefaultsAndNames(t *testing.T) {
	t.Parallel()
	b := bsNew(t, nil)
	got := []string{b.ProviderURL, b.ProviderARN, b.Audience, b.RoleName, b.RoleARN, b.BoundaryName, b.BoundaryARN}
	want := []string{
		"https://token.actions.githubusercontent.com",
		bsProvider,
		"sts.amazonaws.com",
		"buildrole-bootstrap",
		"arn:aws:iam::123456789012:role/buildrole-bootstrap",
		"buildrole-boundary",
		bsBoundary,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	cn := bsNew(t, func(p *BootstrapParams) {
		p.Partition = awsfacts.PartitionChina
		p.Path, p.NamePrefix, p.RoleName, p.BoundaryName = "/ci/images/", "img", "img-bootstrap-ci", "img-ceiling"
	})
	got = []string{cn.ProviderARN, cn.RoleARN, cn.BoundaryARN}
	want = []string{
		"arn:aws-cn:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
		"arn:aws-cn:iam::123456789012:role/img-bootstrap-ci",
		"arn:aws-cn:iam::123456789012:policy/ci/images/img-ceiling",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("custom names in aws-cn (-want +got):\n%s", diff)
	}
	// The custom path and prefix bind the grants.
	role := "arn:aws-cn:iam::123456789012:role/ci/images/img-web-1a2b3c4d"
	ctx := bsContext(runTags, nil, KeyPermissionsBoundary, cn.BoundaryARN)
	if got := iampolicy.Evaluate(iampolicy.Request{Action: "iam:CreateRole", Resource: role, Context: ctx}, []iampolicy.Document{cn.Permissions}, nil); got != iampolicy.Allow {
		t.Errorf("create role under the custom path = %v, want Allow", got)
	}
	if got := iampolicy.Evaluate(iampolicy.Request{Action: "iam:CreateRole", Resource: strings.Replace(role, "aws-cn", "aws", 1), Context: ctx}, []iampolicy.Document{cn.Permissions}, nil); got != iampolicy.ImplicitDeny {
		t.Errorf("create role in another partition = %v, want ImplicitDeny", got)
	}
	pass := iampolicy.Request{Action: iampolicy.ActionPassRole, Resource: role, Context: map[string][]string{iampolicy.KeyPassedToService: {awsfacts.ServicePrincipal(awsfacts.PartitionChina, "ec2")}}}
	everything := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"*"}, Resource: iampolicy.Values{"*"}}}}
	if got := iampolicy.Evaluate(pass, []iampolicy.Document{everything}, &cn.Boundary); got != iampolicy.Allow {
		t.Errorf("aws-cn boundary: pass run role to EC2 = %v, want Allow", got)
	}
}

func TestBootstrapDocumentsRoundTrip(t *testing.T) {
	t.Parallel()
	b := bsNew(t, func(p *BootstrapParams) { p.ChainMode = true })
	for name, d := range map[string]iampolicy.Document{"trust": b.Trust, "permissions": b.Permissions, "boundary": b.Boundary} {
		got, err := iampolicy.Parse([]byte(d.Indent()))
		if err != nil {
			t.Errorf("%s: Parse: %v", name, err)
			continue
		}
		if diff := cmp.Diff(d, got); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", name, diff)
		}
	}
}

// The catalogue grows; the boundary must follow it, not a copy of it.
func TestBootstrapBoundaryFollowsCatalogue(t *testing.T) {
	t.Parallel()
	b := bsNew(t, nil)
	var got []string
	for _, s := range b.Boundary.Statement {
		if s.Effect == iampolicy.EffectAllow && s.Sid != SidBoundaryInstance {
			got = append(got, s.Action...)
		}
	}
	want := slices.Concat(buildpolicy.CatalogueActions(), buildpolicy.TeardownActions(), []string{iampolicy.ActionGetInstanceProfile, iampolicy.ActionPassRole})
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(slices.Compact(want), slices.Compact(got)); diff != "" {
		t.Errorf("boundary actions vs CatalogueActions() (-want +got):\n%s", diff)
	}
}

// Another issuer (GitHub Enterprise Server, an enterprise's own) and an
// OIDC provider that exists already.
func TestBootstrapIssuerAndExistingProvider(t *testing.T) {
	t.Parallel()
	const ghes = "https://ghe.example.com/_services/token"
	b, err := NewBootstrap(BootstrapParams{AccountID: bsAccount, Repository: "octo/app", Issuer: ghes + "/",
		ProviderARN: "arn:aws:iam::" + bsAccount + ":oidc-provider/ghe.example.com/_services/token"})
	if err != nil {
		t.Fatal(err)
	}
	if b.ProviderURL != ghes || !b.ExistingProvider {
		t.Errorf("provider %s, existing %v", b.ProviderURL, b.ExistingProvider)
	}
	req := iampolicy.Request{
		Principal: map[string]string{"Federated": b.ProviderARN},
		Action:    iampolicy.ActionAssumeRoleWithWebIdentity,
		Context: map[string][]string{
			"ghe.example.com/_services/token:aud": {"sts.amazonaws.com"},
			"ghe.example.com/_services/token:sub": {"repo:octo/app:pull_request"},
		},
	}
	if d := iampolicy.EvaluateTrust(req, b.Trust); d != iampolicy.Allow {
		t.Errorf("a GHES job's token: %v", d)
	}
	req.Principal = map[string]string{"Federated": "arn:aws:iam::" + bsAccount + ":oidc-provider/token.actions.githubusercontent.com"}
	if d := iampolicy.EvaluateTrust(req, b.Trust); d == iampolicy.Allow {
		t.Error("github.com's provider admitted for a GHES setup")
	}
	for _, bad := range []BootstrapParams{
		{AccountID: bsAccount, Repository: "octo/app", ProviderARN: "arn:aws:iam::" + bsAccount + ":oidc-provider/other.example.com"},
		{AccountID: bsAccount, Repository: "octo/app", ProviderARN: "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"},
		{AccountID: bsAccount, Repository: "octo/app", Issuer: "http://ghe.example.com/_services/token"},
		{AccountID: bsAccount, Repository: "octo/app", Issuer: "https://ghe.example.com/x?y=1"},
	} {
		if _, err := NewBootstrap(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	cn, err := NewBootstrap(BootstrapParams{AccountID: bsAccount, Repository: "octo/app", Partition: awsfacts.PartitionChina})
	if err != nil {
		t.Fatal(err)
	}
	if cn.Audience != ChinaAudience {
		t.Errorf("aws-cn audience = %q, want %q", cn.Audience, ChinaAudience)
	}
}
