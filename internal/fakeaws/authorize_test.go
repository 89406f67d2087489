package fakeaws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// A session is held to its role's policies and boundary, as IAM holds it;
// the admin key is not.
func TestSessionsAreAuthorizedLikeIAM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	boundary := s.AddManagedPolicy("ceiling", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	s.AddRole("ops", "/", rootTrust)
	s.PutRolePolicyDirect("ops", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:CreateRole","Resource":"arn:aws:iam::123456789012:role/ci/*",
		 "Condition":{"StringEquals":{"iam:PermissionsBoundary":"`+boundary+`","aws:RequestTag/team":"ci"}}},
		{"Effect":"Allow","Action":"iam:TagRole","Resource":"arn:aws:iam::123456789012:role/ci/*","Condition":{"StringEquals":{"aws:RequestTag/team":"ci"}}},
		{"Effect":"Allow","Action":["iam:GetRole","iam:DeleteRole","iam:CreateInstanceProfile","iam:AddRoleToInstanceProfile"],"Resource":"*","Condition":{"StringEqualsIfExists":{"aws:ResourceTag/team":"ci"}}},
		{"Effect":"Deny","Action":"iam:DeleteRole","Resource":"arn:aws:iam::123456789012:role/ci/keep"}]}`)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/ops"), RoleSessionName: aws.String("test")}))(t)
	ops := iam.NewFromConfig(awsConfig(s, sessionCreds(out.Credentials)))
	create := func(name string, tags []types.Tag, withBoundary bool) error {
		in := &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String("/ci/"), AssumeRolePolicyDocument: aws.String(ec2Trust), Tags: tags}
		if withBoundary {
			in.PermissionsBoundary = aws.String(boundary)
		}
		_, err := ops.CreateRole(ctx, in)
		return err
	}
	team := []types.Tag{{Key: aws.String("team"), Value: aws.String("ci")}}
	must(struct{}{}, create("ok", team, true))(t)
	must(struct{}{}, create("keep", team, true))(t)
	err := create("no-boundary", team, false)
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/ci/no-boundary because no identity-based policy allows") {
		t.Errorf("message: %v", err)
	}
	wantCode(t, create("no-tag", nil, true), "AccessDenied")
	// Create-time tags are authorized as iam:TagRole too.
	s.PutRolePolicyDirect("ops", "deny-tag", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:TagRole","Resource":"*"}]}`)
	err = create("tagged", team, true)
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "iam:TagRole") || !strings.Contains(err.Error(), "explicit deny") {
		t.Errorf("message: %v", err)
	}
	// Explicit deny wins.
	_, err = ops.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("keep")})
	wantCode(t, err, "AccessDenied")
	must(ops.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("ok")}))(t)
	// A role IAM does not know is authorized by name alone, without its
	// path: a policy bound to the path refuses it.
	s.PutRolePolicyDirect("ops", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::123456789012:role/ci/*"}]}`)
	_, err = ops.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ok")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "on resource: role ok ") {
		t.Errorf("a role that does not exist is named %v", err)
	}
	must(ops.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("keep")}))(t)
	// The admin key is the account's administrator.
	must(iamClient(s).DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("ops"), PolicyName: aws.String("p")}))(t)
}

// A boundary caps a session's policies; AddRoleToInstanceProfile needs
// iam:PassRole on the role (a check that names no service).
func TestBoundaryAndPassRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	admin := iamClient(s)
	boundary := s.AddManagedPolicy("ceiling", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateInstanceProfile","iam:AddRoleToInstanceProfile","iam:RemoveRoleFromInstanceProfile","iam:PassRole"],"Resource":"*"}]}`)
	must(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("capped"), AssumeRolePolicyDocument: aws.String(rootTrust), PermissionsBoundary: aws.String(boundary)}))(t)
	must(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("vm"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	s.PutRolePolicyDirect("capped", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*"],"Resource":"*"},
		{"Effect":"Deny","Action":"iam:PassRole","Resource":"*","Condition":{"StringNotEquals":{"iam:PassedToService":"ec2.amazonaws.com"},"Null":{"iam:PassedToService":"false"}}}]}`)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/capped"), RoleSessionName: aws.String("test")}))(t)
	capped := iam.NewFromConfig(awsConfig(s, sessionCreds(out.Credentials)))
	_, err := capped.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("vm")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "because no permissions boundary allows the iam:DeleteRole action") {
		t.Errorf("message: %v", err)
	}
	must(capped.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("vm")}))(t)
	must(capped.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("vm"), RoleName: aws.String("vm")}))(t)
	s.PutRolePolicyDirect("capped", "no-pass", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/vm"}]}`)
	must(capped.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("vm"), RoleName: aws.String("vm")}))(t)
	_, err = capped.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("vm"), RoleName: aws.String("vm")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "iam:PassRole") {
		t.Errorf("message: %v", err)
	}
}
