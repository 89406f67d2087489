package iamsim_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/policylint"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

const templates = "../../testdata/templates"

// sharingGap: iam-simulate reads ec2:Add/userId, which the Service
// Authorization Reference types as a single String, as its first value
// only; ModifySnapshotAttribute adds every account of the call at once, and
// ForAllValues must hold for each of them.
const sharingGap = "iam-simulate keeps only the first value of ec2:Add/userId (typed String), so it misses the second account of a call that shares with two"

// bootstrapBoundary is the boundary of `buildrole bootstrap` for the fixture
// repository, with the account the fixtures share snapshots with.
func bootstrapBoundary(t *testing.T, mod func(*accountsetup.BootstrapParams)) *accountsetup.Bootstrap {
	t.Helper()
	p := accountsetup.BootstrapParams{AccountID: account, Repository: "octo/app", ShareAccounts: []string{shareAcct}}
	if mod != nil {
		mod(&p)
	}
	b, err := accountsetup.NewBootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant is one template's policy in one scope, with or without the
// boundary.
type variant struct {
	id, scope, policy, boundary string
	tp                          tpl
}

func (v variant) request(c *corpus, id, action, resource string, ctx map[string][]string, e expect) {
	r := newRequest(idOf(v.id, id), action, resource, ctx, e)
	r.Identity = []string{v.policy}
	r.Boundary = v.boundary
	c.add(c.forKey(r))
}

func addTemplates(t *testing.T, c *corpus, stats map[string]int) {
	entries, err := os.ReadDir(templates)
	if err != nil {
		t.Fatal(err)
	}
	boundary := c.policy("bootstrap-boundary", bootstrapBoundary(t, nil).Boundary)
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(templates, e.Name())
		switch {
		case e.IsDir():
		case strings.HasSuffix(name, ".pkr.hcl"), strings.HasSuffix(name, ".pkr.json"):
			name = strings.TrimSuffix(strings.TrimSuffix(name, ".hcl"), ".json")
			name = strings.TrimSuffix(name, ".pkr")
		case strings.HasSuffix(name, ".json"):
			name = strings.TrimSuffix(name, ".json")
		default:
			continue
		}
		tmpl, err := packertemplate.Load(path, packertemplate.Options{})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		callsPath := filepath.Join(templates, name+".calls")
		cf := callsFile{region: "us-east-1"}
		if exists(callsPath) {
			cf = readCalls(t, callsPath)
		}
		region, calls := cf.region, cf.calls
		d := buildpolicy.Derive(tmpl, awsfacts.PartitionAWS, account, region)
		if len(d.Errors) > 0 {
			if calls != nil {
				t.Errorf("%s: has a .calls file but buildrole refuses it: %v", path, d.Errors)
			}
			stats["refused"]++
			continue
		}
		if calls == nil {
			t.Errorf("%s: no %s: write the calls Packer makes for it", path, callsPath)
			continue
		}
		tp := tpl{name: name, hasProfile: usesRunProfile(tmpl)}
		for _, scope := range []string{"region", "tags"} {
			p := buildpolicy.BuildParams{
				Partition: awsfacts.PartitionAWS, AccountID: account, Regions: d.Regions, Grants: d.Grants,
				PassRoleARNs: []string{instRole}, InstanceProfileARNs: []string{profile}, RunID: runID,
			}
			if scope == "tags" {
				errs := buildpolicy.TagScopeErrors(tmpl, awsfacts.PartitionAWS)
				if cf.refusedTags && len(errs) == 0 {
					t.Errorf("%s: says `refused tags`, but scope: tags accepts it", callsPath)
				}
				if len(errs) > 0 {
					stats["refused-tags"]++
					continue
				}
				p.TagRunID = runID
			}
			doc := buildpolicy.BuildRolePolicy(p)
			if n := iampolicy.Size(doc.JSON()); n > iampolicy.MaxInlineRolePolicySize {
				t.Errorf("%s in scope %s: policy of %d characters, over IAM's %d", name, scope, n, iampolicy.MaxInlineRolePolicySize)
			}
			if f := policylint.Lint(name, []byte(doc.Indent()), policylint.LintOptions{AllowedPassRoleARNs: p.PassRoleARNs}); policylint.HasErrors(f) {
				t.Errorf("%s in scope %s: the policy fails the linter: %v", name, scope, f)
			}
			pol := c.policy(idOf(name, scope), doc)
			for _, b := range []string{"", boundary} {
				v := variant{id: idOf(name, scope, "no-boundary"), scope: scope, policy: pol, boundary: b, tp: tp}
				if b != "" {
					v.id = idOf(name, scope, "boundary")
				}
				for _, cl := range calls {
					if cl.scope != "" && cl.scope != scope {
						continue
					}
					e := allowPacker
					if cl.deny {
						e = denyAttack
					}
					id := idOf(cl.line, cl.action, cl.resource)
					v.request(c, id, cl.action, cl.resource, cl.context(tp), e)
					if !cl.deny {
						v.documentChecked(c, id, cl)
						v.attacks(c, id, cl)
					}
				}
				v.roleAttacks(c, region)
				if slices.ContainsFunc(doc.Statement, func(st iampolicy.Statement) bool { return st.Sid == buildpolicy.SidTeardown }) {
					v.teardown(c, region)
				}
			}
		}
	}
}

// usesRunProfile: some source launches with the profile buildrole creates.
func usesRunProfile(t *packertemplate.Template) bool {
	for _, s := range t.Sources {
		if v, ok := s.Options["iam_instance_profile"]; ok && slices.Contains(v.Refs, "var.iam_instance_profile") && !(v.Known && v.String == "") {
			return true
		}
	}
	return false
}

// documentChecked adds Packer's StartSession (instance and document) with
// ssm:SessionDocumentAccessCheck true: AWS does not say whether the request
// carries the key, so the call must pass with it as without it.
func (v variant) documentChecked(c *corpus, id string, cl call) {
	if cl.action != "ssm:StartSession" {
		return
	}
	ctx := cl.context(v.tp)
	ctx[buildpolicy.KeySessionDocumentAccessCheck] = []string{"true"}
	v.request(c, idOf(id, "document-check-true"), cl.action, cl.resource, ctx, allowPacker)
}

// sessionAttacks are Session Manager's: a session with the document check
// turned off, the shell document named (the key unsaid) or implied (no
// document named: with the check on every StartSession statement, Session
// Manager checks the default SSM-SessionManagerRunShell, and the request
// carries the key), and other documents. The documents are refused by
// resource binding alone, whatever the key says.
func (v variant) sessionAttacks(attack func(name, action, resource string, ctx map[string][]string, gap ...string), cl call, ctx map[string][]string) {
	off := cloneCtx(ctx)
	off[buildpolicy.KeySessionDocumentAccessCheck] = []string{"false"}
	attack("ssm-document-check-off", cl.action, cl.resource, off)
	docCtx := cloneCtx(ctx)
	for k := range docCtx {
		if strings.Contains(k, "esourceTag/") {
			delete(docCtx, k)
		}
	}
	checked := cloneCtx(docCtx)
	checked[buildpolicy.KeySessionDocumentAccessCheck] = []string{"true"}
	shell := "arn:aws:ssm:" + cl.region + ":" + account + ":document/SSM-SessionManagerRunShell"
	attack("ssm-shell-document", cl.action, shell, docCtx)
	attack("ssm-no-document", cl.action, shell, checked)
	for _, doc := range []string{"AWS-StartInteractiveCommand", "AWS-StartSSHSession", "AWS-RunShellScript"} {
		arn := "arn:aws:ssm:" + cl.region + "::document/" + doc
		attack("ssm-"+doc, cl.action, arn, docCtx)
		attack("ssm-"+doc+"-checked", cl.action, arn, checked)
	}
}

// guarded are the instance calls bound to the run's instance profile.
var guarded = []string{"ec2:CreateImage", "ec2:GetPasswordData", "ec2:ModifyInstanceAttribute", "ec2:RunInstances", "ec2:StopInstances", "ec2:TerminateInstances"}

// attacks derives from an allowed call the same call made where the build
// must not reach.
func (v variant) attacks(c *corpus, id string, cl call) {
	ctx := cl.context(v.tp)
	attack := func(name, action, resource string, ctx map[string][]string, gap ...string) {
		e := denyAttack
		if len(gap) > 0 {
			e.gap = gap[0]
		}
		v.request(c, idOf(id, "attack", name), action, resource, ctx, e)
	}
	if !strings.HasPrefix(cl.action, "iam:") {
		moved := cloneCtx(ctx)
		moved[iampolicy.KeyRequestedRegion] = []string{"ap-south-1"}
		if _, ok := moved[buildpolicy.KeyViaService]; ok {
			moved[buildpolicy.KeyViaService] = []string{"ec2.ap-south-1.amazonaws.com"}
		}
		attack("other-region", cl.action, withRegion(cl.resource, "ap-south-1"), moved)
		if r := withAccount(cl.resource, otherAcct); r != "" {
			attack("other-account", cl.action, r, ctx)
		}
	}
	if v.scope == "tags" {
		// What the run created must carry its id; what it creates, too.
		for _, key := range []string{"res", "req"} {
			if cl.ann[key] != "run" || key == "res" && cl.ann["create"] != "" {
				continue
			}
			for _, tags := range []string{"other", "none"} {
				alt := cl
				alt.ann = maps.Clone(cl.ann)
				alt.ann[key] = tags
				attack(map[string]string{"res": "resource", "req": "request"}[key]+"-tags-"+tags, cl.action, cl.resource, alt.context(v.tp))
			}
		}
	}
	kind := resourceKind(cl.resource)
	switch {
	case strings.HasPrefix(cl.action, "kms:"):
		direct := cloneCtx(ctx)
		delete(direct, buildpolicy.KeyViaService)
		attack("kms-direct", cl.action, cl.resource, direct)
		viaOther := cloneCtx(ctx)
		viaOther[buildpolicy.KeyViaService] = []string{"rds." + cl.region + ".amazonaws.com"}
		attack("kms-via-other-service", cl.action, cl.resource, viaOther)
		if cl.action == "kms:CreateGrant" {
			forMe := cloneCtx(ctx)
			forMe[buildpolicy.KeyGrantIsForAWSResource] = []string{"false"}
			attack("kms-grant-for-a-principal", cl.action, cl.resource, forMe)
		}
		otherKey := cloneCtx(ctx)
		delete(otherKey, buildpolicy.KeyResourceAliases)
		attack("kms-other-key", cl.action, "arn:aws:kms:"+cl.region+":"+account+":key/ffffffff-ffff-4fff-bfff-ffffffffffff", otherKey)
		if _, ok := ctx[buildpolicy.KeyResourceAliases]; ok {
			otherAlias := cloneCtx(ctx)
			otherAlias[buildpolicy.KeyResourceAliases] = []string{"alias/production"}
			attack("kms-other-alias", cl.action, cl.resource, otherAlias)
		}
	case cl.action == "ssm:StartSession" && kind == "instance":
		v.sessionAttacks(attack, cl, ctx)
	case cl.action == "ssm:TerminateSession":
		others := cloneCtx(ctx)
		others[buildpolicy.KeySessionOwner] = []string{"AIDAEXAMPLEADMINUSER0"}
		attack("ssm-someone-elses-session", cl.action, cl.resource, others)
	case cl.action == "ec2:ModifySnapshotAttribute" && cl.ann["share"] != "":
		stranger := cloneCtx(ctx)
		stranger[buildpolicy.KeyAddUserID] = []string{otherAcct}
		attack("share-with-another-account", cl.action, cl.resource, stranger)
		public := cloneCtx(ctx)
		public[buildpolicy.KeyAddGroup] = []string{"all"}
		attack("share-publicly", cl.action, cl.resource, public)
		both := cloneCtx(ctx)
		both[buildpolicy.KeyAddUserID] = append(slices.Clone(ctx[buildpolicy.KeyAddUserID]), otherAcct)
		attack("share-with-a-named-and-another-account", cl.action, cl.resource, both, sharingGap)
	case cl.action == "ec2-instance-connect:SendSSHPublicKey":
		root := cloneCtx(ctx)
		root[buildpolicy.KeyOSUser] = []string{"root"}
		attack("ssh-key-for-root", cl.action, cl.resource, root)
	}
	if kind == "instance" && slices.Contains(guarded, cl.action) {
		prod := cloneCtx(ctx)
		prod["ec2:InstanceProfile"] = []string{prodProf}
		attack("instance-with-production-profile", cl.action, cl.resource, prod)
	}
	if _, ok := ctx[buildpolicy.KeyInstanceType]; ok && kind == "instance" {
		big := cloneCtx(ctx)
		big[buildpolicy.KeyInstanceType] = []string{"p5.48xlarge"}
		attack("instance-type-not-the-templates", cl.action, cl.resource, big)
	}
	if _, ok := ctx[buildpolicy.KeyOwner]; ok && kind == "image" {
		golden := cloneCtx(ctx)
		golden[buildpolicy.KeyOwner] = []string{otherAcct}
		attack("image-of-another-owner", cl.action, "arn:aws:ec2:"+cl.region+"::image/ami-0golden", golden)
	}
	if cl.action == "ec2:DeleteTags" {
		for name, keys := range map[string][]string{"run-id": {"buildrole:run-id"}, "expiry": {"Purpose", "buildrole:expires-at"}, "every-tag": nil} {
			untag := cloneCtx(ctx)
			delete(untag, buildpolicy.KeyTagKeys)
			if keys != nil {
				untag[buildpolicy.KeyTagKeys] = keys
			}
			attack("remove-"+name, cl.action, cl.resource, untag)
		}
	}
	if cl.action == "ec2:RunInstances" && kind == "instance" {
		eni := cloneCtx(ctx)
		delete(eni, "ec2:InstanceProfile")
		attack("existing-network-interface", cl.action, "arn:aws:ec2:"+cl.region+":"+account+":network-interface/eni-0prod1234567890ab", eni)
	}
}

// roleAttacks are the same for every template: IAM and STS beyond passing
// the run's instance role to EC2, and services the build never uses.
func (v variant) roleAttacks(c *corpus, region string) {
	ctx := func(extra ...string) map[string][]string {
		m := map[string][]string{iampolicy.KeyRequestedRegion: {region}, "aws:userid": {userID}, "aws:PrincipalArn": {buildRole}, "aws:PrincipalAccount": {account}}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = []string{extra[i+1]}
		}
		return m
	}
	ec2 := []string{iampolicy.KeyPassedToService, "ec2.amazonaws.com"}
	admin := "arn:aws:iam::" + account + ":role/Admin"
	attack := func(name, action, resource string, ctx map[string][]string) {
		v.request(c, idOf("role", name), action, resource, ctx, denyAttack)
	}
	attack("pass-another-role", iampolicy.ActionPassRole, admin, ctx(ec2...))
	attack("pass-the-build-role", iampolicy.ActionPassRole, buildRole, ctx(ec2...))
	attack("pass-the-instance-role-to-lambda", iampolicy.ActionPassRole, instRole, ctx(iampolicy.KeyPassedToService, "lambda.amazonaws.com"))
	attack("pass-the-instance-role-to-no-service", iampolicy.ActionPassRole, instRole, ctx())
	attack("pass-a-role-of-another-account", iampolicy.ActionPassRole, "arn:aws:iam::"+otherAcct+":role/buildrole/buildrole-octo-app-pr42-3f9c2a1b-vm", ctx(ec2...))
	attack("read-another-profile", iampolicy.ActionGetInstanceProfile, "arn:aws:iam::"+account+":instance-profile/prod-admin", ctx())
	for _, a := range []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRolePermissionsBoundary", "iam:CreateServiceLinkedRole", "iam:TagRole"} {
		attack(a, a, instRole, ctx())
		attack(a+"-admin", a, admin, ctx())
	}
	attack("iam:CreateAccessKey", "iam:CreateAccessKey", "arn:aws:iam::"+account+":user/admin", ctx())
	attack("iam:CreateUser", "iam:CreateUser", "arn:aws:iam::"+account+":user/backdoor", ctx())
	attack("sts:AssumeRole", "sts:AssumeRole", admin, ctx())
	attack("s3:PutObject", "s3:PutObject", "arn:aws:s3:::company-secrets/x", ctx())
	attack("s3:GetObject", "s3:GetObject", "arn:aws:s3:::company-secrets/x", ctx())
	attack("secretsmanager:GetSecretValue", "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:"+region+":"+account+":secret:prod-db-AbCdEf", ctx())
	attack("ssm:GetParameter", "ssm:GetParameter", "arn:aws:ssm:"+region+":"+account+":parameter/prod/db-password", ctx())
	attack("ssm:SendCommand", "ssm:SendCommand", "arn:aws:ec2:"+region+":"+account+":instance/i-0prod", ctx())
	attack("ec2:DeleteVpc", "ec2:DeleteVpc", "arn:aws:ec2:"+region+":"+account+":vpc/vpc-0prod", ctx())
	attack("ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupEgress", "arn:aws:ec2:"+region+":"+account+":security-group/sg-0prod", ctx())
	attack("kms:Encrypt", "kms:Encrypt", "arn:aws:kms:"+region+":"+account+":key/11111111-2222-3333-4444-555555555555", ctx())
}

// teardown checks what `down` does as the build role after a killed build
// (internal/leftovers): find and remove the run's own instances, security
// groups, key pairs and volumes; never another run's or untagged ones
// (scope: tags; scope: region already lets Packer's calls reach any in the
// build regions), never in another region.
func (v variant) teardown(c *corpus, region string) {
	ctx := func(r, id string) map[string][]string {
		m := map[string][]string{iampolicy.KeyRequestedRegion: {r}, "aws:userid": {userID}, "aws:PrincipalArn": {buildRole}, "aws:PrincipalAccount": {account}}
		if id != "" {
			for k, val := range runTags(id) {
				m["aws:ResourceTag/"+k] = []string{val}
			}
		}
		return m
	}
	arn := func(r, res string) string { return "arn:aws:ec2:" + r + ":" + account + ":" + res }
	calls := []struct{ action, res string }{
		{"ec2:TerminateInstances", "instance/i-0killed"}, {"ec2:DeleteSecurityGroup", "security-group/sg-0killed"},
		{"ec2:DeleteKeyPair", "key-pair/key-0killed"}, {"ec2:DeleteVolume", "volume/vol-0killed"},
	}
	for _, a := range []string{"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeKeyPairs", "ec2:DescribeVolumes"} {
		v.request(c, idOf("teardown", a), a, "*", ctx(region, ""), allowPacker)
	}
	other := "eu-north-1"
	if region == other {
		other = "ap-south-1"
	}
	for _, cl := range calls {
		withProfile := ctx(region, runID)
		if cl.action == "ec2:TerminateInstances" && v.tp.hasProfile {
			withProfile[buildpolicy.KeyInstanceProfile] = []string{profile}
		}
		v.request(c, idOf("teardown", cl.action), cl.action, arn(region, cl.res), withProfile, allowPacker)
		v.request(c, idOf("teardown", cl.action, "other-region"), cl.action, arn(other, cl.res), ctx(other, runID), denyAttack)
		if v.scope == "tags" {
			v.request(c, idOf("teardown", cl.action, "other-run"), cl.action, arn(region, cl.res), ctx(region, otherRunID), denyAttack)
			v.request(c, idOf("teardown", cl.action, "untagged"), cl.action, arn(region, cl.res), ctx(region, ""), denyAttack)
		}
	}
}
