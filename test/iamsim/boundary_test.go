package iamsim_test

import (
	"testing"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

// addBoundary checks the boundary as the ceiling it claims to be: a run
// role whose policy allows everything (what a compromised workflow could
// write through the bootstrap session) keeps what Packer needs and gets
// nothing else. Residual capabilities (docs/ADMIN.md) are allowed on
// purpose and counted apart.
func addBoundary(t *testing.T, c *corpus) {
	everything := c.policy("allow-everything", iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"*"}, Resource: iampolicy.Values{"*"},
	}}})
	for _, bv := range []struct {
		name           string
		regions, types []string
	}{{"any-region", nil, nil}, {"us-east-1-t3", []string{"us-east-1"}, []string{"t3.*", "m5.large"}}} {
		b := bootstrapBoundary(t, func(p *accountsetup.BootstrapParams) { p.Regions, p.InstanceTypes = bv.regions, bv.types })
		pol := c.policy("boundary/"+bv.name, b.Boundary)
		const r = "us-east-1"
		ec2 := "arn:aws:ec2:" + r + ":" + account + ":"
		ctx := func(extra ...string) map[string][]string {
			m := map[string][]string{iampolicy.KeyRequestedRegion: {r}, "aws:userid": {userID}, "aws:PrincipalArn": {buildRole}, "aws:PrincipalAccount": {account}}
			for i := 0; i+1 < len(extra); i += 2 {
				m[extra[i]] = append(m[extra[i]], extra[i+1])
			}
			return m
		}
		tags := func(prefix string, tags map[string]string, extra ...string) []string {
			for k, v := range tags {
				extra = append(extra, prefix+k, v)
				if prefix == "aws:RequestTag/" {
					extra = append(extra, "aws:TagKeys", k)
				}
			}
			return extra
		}
		add := func(name, action, resource string, ctx map[string][]string, e expect) {
			req := newRequest(idOf("boundary", bv.name, name), action, resource, ctx, e)
			req.Identity, req.Boundary = []string{everything}, pol
			c.add(c.forKey(req))
		}
		allow := func(name, action, resource string, ctx map[string][]string) {
			add(name, action, resource, ctx, expect{want: true, class: "packer"})
		}
		residual := func(name, action, resource string, ctx map[string][]string) {
			add(name, action, resource, ctx, expect{want: true, class: "residual"})
		}
		deny := func(name, action, resource string, ctx map[string][]string, gap ...string) {
			e := denyAttack
			if len(gap) > 0 {
				e.gap = gap[0]
			}
			add(name, action, resource, ctx, e)
		}
		via := []string{buildpolicy.KeyViaService, "ec2." + r + ".amazonaws.com"}
		key := "arn:aws:kms:" + r + ":" + account + ":key/11111111-2222-3333-4444-555555555555"
		session := "arn:aws:ssm:" + r + ":" + account + ":session/buildrole-77-1-0abc"

		// What Packer does stays possible.
		allow("launch-with-the-run-profile", "ec2:RunInstances", ec2+"instance/*", ctx("ec2:InstanceProfile", profile, buildpolicy.KeyInstanceType, "t3.micro"))
		allow("launch-without-a-profile", "ec2:RunInstances", ec2+"instance/*", ctx(buildpolicy.KeyInstanceType, "m5.large"))
		allow("terminate-the-build-instance", "ec2:TerminateInstances", ec2+"instance/i-0build", ctx("ec2:InstanceProfile", profile))
		allow("attach-to-the-chroot-runner", "ec2:AttachVolume", ec2+"instance/i-0runner", ctx("ec2:InstanceProfile", runnerProf))
		// AWS does not say whether StartSession carries the document check
		// key: Packer's session passes with it and without it.
		allow("session-to-an-instance", "ssm:StartSession", ec2+"instance/i-0build", ctx())
		allow("session-to-an-instance-check-on", "ssm:StartSession", ec2+"instance/i-0build", ctx(buildpolicy.KeySessionDocumentAccessCheck, "true"))
		allow("port-forwarding-document", "ssm:StartSession", "arn:aws:ssm:"+r+"::document/AWS-StartPortForwardingSession", ctx())
		allow("port-forwarding-document-check-on", "ssm:StartSession", "arn:aws:ssm:"+r+"::document/AWS-StartPortForwardingSession", ctx(buildpolicy.KeySessionDocumentAccessCheck, "true"))
		allow("end-own-session", "ssm:TerminateSession", session, ctx(buildpolicy.KeySessionOwner, userID))
		allow("kms-via-ec2", "kms:Decrypt", key, ctx(via...))
		allow("kms-grant-for-ec2", "kms:CreateGrant", key, ctx(append(via, buildpolicy.KeyGrantIsForAWSResource, "true")...))
		allow("share-a-snapshot-with-a-named-account", "ec2:ModifySnapshotAttribute", "arn:aws:ec2:"+r+"::snapshot/snap-0run", ctx(buildpolicy.KeyAddUserID, shareAcct))
		allow("retag-with-the-same-run", "ec2:CreateTags", ec2+"instance/i-0build", ctx(tags("aws:ResourceTag/", runTags(runID), tags("aws:RequestTag/", runTags(runID))...)...))
		allow("tag-a-new-resource", "ec2:CreateTags", ec2+"instance/*", ctx(tags("aws:RequestTag/", runTags(runID), buildpolicy.KeyCreateAction, "RunInstances")...))
		allow("pass-a-run-role-to-ec2", iampolicy.ActionPassRole, instRole, ctx(iampolicy.KeyPassedToService, "ec2.amazonaws.com"))
		allow("read-a-run-profile", iampolicy.ActionGetInstanceProfile, profile, ctx())
		allow("instance-role-reads-build-inputs", "s3:GetObject", "arn:aws:s3:::build-inputs/app.tar.gz", ctx())
		allow("remove-run-volume-tags", "ec2:DeleteTags", ec2+"volume/vol-0build", ctx(buildpolicy.KeyTagKeys, "Purpose", buildpolicy.KeyTagKeys, "Team"))

		// What the boundary cannot bind, and docs/ADMIN.md states.
		residual("port-forwarding-to-any-instance", "ssm:StartSession", ec2+"instance/i-0prod", ctx())
		residual("stop-an-instance-without-a-profile", "ec2:StopInstances", ec2+"instance/i-0noprofile", ctx())
		residual("share-an-ami", "ec2:ModifyImageAttribute", "arn:aws:ec2:"+r+"::image/ami-0any", ctx())
		residual("copy-an-ami", "ec2:CopyImage", "arn:aws:ec2:"+r+"::image/ami-0any", ctx())
		residual("push-an-ssh-key", "ec2-instance-connect:SendSSHPublicKey", ec2+"instance/i-0prod", ctx(buildpolicy.KeyOSUser, "ec2-user"))
		// No key ties a snapshot to the run: its data can leave as an AMI
		// that is then shared (docs/ADMIN.md, the Share snapshots row).
		residual("register-an-ami-from-any-snapshot", "ec2:RegisterImage", "arn:aws:ec2:"+r+"::snapshot/snap-0prod", ctx())
		residual("launch-any-image", "ec2:RunInstances", "arn:aws:ec2:"+r+"::image/ami-0golden", ctx(buildpolicy.KeyOwner, otherAcct))
		if bv.types == nil {
			residual("launch-any-instance-type", "ec2:RunInstances", ec2+"instance/*", ctx(buildpolicy.KeyInstanceType, "u-24tb1.112xlarge"))
		}

		// What a run role must never do, whatever its policy says.
		// The shell stays closed by the document's ARN alone: named, or
		// implied when no document is named (Session Manager then checks
		// the default shell document, the key true).
		shell := "arn:aws:ssm:" + r + ":" + account + ":document/SSM-SessionManagerRunShell"
		deny("session-with-the-document-check-off", "ssm:StartSession", ec2+"instance/i-0prod", ctx(buildpolicy.KeySessionDocumentAccessCheck, "false"))
		deny("shell-document", "ssm:StartSession", shell, ctx())
		deny("no-document-the-default-shell", "ssm:StartSession", shell, ctx(buildpolicy.KeySessionDocumentAccessCheck, "true"))
		deny("interactive-command-document", "ssm:StartSession", "arn:aws:ssm:"+r+"::document/AWS-StartInteractiveCommand", ctx())
		deny("interactive-command-document-check-on", "ssm:StartSession", "arn:aws:ssm:"+r+"::document/AWS-StartInteractiveCommand", ctx(buildpolicy.KeySessionDocumentAccessCheck, "true"))
		deny("end-someone-elses-session", "ssm:TerminateSession", session, ctx(buildpolicy.KeySessionOwner, "AIDAEXAMPLEADMINUSER0"))
		deny("send-a-command", "ssm:SendCommand", ec2+"instance/i-0prod", ctx())
		deny("kms-decrypt-directly", "kms:Decrypt", key, ctx())
		deny("kms-encrypt-directly", "kms:Encrypt", key, ctx())
		deny("kms-via-another-service", "kms:Decrypt", key, ctx(buildpolicy.KeyViaService, "lambda."+r+".amazonaws.com"))
		deny("kms-grant-to-a-principal", "kms:CreateGrant", key, ctx(append(via, buildpolicy.KeyGrantIsForAWSResource, "false")...))
		deny("share-a-snapshot-with-another-account", "ec2:ModifySnapshotAttribute", "arn:aws:ec2:"+r+"::snapshot/snap-0prod", ctx(buildpolicy.KeyAddUserID, otherAcct))
		deny("share-a-snapshot-publicly", "ec2:ModifySnapshotAttribute", "arn:aws:ec2:"+r+"::snapshot/snap-0prod", ctx(buildpolicy.KeyAddGroup, "all"))
		deny("share-a-snapshot-with-a-named-and-another-account", "ec2:ModifySnapshotAttribute", "arn:aws:ec2:"+r+"::snapshot/snap-0prod", ctx(buildpolicy.KeyAddUserID, shareAcct, buildpolicy.KeyAddUserID, otherAcct), sharingGap)
		for _, a := range []string{"ec2:TerminateInstances", "ec2:StopInstances", "ec2:ModifyInstanceAttribute", "ec2:GetPasswordData", "ec2:CreateImage"} {
			deny(a+"-on-a-production-instance", a, ec2+"instance/i-0prod", ctx("ec2:InstanceProfile", prodProf))
		}
		deny("launch-with-a-production-profile", "ec2:RunInstances", ec2+"instance/*", ctx("ec2:InstanceProfile", prodProf))
		deny("rewrite-a-run-id", "ec2:CreateTags", ec2+"instance/i-0other", ctx(tags("aws:ResourceTag/", runTags(otherRunID), "aws:RequestTag/buildrole:run-id", runID, "aws:TagKeys", "buildrole:run-id")...))
		deny("push-an-expiry-out", "ec2:CreateTags", ec2+"instance/i-0other", ctx(tags("aws:ResourceTag/", runTags(otherRunID), "aws:RequestTag/buildrole:expires-at", "2099-01-01T00:00:00Z", "aws:TagKeys", "buildrole:expires-at")...))
		// Removing the run id first, then tagging: the run id never changes.
		deny("remove-a-run-id", "ec2:DeleteTags", ec2+"instance/i-0other", ctx(tags("aws:ResourceTag/", runTags(otherRunID), buildpolicy.KeyTagKeys, "buildrole:run-id")...))
		deny("remove-an-expiry", "ec2:DeleteTags", ec2+"instance/i-0other", ctx(tags("aws:ResourceTag/", runTags(otherRunID), buildpolicy.KeyTagKeys, "Name", buildpolicy.KeyTagKeys, "buildrole:expires-at")...))
		deny("remove-every-tag", "ec2:DeleteTags", ec2+"instance/i-0other", ctx(tags("aws:ResourceTag/", runTags(otherRunID))...))
		deny("pass-a-role-outside-the-path", iampolicy.ActionPassRole, "arn:aws:iam::"+account+":role/Admin", ctx(iampolicy.KeyPassedToService, "ec2.amazonaws.com"))
		deny("pass-a-run-role-to-lambda", iampolicy.ActionPassRole, instRole, ctx(iampolicy.KeyPassedToService, "lambda.amazonaws.com"))
		for _, a := range []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:CreateServiceLinkedRole", "iam:TagRole"} {
			deny(a, a, instRole, ctx())
		}
		deny("iam:CreateUser", "iam:CreateUser", "arn:aws:iam::"+account+":user/backdoor", ctx())
		deny("sts:AssumeRole", "sts:AssumeRole", "arn:aws:iam::"+account+":role/Admin", ctx())
		deny("s3:PutObject", "s3:PutObject", "arn:aws:s3:::company-secrets/x", ctx())
		deny("secretsmanager:GetSecretValue", "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:"+r+":"+account+":secret:prod-AbCdEf", ctx())
		deny("ssm:GetParameter", "ssm:GetParameter", "arn:aws:ssm:"+r+":"+account+":parameter/prod/db", ctx())
		deny("ec2:DeleteVpc", "ec2:DeleteVpc", ec2+"vpc/vpc-0prod", ctx())
		deny("ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupEgress", ec2+"security-group/sg-0prod", ctx())
		if bv.types != nil {
			deny("launch-a-type-outside-the-list", "ec2:RunInstances", ec2+"instance/*", ctx("ec2:InstanceProfile", profile, buildpolicy.KeyInstanceType, "p5.48xlarge"))
			deny("launch-a-larger-m5", "ec2:RunInstances", ec2+"instance/*", ctx(buildpolicy.KeyInstanceType, "m5.24xlarge"))
		}
		if bv.regions != nil {
			const far = "eu-west-1"
			farCtx := ctx()
			farCtx[iampolicy.KeyRequestedRegion] = []string{far}
			deny("launch-in-another-region", "ec2:RunInstances", "arn:aws:ec2:"+far+":"+account+":instance/*", farCtx)
			farVia := ctx(buildpolicy.KeyViaService, "ec2."+far+".amazonaws.com")
			farVia[iampolicy.KeyRequestedRegion] = []string{far}
			deny("kms-via-ec2-in-another-region", "kms:Decrypt", "arn:aws:kms:"+far+":"+account+":key/11111111-2222-3333-4444-555555555555", farVia)
		}
	}
}
