package iamsim_test

import (
	"testing"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

const (
	bootstrapSession = "arn:aws:sts::123456789012:assumed-role/buildrole-bootstrap/buildrole-77-1"
	boundaryARN      = "arn:aws:iam::123456789012:policy/buildrole/buildrole-boundary"
	oidcProvider     = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	oidcHost         = "token.actions.githubusercontent.com"
)

// addBootstrap checks what the bootstrap session may do to IAM (up, down
// and sweep's calls against the attacks of a compromised workflow), and
// who may assume the bootstrap and build roles.
func addBootstrap(t *testing.T, c *corpus) {
	for _, chain := range []bool{false, true} {
		b := bootstrapBoundary(t, func(p *accountsetup.BootstrapParams) { p.ChainMode = chain })
		mode := map[bool]string{false: "web-identity", true: "chain"}[chain]
		pol := c.policy("bootstrap/"+mode, b.Permissions)
		ctx := func(request, resource map[string]string, extra ...string) map[string][]string {
			m := map[string][]string{iampolicy.KeyRequestedRegion: {iamRegion}, "aws:userid": {"AROAEXAMPLEBOOTSTRAP0:buildrole-77-1"}, "aws:PrincipalAccount": {account}}
			for k, v := range request {
				m["aws:RequestTag/"+k] = []string{v}
				m["aws:TagKeys"] = append(m["aws:TagKeys"], k)
			}
			for k, v := range resource {
				m["aws:ResourceTag/"+k] = []string{v}
			}
			for i := 0; i+1 < len(extra); i += 2 {
				m[extra[i]] = []string{extra[i+1]}
			}
			return m
		}
		add := func(name, action, resource string, ctx map[string][]string, e expect) {
			r := newRequest(idOf("bootstrap", mode, name), action, resource, ctx, e)
			r.Principal, r.Identity = bootstrapSession, []string{pol}
			c.add(r)
		}
		ok := func(name, action, resource string, ctx map[string][]string) {
			add(name, action, resource, ctx, expect{want: true, class: "bootstrap"})
		}
		deny := func(name, action, resource string, ctx map[string][]string) {
			add(name, action, resource, ctx, denyAttack)
		}
		run := runTags(runID)
		withBoundary := func(request, resource map[string]string, bnd string) map[string][]string {
			return ctx(request, resource, "iam:PermissionsBoundary", bnd)
		}
		for _, role := range []string{buildRole, instRole} {
			ok("create-role/"+role, "iam:CreateRole", role, withBoundary(run, nil, boundaryARN))
			ok("tag-role-on-create/"+role, "iam:TagRole", role, ctx(run, nil))
			ok("tag-role-on-create-with-its-tags-visible/"+role, "iam:TagRole", role, ctx(run, run))
			ok("put-role-policy/"+role, "iam:PutRolePolicy", role, withBoundary(nil, run, boundaryARN))
			ok("get-role/"+role, "iam:GetRole", role, ctx(nil, run))
			// AddRoleToInstanceProfile's PassRole check: AWS does not say
			// it carries iam:PassedToService, so with it and without it.
			ok("pass-role-to-the-profile/"+role, iampolicy.ActionPassRole, role, ctx(nil, nil))
			ok("pass-role-to-the-profile-for-ec2/"+role, iampolicy.ActionPassRole, role, ctx(nil, nil, iampolicy.KeyPassedToService, "ec2.amazonaws.com"))
			ok("delete-role-policy/"+role, "iam:DeleteRolePolicy", role, withBoundary(nil, run, boundaryARN))
			ok("list-role-policies/"+role, "iam:ListRolePolicies", role, ctx(nil, run))
			ok("list-attached-role-policies/"+role, "iam:ListAttachedRolePolicies", role, ctx(nil, run))
			ok("list-profiles-of-role/"+role, "iam:ListInstanceProfilesForRole", role, ctx(nil, run))
			ok("list-role-tags/"+role, "iam:ListRoleTags", role, ctx(nil, run))
			ok("delete-role/"+role, "iam:DeleteRole", role, ctx(nil, run))
			if chain {
				ok("assume-run-role/"+role, "sts:AssumeRole", role, ctx(nil, run))
			}
		}
		ok("create-profile", "iam:CreateInstanceProfile", profile, ctx(run, nil))
		ok("tag-profile-on-create", "iam:TagInstanceProfile", profile, ctx(run, nil))
		ok("add-role-to-profile", "iam:AddRoleToInstanceProfile", profile, ctx(nil, run))
		ok("get-profile", "iam:GetInstanceProfile", profile, ctx(nil, run))
		ok("remove-role-from-profile", "iam:RemoveRoleFromInstanceProfile", profile, ctx(nil, run))
		ok("delete-profile", "iam:DeleteInstanceProfile", profile, ctx(nil, run))
		ok("list-profile-tags", "iam:ListInstanceProfileTags", profile, ctx(nil, run))
		// Sweep's EC2 leftovers (internal/leftovers): found with Describe,
		// removed only when they carry the managed tag.
		ec2Ctx := func(resource map[string]string) map[string][]string {
			m := ctx(nil, resource)
			m[iampolicy.KeyRequestedRegion] = []string{"us-east-1"}
			return m
		}
		ec2ARN := func(res string) string { return "arn:aws:ec2:us-east-1:" + account + ":" + res }
		for _, a := range []string{"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeKeyPairs", "ec2:DescribeVolumes"} {
			ok("sweep-ec2/"+a, a, "*", ec2Ctx(nil))
		}
		// A run instance carries its run's profile; the Terminate grant asks
		// for it, since a build role may tag any instance in its region.
		withProfile := func(m map[string][]string) map[string][]string {
			if m["aws:ResourceTag/buildrole:run-id"] != nil {
				m["ec2:InstanceProfile"] = []string{profile}
			}
			return m
		}
		for _, cl := range []struct{ action, res string }{
			{"ec2:TerminateInstances", "instance/i-0killed"}, {"ec2:DeleteSecurityGroup", "security-group/sg-0killed"},
			{"ec2:DeleteKeyPair", "key-pair/key-0killed"}, {"ec2:DeleteVolume", "volume/vol-0killed"},
		} {
			ec2Ctx, base := ec2Ctx, ec2Ctx
			if cl.action == "ec2:TerminateInstances" {
				ec2Ctx = func(resource map[string]string) map[string][]string { return withProfile(base(resource)) }
			}
			ok("sweep-ec2/"+cl.action, cl.action, ec2ARN(cl.res), ec2Ctx(run))
			deny("sweep-ec2-untagged/"+cl.action, cl.action, ec2ARN(cl.res), ec2Ctx(nil))
			deny("sweep-ec2-unmanaged/"+cl.action, cl.action, ec2ARN(cl.res), ec2Ctx(map[string]string{"buildrole:managed": "false", "buildrole:run-id": runID}))
			deny("sweep-ec2-another-account/"+cl.action, cl.action, "arn:aws:ec2:us-east-1:"+otherAcct+":"+cl.res, ec2Ctx(run))
		}
		// A build role tagged another's instance managed, with its run id
		// and an expiry past: without the run's profile, never terminated.
		for name, p := range map[string]string{
			"none": "", "production": "arn:aws:iam::" + account + ":instance-profile/production",
			"another-path": "arn:aws:iam::" + account + ":instance-profile/admin/buildrole-octo-app-pr42-3f9c2a1b-vm",
		} {
			m := ec2Ctx(map[string]string{"buildrole:managed": "true", "buildrole:run-id": runID, "buildrole:expires-at": "2000-01-01T00:00:00Z"})
			if p != "" {
				m["ec2:InstanceProfile"] = []string{p}
			}
			deny("sweep-ec2-foreign-instance-tagged-by-a-build-role/profile-"+name, "ec2:TerminateInstances", ec2ARN("instance/i-0production"), m)
		}
		deny("sweep-ec2-deregister-an-image", "ec2:DeregisterImage", "arn:aws:ec2:us-east-1::image/ami-0product", ec2Ctx(run))
		deny("sweep-ec2-delete-a-snapshot", "ec2:DeleteSnapshot", "arn:aws:ec2:us-east-1::snapshot/snap-0product", ec2Ctx(run))
		deny("sweep-ec2-delete-a-network-interface", "ec2:DeleteNetworkInterface", ec2ARN("network-interface/eni-0"), ec2Ctx(run))
		deny("sweep-ec2-stop-an-instance", "ec2:StopInstances", ec2ARN("instance/i-0killed"), ec2Ctx(run))
		ok("list-roles", "iam:ListRoles", "*", ctx(nil, nil))
		ok("list-profiles", "iam:ListInstanceProfiles", "*", ctx(nil, nil))

		admin := "arn:aws:iam::" + account + ":role/Admin"
		later := map[string]string{"buildrole:managed": "true", "buildrole:run-id": runID, "buildrole:expires-at": "2099-01-01T00:00:00Z"}
		moved := map[string]string{"buildrole:managed": "true", "buildrole:run-id": otherRunID, "buildrole:expires-at": run["buildrole:expires-at"]}
		deny("pass-a-run-role-to-lambda", iampolicy.ActionPassRole, instRole, ctx(nil, nil, iampolicy.KeyPassedToService, "lambda.amazonaws.com"))
		deny("pass-another-role", iampolicy.ActionPassRole, admin, ctx(nil, nil, iampolicy.KeyPassedToService, "ec2.amazonaws.com"))
		deny("push-a-role-expiry-out", "iam:TagRole", buildRole, ctx(later, run))
		deny("push-a-profile-expiry-out", "iam:TagInstanceProfile", profile, ctx(later, run))
		deny("move-a-role-into-another-run", "iam:TagRole", buildRole, ctx(moved, run))
		deny("tag-without-a-run-identity", "iam:TagRole", buildRole, ctx(map[string]string{"buildrole:managed": "true"}, nil))
		deny("claim-a-role-tagged-unmanaged", "iam:TagRole", buildRole, ctx(run, map[string]string{"buildrole:managed": "false"}))
		deny("create-a-role-without-the-boundary", "iam:CreateRole", buildRole, ctx(run, nil))
		deny("create-a-role-with-another-boundary", "iam:CreateRole", buildRole, withBoundary(run, nil, "arn:aws:iam::aws:policy/AdministratorAccess"))
		deny("create-a-role-outside-the-path", "iam:CreateRole", "arn:aws:iam::"+account+":role/buildrole-x", withBoundary(run, nil, boundaryARN))
		deny("create-an-untagged-role", "iam:CreateRole", buildRole, withBoundary(nil, nil, boundaryARN))
		deny("put-a-policy-on-a-role-without-the-boundary", "iam:PutRolePolicy", buildRole, ctx(nil, run))
		deny("put-a-policy-on-an-unmanaged-role", "iam:PutRolePolicy", buildRole, withBoundary(nil, map[string]string{"buildrole:managed": "false"}, boundaryARN))
		deny("delete-an-unmanaged-role", "iam:DeleteRole", buildRole, ctx(nil, map[string]string{"team": "platform"}))
		deny("delete-a-role-outside-the-path", "iam:DeleteRole", admin, ctx(nil, run))
		deny("change-a-trust-policy", "iam:UpdateAssumeRolePolicy", buildRole, ctx(nil, run))
		deny("remove-a-boundary", "iam:DeleteRolePermissionsBoundary", buildRole, ctx(nil, run))
		deny("replace-the-boundary-policy", "iam:CreatePolicyVersion", boundaryARN, ctx(nil, nil))
		deny("attach-a-managed-policy", "iam:AttachRolePolicy", buildRole, withBoundary(nil, run, boundaryARN))
		deny("create-a-user", "iam:CreateUser", "arn:aws:iam::"+account+":user/buildrole/x", ctx(run, nil))
		deny("create-an-access-key", "iam:CreateAccessKey", "arn:aws:iam::"+account+":user/admin", ctx(nil, nil))
		deny("assume-another-role", "sts:AssumeRole", admin, ctx(nil, nil))
		deny("launch-an-instance", "ec2:RunInstances", "arn:aws:ec2:us-east-1:"+account+":instance/*", ctx(nil, nil))
		if !chain {
			deny("assume-a-run-role-without-chain-mode", "sts:AssumeRole", buildRole, ctx(nil, run))
		}
		// IAM has no key that tells a role being created from an existing
		// one: an untagged role under the path and prefix can be claimed
		// (docs/ADMIN.md, threat model).
		add("claim-an-untagged-role-under-the-path", "iam:TagRole", buildRole, ctx(run, nil), expect{want: true, class: "residual"})
	}
	addTrust(t, c)
}

// addTrust checks who may assume the bootstrap role and a build role. The
// validating entry point rejects the GitHub OIDC keys, so the core engine
// decides.
func addTrust(t *testing.T, c *corpus) {
	b := bootstrapBoundary(t, nil)
	roles := map[string]iampolicy.Document{
		"bootstrap": b.Trust,
		"build":     buildpolicy.WebIdentityTrustPolicy(oidcProvider, oidcHost, "sts.amazonaws.com", "repo:octo/app:pull_request"),
	}
	for name, doc := range roles {
		pol := c.policy("trust/"+name, doc)
		for _, tc := range []struct {
			name, provider, aud, sub string
			want                     bool
		}{
			{"pull-request", oidcProvider, "sts.amazonaws.com", "repo:octo/app:pull_request", true},
			{"another-repository", oidcProvider, "sts.amazonaws.com", "repo:octo/other:pull_request", false},
			{"same-name-another-owner", oidcProvider, "sts.amazonaws.com", "repo:evil/app:pull_request", false},
			{"a-tag", oidcProvider, "sts.amazonaws.com", "repo:octo/app:ref:refs/tags/v1", false},
			{"another-audience", oidcProvider, "sigstore", "repo:octo/app:pull_request", false},
			{"another-provider", "arn:aws:iam::" + account + ":oidc-provider/gitlab.com", "sts.amazonaws.com", "repo:octo/app:pull_request", false},
		} {
			e := denyAttack
			if tc.want {
				e = expect{want: true, class: "trust"}
			}
			r := newRequest(idOf("trust", name, tc.name), iampolicy.ActionAssumeRoleWithWebIdentity, "arn:aws:iam::"+account+":role/buildrole-bootstrap",
				map[string][]string{oidcHost + ":aud": {tc.aud}, oidcHost + ":sub": {tc.sub}}, e)
			r.Engine, r.Principal, r.ResourcePolicy, r.trust = "core", tc.provider, pol, true
			c.add(r)
		}
	}
}
