package fakeaws_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

func TestRoleLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	s.AddManagedPolicy("boundary", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`)
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(ec2Trust),
		PermissionsBoundary: aws.String("arn:aws:iam::123456789012:policy/missing")}); err == nil {
		t.Error("a boundary that does not exist was accepted")
	} else {
		wantCode(t, err, "NoSuchEntity")
	}

	created := must(c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("build-1"),
		Path:                     aws.String("/buildrole/"),
		AssumeRolePolicyDocument: aws.String(ec2Trust),
		Description:              aws.String("packer build"),
		MaxSessionDuration:       aws.Int32(7200),
		PermissionsBoundary:      aws.String("arn:aws:iam::123456789012:policy/boundary"),
		Tags:                     []types.Tag{{Key: aws.String("buildrole:managed"), Value: aws.String("true")}},
	}))(t)
	r := created.Role
	if got, want := *r.Arn, "arn:aws:iam::123456789012:role/buildrole/build-1"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if id := *r.RoleId; !strings.HasPrefix(id, "AROA") || len(id) != 21 {
		t.Errorf("RoleId = %q, want AROA + 17 characters", id)
	}

	got := must(c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("BUILD-1")}))(t).Role
	doc, err := url.QueryUnescape(*got.AssumeRolePolicyDocument)
	if err != nil || doc != ec2Trust {
		t.Errorf("AssumeRolePolicyDocument decodes to %q (%v), want %q", doc, err, ec2Trust)
	}
	if *got.AssumeRolePolicyDocument == ec2Trust {
		t.Error("AssumeRolePolicyDocument is not URL-encoded as IAM returns it")
	}
	if *got.Description != "packer build" || *got.MaxSessionDuration != 7200 || *got.Path != "/buildrole/" ||
		*got.PermissionsBoundary.PermissionsBoundaryArn != "arn:aws:iam::123456789012:policy/boundary" {
		t.Errorf("GetRole = %+v", got)
	}
	if len(got.Tags) != 1 || *got.Tags[0].Key != "buildrole:managed" {
		t.Errorf("Tags = %+v", got.Tags)
	}

	must(c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("build-1"), Tags: []types.Tag{
		{Key: aws.String("BUILDROLE:MANAGED"), Value: aws.String("yes")}, {Key: aws.String("b"), Value: aws.String("2")},
	}}))(t)
	tags := must(c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("build-1")}))(t).Tags
	if diff := cmp.Diff([]string{"BUILDROLE:MANAGED=yes", "b=2"}, tagStrings(tags)); diff != "" {
		t.Errorf("tags after TagRole (-want +got):\n%s", diff)
	}

	must(c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("build-1"), PolicyDocument: aws.String(rootTrust)}))(t)
	if snap := s.Snapshot(); snap.Roles[0].AssumeRolePolicy != rootTrust {
		t.Errorf("trust after update = %q", snap.Roles[0].AssumeRolePolicy)
	}

	must(c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("build-1")}))(t)
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("build-1")})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("GetRole after delete: %v, want NoSuchEntity", err)
	}
	// Deleted names can be reused.
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("build-1"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
}

func tagStrings(tags []types.Tag) []string {
	var out []string
	for _, t := range tags {
		out = append(out, *t.Key+"="+*t.Value)
	}
	return out
}

func TestCreateRoleErrors(t *testing.T) {
	t.Parallel()
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	tag := func(k, v string) []types.Tag { return []types.Tag{{Key: aws.String(k), Value: aws.String(v)}} }
	bigTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Sid":"` +
		strings.Repeat("a", 2000) + `"}]}`
	okTrustSpaces := strings.Replace(ec2Trust, ",", ","+strings.Repeat(" ", 3000), 1) // whitespace does not count

	tests := []struct {
		name string
		in   iam.CreateRoleInput
		code string // "" = success
	}{
		{"ok", iam.CreateRoleInput{RoleName: aws.String("ok")}, ""},
		{"whitespace not counted", iam.CreateRoleInput{RoleName: aws.String("spaces"), AssumeRolePolicyDocument: aws.String(okTrustSpaces)}, ""},
		{"duplicate other case", iam.CreateRoleInput{RoleName: aws.String("EXISTING")}, "EntityAlreadyExists"},
		{"name too long", iam.CreateRoleInput{RoleName: aws.String(strings.Repeat("a", 65))}, "ValidationError"},
		{"name bad characters", iam.CreateRoleInput{RoleName: aws.String("a/b")}, "ValidationError"},
		{"path without slashes", iam.CreateRoleInput{RoleName: aws.String("p1"), Path: aws.String("buildrole")}, "ValidationError"},
		{"path too long", iam.CreateRoleInput{RoleName: aws.String("p2"), Path: aws.String("/" + strings.Repeat("a", 512) + "/")}, "ValidationError"},
		{"session too short", iam.CreateRoleInput{RoleName: aws.String("m1"), MaxSessionDuration: aws.Int32(3599)}, "ValidationError"},
		{"session too long", iam.CreateRoleInput{RoleName: aws.String("m2"), MaxSessionDuration: aws.Int32(43201)}, "ValidationError"},
		{"too many tags", iam.CreateRoleInput{RoleName: aws.String("t1"), Tags: manyTags}, "ValidationError"},
		{"tag key too long", iam.CreateRoleInput{RoleName: aws.String("t2"), Tags: tag(strings.Repeat("k", 129), "v")}, "ValidationError"},
		{"tag value too long", iam.CreateRoleInput{RoleName: aws.String("t3"), Tags: tag("k", strings.Repeat("v", 257))}, "ValidationError"},
		{"tag bad character", iam.CreateRoleInput{RoleName: aws.String("t4"), Tags: tag("k", "a,b")}, "ValidationError"},
		{"tag aws prefix", iam.CreateRoleInput{RoleName: aws.String("t5"), Tags: tag("AWS:x", "v")}, "InvalidInput"},
		{"tag duplicate keys", iam.CreateRoleInput{RoleName: aws.String("t6"), Tags: append(tag("k", "1"), tag("K", "2")...)}, "InvalidInput"},
		{"boundary not an ARN", iam.CreateRoleInput{RoleName: aws.String("b1"), PermissionsBoundary: aws.String("boundary")}, "InvalidInput"},
		{"trust bad JSON", iam.CreateRoleInput{RoleName: aws.String("j1"), AssumeRolePolicyDocument: aws.String(`{"Version":`)}, "MalformedPolicyDocument"},
		{"trust no Version", iam.CreateRoleInput{RoleName: aws.String("j2"), AssumeRolePolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`)}, "MalformedPolicyDocument"},
		{"trust no Statement", iam.CreateRoleInput{RoleName: aws.String("j3"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17"}`)}, "MalformedPolicyDocument"},
		{"trust with Resource", iam.CreateRoleInput{RoleName: aws.String("j4"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}`)}, "MalformedPolicyDocument"},
		{"trust unknown role principal", iam.CreateRoleInput{RoleName: aws.String("j5"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/nope"},"Action":"sts:AssumeRole"}}`)}, "MalformedPolicyDocument"},
		{"trust too large", iam.CreateRoleInput{RoleName: aws.String("j6"), AssumeRolePolicyDocument: aws.String(bigTrust)}, "LimitExceeded"},
	}
	s := startServer(t)
	c := iamClient(s)
	ctx := context.Background()
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("existing"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in
			if in.AssumeRolePolicyDocument == nil {
				in.AssumeRolePolicyDocument = aws.String(ec2Trust)
			}
			_, err := c.CreateRole(ctx, &in)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code)
			if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: in.RoleName}); tt.code != "EntityAlreadyExists" && err == nil {
				t.Error("failed CreateRole left a role behind")
			}
		})
	}
	// Typed errors for the codes the SDK models.
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Existing"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	var eae *types.EntityAlreadyExistsException
	if !errors.As(err, &eae) {
		t.Errorf("duplicate: %v, want *types.EntityAlreadyExistsException", err)
	}
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String("nope")})
	var mpd *types.MalformedPolicyDocumentException
	if !errors.As(err, &mpd) {
		t.Errorf("bad trust: %v, want *types.MalformedPolicyDocumentException", err)
	}
}

func TestValidationMessageReadsLikeAWS(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	_, err := iamClient(s).CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String(strings.Repeat("r", 65)), AssumeRolePolicyDocument: aws.String(ec2Trust),
	})
	want := "1 validation error detected: Value '" + strings.Repeat("r", 65) +
		"' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want message %q", err, want)
	}
}

func TestDeleteConflictsAndCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	role, prof := aws.String("r"), aws.String("p")
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: role, AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: prof}))(t)
	must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("inline"), PolicyDocument: aws.String(s3Policy)}))(t)
	must(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}))(t)
	must(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{RoleName: role, InstanceProfileName: prof}))(t)

	steps := []struct {
		name     string
		blocked  func() error
		unblock  func() error
		wantText string
	}{
		{"profile holds role",
			func() error {
				_, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: prof})
				return err
			},
			func() error {
				_, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: prof, RoleName: role})
				return err
			}, "must remove roles from instance profile first"},
		{"role has inline policy",
			func() error { _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role}); return err },
			func() error {
				_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String("INLINE")})
				return err
			}, "must delete policies first"},
		{"role has attached policy",
			func() error { _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role}); return err },
			func() error {
				_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
				return err
			}, "must detach all policies first"},
	}
	// Each blocker is removed in turn; the next delete then hits the next one.
	for _, st := range steps {
		err := st.blocked()
		var dc *types.DeleteConflictException
		if !errors.As(err, &dc) {
			t.Fatalf("%s: %v, want *types.DeleteConflictException", st.name, err)
		}
		if !strings.Contains(dc.ErrorMessage(), st.wantText) {
			t.Errorf("%s: message %q, want it to contain %q", st.name, dc.ErrorMessage(), st.wantText)
		}
		if err := st.unblock(); err != nil {
			t.Fatalf("%s: unblock: %v", st.name, err)
		}
	}
	must(c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role}))(t)
	must(c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: prof}))(t)
	if snap := s.Snapshot(); !snap.Empty() {
		t.Errorf("snapshot not empty after cleanup: %+v", snap)
	}
}

func TestRoleInProfileBlocksDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")}))(t)
	must(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{RoleName: aws.String("r"), InstanceProfileName: aws.String("p")}))(t)
	_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	var dc *types.DeleteConflictException
	if !errors.As(err, &dc) || !strings.Contains(dc.ErrorMessage(), "instance profile") {
		t.Fatalf("DeleteRole of a role in a profile: %v, want DeleteConflict", err)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	for _, n := range []string{"a", "b"} {
		must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	}
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")}))(t)
	must(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{RoleName: aws.String("a"), InstanceProfileName: aws.String("p")}))(t)

	bigPolicy := func(n int) string { // n non-whitespace characters, plus whitespace
		head := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`
		tail := `"}]}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail + strings.Repeat(" \n", 500)
	}
	attach := func(i int) error {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("b"), PolicyArn: aws.String(fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i))})
		return err
	}
	for i := range 10 {
		if err := attach(i); err != nil {
			t.Fatal(err)
		}
	}
	manyTags := make([]types.Tag, 50)
	for i := range manyTags {
		manyTags[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	must(c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("b"), Tags: manyTags}))(t)

	tests := []struct {
		name string
		call func() error
		want bool // true = LimitExceeded, false = success
	}{
		{"inline policy at 10240", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("a"), PolicyName: aws.String("p"), PolicyDocument: aws.String(bigPolicy(10240))})
			return err
		}, false},
		{"inline policy at 10241", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("b"), PolicyName: aws.String("p"), PolicyDocument: aws.String(bigPolicy(10241))})
			return err
		}, true},
		{"second role in profile", func() error {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{RoleName: aws.String("b"), InstanceProfileName: aws.String("p")})
			return err
		}, true},
		{"eleventh managed policy", func() error { return attach(10) }, true},
		{"fifty-first tag", func() error {
			_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("b"), Tags: []types.Tag{{Key: aws.String("one-more"), Value: aws.String("v")}}})
			return err
		}, true},
	}
	for _, tt := range tests {
		err := tt.call()
		if !tt.want {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var le *types.LimitExceededException
		if !errors.As(err, &le) {
			t.Errorf("%s: %v, want *types.LimitExceededException", tt.name, err)
		}
	}
}

func TestNoSuchEntity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")}))(t)
	missing := aws.String("missing")
	tests := map[string]func() error{
		"GetRole":    func() error { _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: missing}); return err },
		"DeleteRole": func() error { _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: missing}); return err },
		"GetInstanceProfile": func() error {
			_, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: missing})
			return err
		},
		"DeleteInstanceProfile": func() error {
			_, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: missing})
			return err
		},
		"GetRolePolicy": func() error {
			_, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: missing})
			return err
		},
		"DeleteRolePolicy": func() error {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("r"), PolicyName: missing})
			return err
		},
		"PutRolePolicy": func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: missing, PolicyName: aws.String("p"), PolicyDocument: aws.String(s3Policy)})
			return err
		},
		"DetachRolePolicy": func() error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("arn:aws:iam::aws:policy/X")})
			return err
		},
		"AddRoleToInstanceProfile": func() error {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{RoleName: missing, InstanceProfileName: aws.String("p")})
			return err
		},
		"RemoveRoleFromInstanceProfile": func() error {
			_, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{RoleName: aws.String("r"), InstanceProfileName: aws.String("p")})
			return err
		},
		"ListInstanceProfilesForRole": func() error {
			_, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: missing})
			return err
		},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var nse *types.NoSuchEntityException
			if err := call(); !errors.As(err, &nse) {
				t.Fatalf("err = %v, want *types.NoSuchEntityException", err)
			}
		})
	}
}

func TestPolicyDocuments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("s3"), PolicyDocument: aws.String(s3Policy)}))(t)
	got := must(c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("s3")}))(t)
	if doc, _ := url.QueryUnescape(*got.PolicyDocument); doc != s3Policy || *got.PolicyDocument == s3Policy {
		t.Errorf("PolicyDocument = %q, want URL-encoded %q", *got.PolicyDocument, s3Policy)
	}
	bad := map[string]string{
		"principal":     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`,
		"no resource":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`,
		"no action":     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`,
		"bad effect":    `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}`,
		"bad version":   `{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
		"trailing junk": s3Policy + `}`,
	}
	for name, doc := range bad {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(doc)})
		var mpd *types.MalformedPolicyDocumentException
		if !errors.As(err, &mpd) {
			t.Errorf("%s: %v, want MalformedPolicyDocument", name, err)
		}
	}
}

func TestPaginators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	const n = 23
	for i := range n {
		name := aws.String(fmt.Sprintf("role-%02d", i))
		must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: name, Path: aws.String("/paged/"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
		must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: name, Path: aws.String("/paged/")}))(t)
		must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("role-00"), PolicyName: aws.String(fmt.Sprintf("p%02d", i)), PolicyDocument: aws.String(s3Policy)}))(t)
	}
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("outside"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("outside")}))(t)

	var roles, profiles, policies []string
	pages := 0
	rp := iam.NewListRolesPaginator(c, &iam.ListRolesInput{PathPrefix: aws.String("/paged/"), MaxItems: aws.Int32(5)})
	for rp.HasMorePages() {
		out := must(rp.NextPage(ctx))(t)
		pages++
		for _, r := range out.Roles {
			roles = append(roles, *r.RoleName)
		}
	}
	if pages != 5 {
		t.Errorf("ListRoles pages = %d, want 5", pages)
	}
	pp := iam.NewListInstanceProfilesPaginator(c, &iam.ListInstanceProfilesInput{PathPrefix: aws.String("/paged/"), MaxItems: aws.Int32(7)})
	for pp.HasMorePages() {
		for _, p := range must(pp.NextPage(ctx))(t).InstanceProfiles {
			profiles = append(profiles, *p.InstanceProfileName)
		}
	}
	lp := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: aws.String("role-00"), MaxItems: aws.Int32(4)})
	for lp.HasMorePages() {
		policies = append(policies, must(lp.NextPage(ctx))(t).PolicyNames...)
	}
	var wantRoles, wantPolicies []string
	for i := range n {
		wantRoles = append(wantRoles, fmt.Sprintf("role-%02d", i))
		wantPolicies = append(wantPolicies, fmt.Sprintf("p%02d", i))
	}
	for name, got := range map[string][]string{"roles": roles, "profiles": profiles} {
		if diff := cmp.Diff(wantRoles, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if diff := cmp.Diff(wantPolicies, policies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	all := must(c.ListRoles(ctx, &iam.ListRolesInput{}))(t)
	if len(all.Roles) != n+1 || all.IsTruncated {
		t.Errorf("ListRoles without prefix: %d roles, truncated %v; want %d, false", len(all.Roles), all.IsTruncated, n+1)
	}
	_, err := c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(0)})
	wantCode(t, err, "ValidationError")
}

func TestInstanceProfiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("vm"), Path: aws.String("/b/"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	out := must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String("vm"), Path: aws.String("/b/"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	}))(t)
	if got, want := *out.InstanceProfile.Arn, "arn:aws:iam::123456789012:instance-profile/b/vm"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if !strings.HasPrefix(*out.InstanceProfile.InstanceProfileId, "AIPA") {
		t.Errorf("InstanceProfileId = %q", *out.InstanceProfile.InstanceProfileId)
	}
	_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("VM")})
	var eae *types.EntityAlreadyExistsException
	if !errors.As(err, &eae) {
		t.Errorf("duplicate profile: %v, want EntityAlreadyExists", err)
	}
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(strings.Repeat("p", 129))})
	wantCode(t, err, "ValidationError")
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(strings.Repeat("p", 128))}))(t)

	must(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{RoleName: aws.String("vm"), InstanceProfileName: aws.String("vm")}))(t)
	got := must(c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("vm")}))(t).InstanceProfile
	if len(got.Roles) != 1 || *got.Roles[0].RoleName != "vm" || len(got.Tags) != 1 {
		t.Errorf("GetInstanceProfile = %+v", got)
	}
	for_ := must(c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("vm")}))(t)
	if len(for_.InstanceProfiles) != 1 || *for_.InstanceProfiles[0].InstanceProfileName != "vm" {
		t.Errorf("ListInstanceProfilesForRole = %+v", for_.InstanceProfiles)
	}
	must(c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String("vm"), Tags: []types.Tag{{Key: aws.String("k2"), Value: aws.String("v2")}}}))(t)
	tags := must(c.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("vm")}))(t).Tags
	if diff := cmp.Diff([]string{"k=v", "k2=v2"}, tagStrings(tags)); diff != "" {
		t.Errorf("profile tags (-want +got):\n%s", diff)
	}
}

func TestOpenIDConnectProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	out := must(c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(ghIssuer), ClientIDList: []string{stsAudience}, ThumbprintList: []string{"6938fd4d98bab03faadb97b34396831e3780aea1"},
	}))(t)
	if got, want := *out.OpenIDConnectProviderArn, "arn:aws:iam::123456789012:oidc-provider/"+ghHost; got != want {
		t.Errorf("ARN = %q, want %q", got, want)
	}
	got := must(c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: out.OpenIDConnectProviderArn}))(t)
	if *got.Url != ghHost || !cmp.Equal(got.ClientIDList, []string{stsAudience}) {
		t.Errorf("GetOpenIDConnectProvider = %q %v", *got.Url, got.ClientIDList)
	}
	_, err := c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(ghIssuer), ClientIDList: []string{stsAudience}})
	var eae *types.EntityAlreadyExistsException
	if !errors.As(err, &eae) {
		t.Errorf("duplicate provider: %v, want EntityAlreadyExists", err)
	}
	want := []fakeaws.OIDCProvider{{ARN: *out.OpenIDConnectProviderArn, URL: ghIssuer, ClientIDs: []string{stsAudience}, Thumbprints: []string{"6938fd4d98bab03faadb97b34396831e3780aea1"}}}
	if diff := cmp.Diff(want, s.Snapshot().OIDCProviders, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("snapshot providers (-want +got):\n%s", diff)
	}
}

func TestSecondaryActions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	role, prof := aws.String("r"), aws.String("p")
	kv := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: role, AssumeRolePolicyDocument: aws.String(ec2Trust), Tags: []types.Tag{kv("a", "1"), kv("b", "2")}}))(t)
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: prof, Tags: []types.Tag{kv("a", "1"), kv("b", "2")}}))(t)

	must(c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: role, Description: aws.String("d"), MaxSessionDuration: aws.Int32(7200)}))(t)
	_, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: role, MaxSessionDuration: aws.Int32(60)})
	wantCode(t, err, "ValidationError")
	must(c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: role, TagKeys: []string{"A"}}))(t)
	must(c.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: prof, TagKeys: []string{"b"}}))(t)
	for i := range 3 {
		must(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String(fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i))}))(t)
	}
	var attached []string
	ap := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: role, MaxItems: aws.Int32(2)})
	for ap.HasMorePages() {
		for _, p := range must(ap.NextPage(ctx))(t).AttachedPolicies {
			attached = append(attached, *p.PolicyName)
		}
	}
	if diff := cmp.Diff([]string{"P0", "P1", "P2"}, attached); diff != "" {
		t.Errorf("attached (-want +got):\n%s", diff)
	}
	s.PutRolePolicyDirect("R", "direct", s3Policy)

	snap := s.Snapshot()
	r, p := snap.Roles[0], snap.InstanceProfiles[0]
	if r.Description != "d" || r.MaxSessionDuration != 7200 || !cmp.Equal(r.Tags, map[string]string{"b": "2"}) ||
		!cmp.Equal(p.Tags, map[string]string{"a": "1"}) || r.InlinePolicies["direct"] != s3Policy {
		t.Errorf("snapshot = %+v %+v", r, p)
	}

	arn := s.AddOIDCProvider(ghIssuer)
	if again := s.AddOIDCProvider(ghIssuer, "other"); again != arn {
		t.Errorf("AddOIDCProvider twice: %q then %q", arn, again)
	}
	must(c.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String("third")}))(t)
	list := must(c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{}))(t)
	if len(list.OpenIDConnectProviderList) != 1 || *list.OpenIDConnectProviderList[0].Arn != arn {
		t.Errorf("ListOpenIDConnectProviders = %+v", list.OpenIDConnectProviderList)
	}
	if got := s.Snapshot().OIDCProviders[0].ClientIDs; !cmp.Equal(got, []string{stsAudience, "other", "third"}) {
		t.Errorf("client IDs = %v", got)
	}
	must(c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)}))(t)
	_, err = c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("GetOpenIDConnectProvider after delete: %v, want NoSuchEntity", err)
	}
}

// A seed backdates what IAM alone sets: ListRoles, GetRole and
// ListInstanceProfiles report the CreateDate given.
func TestSeedCreateDate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("old"), Path: aws.String("/b/"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("old"), Path: aws.String("/b/")}))(t)
	then := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if !s.SetRoleCreated("OLD", then) || !s.SetInstanceProfileCreated("old", then) || s.SetRoleCreated("none", then) || s.SetInstanceProfileCreated("none", then) {
		t.Fatal("SetRoleCreated/SetInstanceProfileCreated: wrong report")
	}
	roles := must(c.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/b/")}))(t)
	role := must(c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("old")}))(t)
	profiles := must(c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{PathPrefix: aws.String("/b/")}))(t)
	for what, got := range map[string]*time.Time{"ListRoles": roles.Roles[0].CreateDate, "GetRole": role.Role.CreateDate, "ListInstanceProfiles": profiles.InstanceProfiles[0].CreateDate} {
		if !aws.ToTime(got).Equal(then) {
			t.Errorf("%s: CreateDate %v, want %v", what, aws.ToTime(got), then)
		}
	}
}
