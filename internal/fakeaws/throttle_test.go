package fakeaws_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

// A throttled IAM admits its rate, answers the excess as IAM does (code
// Throttling, HTTP 400, which the SDK takes for throttling), logs it, and
// admits again once capacity has come back; STS is not throttled with it.
func TestThrottle(t *testing.T) {
	s := startServer(t)
	s.SetThrottle("iam", 5, 5)
	c := iamClient(s)
	ctx := context.Background()
	var ok, refused int
	for range 8 {
		_, err := c.ListRoles(ctx, &iam.ListRolesInput{})
		switch {
		case err == nil:
			ok++
		default:
			wantCode(t, err, "Throttling")
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
				t.Fatalf("throttled call: %v, want HTTP 400", err)
			}
			if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
				t.Fatalf("the SDK does not take %v for throttling", err)
			}
			refused++
		}
	}
	if ok != 5 || refused != 3 {
		t.Fatalf("admitted %d, refused %d; want 5 and 3", ok, refused)
	}
	if n := countCode(s, "Throttling"); n != 3 {
		t.Fatalf("log has %d throttled calls, want 3", n)
	}
	if _, err := stsClient(s).GetCallerIdentity(ctx, nil); err != nil {
		t.Fatalf("STS throttled with IAM: %v", err)
	}
	time.Sleep(250 * time.Millisecond) // a token a fifth of a second
	if _, err := c.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("after the capacity came back: %v", err)
	}
	s.SetThrottle("iam", 0, 0)
	for range 10 {
		if _, err := c.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
			t.Fatalf("throttle lifted: %v", err)
		}
	}
}

func countCode(s *fakeaws.Server, code string) int {
	n := 0
	for _, c := range s.Requests() {
		if c.ErrorCode == code {
			n++
		}
	}
	return n
}

// Roles and instance profiles past the account's quota are refused with
// LimitExceeded, naming the quota as IAM does.
func TestAccountQuotas(t *testing.T) {
	s := startServer(t)
	s.SetAccountQuotas(2, 1)
	c := iamClient(s)
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	}
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("c"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	var le *types.LimitExceededException
	if !errors.As(err, &le) || le.ErrorMessage() != "Cannot exceed quota for RolesPerAccount: 2" {
		t.Fatalf("third role: %v", err)
	}
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")}))(t)
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("q")})
	if !errors.As(err, &le) || le.ErrorMessage() != "Cannot exceed quota for InstanceProfilesPerAccount: 1" {
		t.Fatalf("second profile: %v", err)
	}
}
