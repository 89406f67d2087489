package buildpolicy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testAccount = "123456789012"

// buildCase is one generated build policy and the names it was built for.
type buildCase struct {
	name        string
	partition   string
	regions     []string
	outside     string // a region of the same partition not in regions
	buildRole   string
	instRole    string
	profile     string
	cidrs       []string
	params      BuildParams
	doc         iampolicy.Document
	ec2SP       string
	unrelatedSP string
}

func buildCases(t *testing.T) []buildCase {
	t.Helper()
	regionSets := map[string]struct {
		sets    [][]string
		outside string
	}{
		"aws":        {[][]string{{"us-east-1"}, {"us-east-1", "eu-west-1"}}, "ap-southeast-2"},
		"aws-cn":     {[][]string{{"cn-north-1"}, {"cn-north-1", "cn-northwest-1"}}, "cn-south-9"},
		"aws-us-gov": {[][]string{{"us-gov-west-1"}, {"us-gov-west-1", "us-gov-east-1"}}, "us-gov-central-1"},
	}
	var out []buildCase
	for _, partition := range []string{"aws", "aws-cn", "aws-us-gov"} {
		rs := regionSets[partition]
		for _, regions := range rs.sets {
			for _, cidrs := range [][]string{nil, {"203.0.113.0/24", "2001:db8::/32"}} {
				arn := func(kind, name string) string {
					return fmt.Sprintf("arn:%s:iam::%s:%s/buildrole/%s", partition, testAccount, kind, name)
				}
				c := buildCase{
					name:      fmt.Sprintf("%s/%s/cidrs=%d", partition, strings.Join(regions, "+"), len(cidrs)),
					partition: partition, regions: regions, outside: rs.outside,
					buildRole:   arn("role", "buildrole-o-r-pr1-3f9c2a1b"),
					instRole:    arn("role", "buildrole-o-r-pr1-3f9c2a1b-vm"),
					profile:     arn("instance-profile", "buildrole-o-r-pr1-3f9c2a1b-vm"),
					cidrs:       cidrs,
					ec2SP:       awsfacts.ServicePrincipal(partition, "ec2"),
					unrelatedSP: awsfacts.ServicePrincipal(partition, "lambda"),
				}
				c.params = BuildParams{
					Partition: partition, AccountID: testAccount, Regions: regions,
					PassRoleARNs: []string{c.instRole}, InstanceProfileARNs: []string{c.profile},
					SourceCIDRs: cidrs,
				}
				c.doc = BuildRolePolicy(c.params)
				out = append(out, c)
			}
		}
	}
	return out
}

// context returns a request context from region and, when the case has
// CIDRs, a source address inside them.
func (c buildCase) context(region string, extra ...string) map[string][]string {
	m := map[string][]string{iampolicy.KeyRequestedRegion: {region}}
	if len(c.cidrs) > 0 {
		m[iampolicy.KeySourceIP] = []string{"203.0.113.10"}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = []string{extra[i+1]}
	}
	return m
}

func (c buildCase) eval(action, resource string, ctx map[string][]string) iampolicy.Decision {
	return iampolicy.Evaluate(iampolicy.Request{Action: action, Resource: resource, Context: ctx}, []iampolicy.Document{c.doc}, nil)
}

func TestPackerCatalogueSortedAndExplicit(t *testing.T) {
	t.Parallel()
	if !slices.IsSorted(packerEC2Actions) {
		t.Error("packerEC2Actions is not sorted")
	}
	if len(slices.Compact(slices.Clone(packerEC2Actions))) != len(packerEC2Actions) {
		t.Error("packerEC2Actions has duplicates")
	}
	for _, a := range packerEC2Actions {
		if !strings.HasPrefix(a, "ec2:") || strings.ContainsAny(a, "*?") {
			t.Errorf("catalogue action %q: want an explicit ec2: action", a)
		}
	}
	// The documented list has 33 actions; guard against silent loss.
	if got, want := len(packerEC2Actions), 33; got != want {
		t.Errorf("len(packerEC2Actions) = %d, want %d", got, want)
	}
}

func TestBuildPolicyAllowsCatalogueOnlyInRegions(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, action := range packerEC2Actions {
				for _, region := range c.regions {
					if got := c.eval(action, "*", c.context(region)); got != iampolicy.Allow {
						t.Errorf("%s in %s = %v, want Allow", action, region, got)
					}
				}
				if got := c.eval(action, "*", c.context(c.outside)); got == iampolicy.Allow {
					t.Errorf("%s in %s (outside) = %v, want deny", action, c.outside, got)
				}
				if got := c.eval(action, "*", c.context("")); got == iampolicy.Allow {
					t.Errorf("%s with empty region = %v, want deny", action, got)
				}
				noRegion := c.context(c.regions[0])
				delete(noRegion, iampolicy.KeyRequestedRegion)
				if got := c.eval(action, "*", noRegion); got == iampolicy.Allow {
					t.Errorf("%s without aws:RequestedRegion = %v, want deny", action, got)
				}
			}
			// EC2 actions outside the catalogue are not allowed.
			for _, action := range []string{"ec2:DeleteVpc", "ec2:CreateVpc", "ec2:ModifyVpcAttribute", "ec2:AuthorizeSecurityGroupEgress", "ec2:DescribeVpcs", "ec2:CreateLaunchTemplate"} {
				if got := c.eval(action, "*", c.context(c.regions[0])); got == iampolicy.Allow {
					t.Errorf("%s = Allow, want deny (not in the catalogue)", action)
				}
			}
		})
	}
}

func TestBuildPolicyPassRole(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			region := c.regions[len(c.regions)-1]
			tests := []struct {
				name     string
				resource string
				ctx      map[string][]string
				want     iampolicy.Decision
			}{
				{"instance role to ec2", c.instRole, c.context(region, iampolicy.KeyPassedToService, c.ec2SP), iampolicy.Allow},
				{"build role to ec2", c.buildRole, c.context(region, iampolicy.KeyPassedToService, c.ec2SP), iampolicy.ImplicitDeny},
				{"other role to ec2", strings.Replace(c.instRole, "-vm", "-admin", 1), c.context(region, iampolicy.KeyPassedToService, c.ec2SP), iampolicy.ImplicitDeny},
				{"admin role to ec2", fmt.Sprintf("arn:%s:iam::%s:role/Admin", c.partition, testAccount), c.context(region, iampolicy.KeyPassedToService, c.ec2SP), iampolicy.ImplicitDeny},
				{"any role", "*", c.context(region, iampolicy.KeyPassedToService, c.ec2SP), iampolicy.ImplicitDeny},
				{"instance role to lambda", c.instRole, c.context(region, iampolicy.KeyPassedToService, c.unrelatedSP), iampolicy.ImplicitDeny},
				{"instance role to ec2 look-alike", c.instRole, c.context(region, iampolicy.KeyPassedToService, "ec2.amazonaws.com.evil"), iampolicy.ImplicitDeny},
				{"instance role without PassedToService", c.instRole, c.context(region), iampolicy.ImplicitDeny},
				// Not region-bound: IAM's region for PassRole is undocumented,
				// and the EC2 call that passes it is region-bound.
				{"instance role, any region", c.instRole, c.context(c.outside, iampolicy.KeyPassedToService, c.ec2SP), iampolicy.Allow},
			}
			for _, tt := range tests {
				if got := c.eval(iampolicy.ActionPassRole, tt.resource, tt.ctx); got != tt.want {
					t.Errorf("%s: PassRole %s = %v, want %v", tt.name, tt.resource, got, tt.want)
				}
			}
		})
	}
}

func TestBuildPolicyInstanceProfile(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// IAM calls carry the IAM endpoint's region, never the build
			// region: whatever region is in the context, the profile is readable.
			for _, region := range []string{"us-east-1", c.regions[0], "cn-north-1", "us-gov-west-1"} {
				if got := c.eval(iampolicy.ActionGetInstanceProfile, c.profile, c.context(region)); got != iampolicy.Allow {
					t.Errorf("GetInstanceProfile from %s = %v, want Allow", region, got)
				}
			}
			other := strings.Replace(c.profile, "-vm", "-other", 1)
			if got := c.eval(iampolicy.ActionGetInstanceProfile, other, c.context("us-east-1")); got != iampolicy.ImplicitDeny {
				t.Errorf("GetInstanceProfile on %s = %v, want ImplicitDeny", other, got)
			}
			if got := c.eval(iampolicy.ActionGetInstanceProfile, "*", c.context("us-east-1")); got != iampolicy.ImplicitDeny {
				t.Errorf("GetInstanceProfile on * = %v, want ImplicitDeny", got)
			}
		})
	}
}

// iamAndSTSWrites are mutations the build role must never be able to make.
var iamAndSTSWrites = []string{
	"iam:AddRoleToInstanceProfile", "iam:AddUserToGroup", "iam:AttachGroupPolicy",
	"iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:CreateAccessKey",
	"iam:CreateInstanceProfile", "iam:CreateLoginProfile", "iam:CreateOpenIDConnectProvider",
	"iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:CreateRole",
	"iam:CreateServiceLinkedRole", "iam:CreateUser", "iam:DeleteInstanceProfile",
	"iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy",
	"iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
	"iam:PutUserPolicy", "iam:RemoveRoleFromInstanceProfile", "iam:SetDefaultPolicyVersion",
	"iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateLoginProfile",
	"iam:UpdateRole", "iam:UpdateOpenIDConnectProviderThumbprint",
	"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML",
	"sts:GetFederationToken", "sts:SetSourceIdentity", "sts:TagSession",
}

func TestBuildPolicyNoIAMOrSTSWrites(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resources := []string{"*", c.buildRole, c.instRole, c.profile,
				fmt.Sprintf("arn:%s:iam::%s:policy/p", c.partition, testAccount),
				fmt.Sprintf("arn:%s:iam::%s:user/u", c.partition, testAccount)}
			contexts := []map[string][]string{
				c.context(c.regions[0]),
				c.context("us-east-1", iampolicy.KeyPassedToService, c.ec2SP),
				c.context(c.regions[0], iampolicy.KeyPassedToService, c.ec2SP),
				{},
			}
			for _, action := range iamAndSTSWrites {
				for _, resource := range resources {
					for _, ctx := range contexts {
						if got := c.eval(action, resource, ctx); got == iampolicy.Allow {
							t.Errorf("%s on %s with %v = Allow, want deny", action, resource, ctx)
						}
					}
				}
			}
		})
	}
}

func TestBuildPolicyNoWildcardActions(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases(t) {
		for _, s := range c.doc.Statement {
			if len(s.NotAction) > 0 || len(s.NotResource) > 0 {
				t.Errorf("%s: statement %s uses NotAction/NotResource", c.name, s.Sid)
			}
			if (s.Sid == SidDenyOutsideSourceCIDRs || s.Sid == SidDenyExistingNetworkInterfaces) && s.Effect == iampolicy.EffectDeny {
				continue // a Deny only narrows
			}
			if s.Effect != iampolicy.EffectAllow {
				t.Errorf("%s: statement %s effect %s", c.name, s.Sid, s.Effect)
			}
			for _, a := range s.Action {
				if strings.ContainsAny(a, "*?") {
					t.Errorf("%s: statement %s has wildcard action %q", c.name, s.Sid, a)
				}
			}
			if slices.Contains(s.Action, iampolicy.ActionPassRole) && slices.Contains(s.Resource, "*") {
				t.Errorf("%s: statement %s allows iam:PassRole on *", c.name, s.Sid)
			}
		}
		// Evaluated too: an unlisted action of every service is denied.
		for _, action := range []string{"*", "ec2:*", "iam:*", "sts:*", "s3:GetObject", "kms:Decrypt", "ssm:GetParameter"} {
			if got := c.eval(action, "*", c.context(c.regions[0])); got == iampolicy.Allow {
				t.Errorf("%s: %s = Allow, want deny", c.name, action)
			}
		}
	}
}

func TestBuildPolicySourceCIDRs(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases(t) {
		if len(c.cidrs) == 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			type probe struct{ action, resource string }
			probes := []probe{{"ec2:RunInstances", "*"}, {"ec2:DescribeImages", "*"}, {iampolicy.ActionPassRole, c.instRole}, {iampolicy.ActionGetInstanceProfile, c.profile}}
			for _, p := range probes {
				for _, ip := range []string{"203.0.113.200", "2001:db8::7"} {
					ctx := c.context(c.regions[0], iampolicy.KeyPassedToService, c.ec2SP, iampolicy.KeySourceIP, ip, "aws:ViaAWSService", "false")
					if got := c.eval(p.action, p.resource, ctx); got != iampolicy.Allow {
						t.Errorf("%s from %s = %v, want Allow", p.action, ip, got)
					}
				}
				for _, ip := range []string{"198.51.100.1", "2001:db9::1"} {
					ctx := c.context(c.regions[0], iampolicy.KeyPassedToService, c.ec2SP, iampolicy.KeySourceIP, ip, "aws:ViaAWSService", "false")
					if got := c.eval(p.action, p.resource, ctx); got == iampolicy.Allow {
						t.Errorf("%s from %s (outside) = Allow, want deny", p.action, ip)
					}
				}
				ctx := c.context(c.regions[0], iampolicy.KeyPassedToService, c.ec2SP, "aws:ViaAWSService", "false")
				delete(ctx, iampolicy.KeySourceIP)
				if got := c.eval(p.action, p.resource, ctx); got == iampolicy.Allow {
					t.Errorf("%s without aws:SourceIp = Allow, want deny", p.action)
				}
				// A call an AWS service makes on the build's behalf carries
				// no source IP and is exempt.
				ctx = c.context(c.regions[0], iampolicy.KeyPassedToService, c.ec2SP, "aws:ViaAWSService", "true")
				delete(ctx, iampolicy.KeySourceIP)
				if got := c.eval(p.action, p.resource, ctx); got != iampolicy.Allow {
					t.Errorf("%s via an AWS service = %v, want Allow", p.action, got)
				}
			}
		})
	}
}

func TestBuildPolicyRoundTripAndSize(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases(t) {
		got, err := iampolicy.Parse([]byte(c.doc.JSON()))
		if err != nil {
			t.Fatalf("%s: Parse(JSON()): %v", c.name, err)
		}
		if diff := cmp.Diff(c.doc, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: round trip (-generated +parsed):\n%s", c.name, diff)
		}
		if again := BuildRolePolicy(c.params).JSON(); again != c.doc.JSON() {
			t.Errorf("%s: output is not deterministic", c.name)
		}
		if n := iampolicy.Size(c.doc.JSON()); n > iampolicy.MaxInlineRolePolicySize || n > iampolicy.MaxManagedPolicySize {
			t.Errorf("%s: size %d over the limits", c.name, n)
		}
	}
}

func TestBuildPolicyShape(t *testing.T) {
	t.Parallel()
	p := BuildParams{
		Partition: "aws", AccountID: testAccount,
		Regions:             []string{"eu-west-1", "us-east-1", "eu-west-1", ""},
		PassRoleARNs:        []string{"arn:aws:iam::123456789012:role/buildrole/r-vm"},
		InstanceProfileARNs: []string{"arn:aws:iam::123456789012:instance-profile/buildrole/r-vm"},
	}
	doc := BuildRolePolicy(p)
	var sids []string
	for _, s := range doc.Statement {
		sids = append(sids, s.Sid)
	}
	if diff := cmp.Diff([]string{SidPackerEC2Read, SidPackerEC2, SidPassInstanceRole, SidReadInstanceProfile, SidDenyExistingNetworkInterfaces}, sids); diff != "" {
		t.Errorf("Sids (-want +got):\n%s", diff)
	}
	// Build region first, duplicates dropped.
	if diff := cmp.Diff(iampolicy.Values{"eu-west-1", "us-east-1"}, doc.Statement[0].Condition[iampolicy.OpStringEquals][iampolicy.KeyRequestedRegion]); diff != "" {
		t.Errorf("regions (-want +got):\n%s", diff)
	}
	// The profile read is not region-bound.
	if c := doc.Statement[3].Condition; c != nil {
		t.Errorf("ReadInstanceProfile has condition %v, want none", c)
	}
	for _, s := range doc.Statement[:2] {
		for _, a := range s.Action {
			read := strings.HasPrefix(a, "ec2:Describe")
			if read != (s.Sid == SidPackerEC2Read) {
				t.Errorf("action %s in statement %s", a, s.Sid)
			}
		}
	}

	// Without a profile there is nothing to pass or read.
	p.PassRoleARNs, p.InstanceProfileARNs = nil, nil
	doc = BuildRolePolicy(p)
	if got := len(doc.Statement); got != 3 {
		t.Errorf("statements without profile = %d, want 3", got)
	}
	for _, s := range doc.Statement {
		if slices.Contains(s.Action, iampolicy.ActionPassRole) {
			t.Error("PassRole present without PassRoleARNs")
		}
	}
	if got := iampolicy.Evaluate(iampolicy.Request{Action: iampolicy.ActionPassRole, Resource: "*", Context: map[string][]string{iampolicy.KeyRequestedRegion: {"eu-west-1"}, iampolicy.KeyPassedToService: {"ec2.amazonaws.com"}}}, []iampolicy.Document{doc}, nil); got != iampolicy.ImplicitDeny {
		t.Errorf("PassRole without PassRoleARNs = %v, want ImplicitDeny", got)
	}
}

func TestSharedModePassesBuildRole(t *testing.T) {
	t.Parallel()
	build := "arn:aws:iam::123456789012:role/buildrole/r"
	doc := BuildRolePolicy(BuildParams{Regions: []string{"us-east-1"}, PassRoleARNs: []string{build}})
	ctx := map[string][]string{iampolicy.KeyRequestedRegion: {"us-east-1"}, iampolicy.KeyPassedToService: {"ec2.amazonaws.com"}}
	if got := iampolicy.Evaluate(iampolicy.Request{Action: "iam:passrole", Resource: build, Context: ctx}, []iampolicy.Document{doc}, nil); got != iampolicy.Allow {
		t.Errorf("PassRole of the build role in shared mode = %v, want Allow", got)
	}
}

func TestWebIdentityTrustPolicy(t *testing.T) {
	t.Parallel()
	const (
		provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
		host     = "token.actions.githubusercontent.com"
		aud      = "sts.amazonaws.com"
		sub      = "repo:octo/web:pull_request"
	)
	for _, issuer := range []string{host, "https://" + host + "/"} {
		doc := WebIdentityTrustPolicy(provider, issuer, aud, sub)
		if n := iampolicy.Size(doc.JSON()); n > iampolicy.MaxTrustPolicySize {
			t.Errorf("trust policy size %d > %d", n, iampolicy.MaxTrustPolicySize)
		}
		if _, err := iampolicy.Parse([]byte(doc.JSON())); err != nil {
			t.Errorf("Parse(JSON()): %v", err)
		}
		claims := func(a, s string) map[string][]string {
			return map[string][]string{host + ":aud": {a}, host + ":sub": {s}}
		}
		tests := []struct {
			name   string
			caller map[string]string
			action string
			ctx    map[string][]string
			want   iampolicy.Decision
		}{
			{"exact sub and aud", map[string]string{"Federated": provider}, iampolicy.ActionAssumeRoleWithWebIdentity, claims(aud, sub), iampolicy.Allow},
			{"other sub", map[string]string{"Federated": provider}, iampolicy.ActionAssumeRoleWithWebIdentity, claims(aud, "repo:octo/web:ref:refs/heads/main"), iampolicy.ImplicitDeny},
			{"sub of another repo", map[string]string{"Federated": provider}, iampolicy.ActionAssumeRoleWithWebIdentity, claims(aud, "repo:evil/web:pull_request"), iampolicy.ImplicitDeny},
			{"sub with wildcard is literal", map[string]string{"Federated": provider}, iampolicy.ActionAssumeRoleWithWebIdentity, claims(aud, "repo:octo/*"), iampolicy.ImplicitDeny},
			{"other aud", map[string]string{"Federated": provider}, iampolicy.ActionAssumeRoleWithWebIdentity, claims("sigstore", sub), iampolicy.ImplicitDeny},
			{"no claims", map[string]string{"Federated": provider}, iampolicy.ActionAssumeRoleWithWebIdentity, nil, iampolicy.ImplicitDeny},
			{"other provider", map[string]string{"Federated": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"}, iampolicy.ActionAssumeRoleWithWebIdentity, claims(aud, sub), iampolicy.ImplicitDeny},
			{"AWS principal", map[string]string{"AWS": "arn:aws:iam::123456789012:role/x"}, iampolicy.ActionAssumeRoleWithWebIdentity, claims(aud, sub), iampolicy.ImplicitDeny},
			{"plain AssumeRole", map[string]string{"Federated": provider}, iampolicy.ActionAssumeRole, claims(aud, sub), iampolicy.ImplicitDeny},
		}
		for _, tt := range tests {
			req := iampolicy.Request{Principal: tt.caller, Action: tt.action, Resource: "arn:aws:iam::123456789012:role/buildrole/r", Context: tt.ctx}
			if got := iampolicy.EvaluateTrust(req, doc); got != tt.want {
				t.Errorf("issuer %q, %s: EvaluateTrust = %v, want %v", issuer, tt.name, got, tt.want)
			}
		}
	}
}

func TestChainTrustPolicy(t *testing.T) {
	t.Parallel()
	const bootstrap = "arn:aws:iam::123456789012:role/buildrole-bootstrap"
	doc := ChainTrustPolicy(bootstrap)
	tests := []struct {
		name   string
		caller map[string]string
		action string
		want   iampolicy.Decision
	}{
		{"bootstrap role", map[string]string{"AWS": bootstrap}, iampolicy.ActionAssumeRole, iampolicy.Allow},
		{"bootstrap session", map[string]string{"AWS": "arn:aws:sts::123456789012:assumed-role/buildrole-bootstrap/gh-1"}, iampolicy.ActionAssumeRole, iampolicy.Allow},
		{"other role", map[string]string{"AWS": "arn:aws:iam::123456789012:role/other"}, iampolicy.ActionAssumeRole, iampolicy.ImplicitDeny},
		{"other account", map[string]string{"AWS": "arn:aws:iam::210987654321:role/buildrole-bootstrap"}, iampolicy.ActionAssumeRole, iampolicy.ImplicitDeny},
		{"ec2", map[string]string{"Service": "ec2.amazonaws.com"}, iampolicy.ActionAssumeRole, iampolicy.ImplicitDeny},
		{"tag session not granted", map[string]string{"AWS": bootstrap}, "sts:TagSession", iampolicy.ImplicitDeny},
	}
	for _, tt := range tests {
		req := iampolicy.Request{Principal: tt.caller, Action: tt.action, Resource: "arn:aws:iam::123456789012:role/buildrole/r"}
		if got := iampolicy.EvaluateTrust(req, doc); got != tt.want {
			t.Errorf("%s: EvaluateTrust = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestInstanceTrustPolicy(t *testing.T) {
	t.Parallel()
	for _, partition := range []string{"aws", "aws-cn", "aws-us-gov", "aws-iso"} {
		doc := InstanceTrustPolicy(partition)
		sp := awsfacts.ServicePrincipal(partition, "ec2")
		tests := []struct {
			caller map[string]string
			action string
			want   iampolicy.Decision
		}{
			{map[string]string{"Service": sp}, iampolicy.ActionAssumeRole, iampolicy.Allow},
			{map[string]string{"Service": "lambda.amazonaws.com"}, iampolicy.ActionAssumeRole, iampolicy.ImplicitDeny},
			{map[string]string{"Service": "ecs-tasks.amazonaws.com"}, iampolicy.ActionAssumeRole, iampolicy.ImplicitDeny},
			{map[string]string{"AWS": "arn:aws:iam::123456789012:role/x"}, iampolicy.ActionAssumeRole, iampolicy.ImplicitDeny},
			{map[string]string{"Service": sp}, iampolicy.ActionAssumeRoleWithWebIdentity, iampolicy.ImplicitDeny},
		}
		for _, tt := range tests {
			req := iampolicy.Request{Principal: tt.caller, Action: tt.action, Resource: "arn:aws:iam::123456789012:role/r-vm"}
			if got := iampolicy.EvaluateTrust(req, doc); got != tt.want {
				t.Errorf("%s: %v %s = %v, want %v", partition, tt.caller, tt.action, got, tt.want)
			}
		}
		if n := iampolicy.Size(doc.JSON()); n > iampolicy.MaxTrustPolicySize {
			t.Errorf("%s: size %d > %d", partition, n, iampolicy.MaxTrustPolicySize)
		}
	}
}

func TestGoldenBuildPolicy(t *testing.T) {
	t.Parallel()
	doc := BuildRolePolicy(BuildParams{
		Partition: "aws", AccountID: testAccount, Regions: []string{"us-east-1"},
		PassRoleARNs:        []string{"arn:aws:iam::123456789012:role/buildrole/r-vm"},
		InstanceProfileARNs: []string{"arn:aws:iam::123456789012:instance-profile/buildrole/r-vm"},
	})
	// A few exact fragments reviewers rely on; the properties are proved above.
	for _, want := range []string{
		`{"Sid":"PassInstanceRole","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/buildrole/r-vm","Condition":{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}}`,
		`{"Sid":"ReadInstanceProfile","Effect":"Allow","Action":"iam:GetInstanceProfile","Resource":"arn:aws:iam::123456789012:instance-profile/buildrole/r-vm"}`,
	} {
		if got := doc.JSON(); !strings.Contains(got, want) {
			t.Errorf("JSON() =\n%s\nwant it to contain\n%s", got, want)
		}
	}
}
