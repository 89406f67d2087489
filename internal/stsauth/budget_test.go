package stsauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// Throttling gets ThrottleAttempts; a server error still stops after
// RetryMaxAttempts, with the SDK's own MaxAttemptsError around IAM's.
func TestThrottleBudget(t *testing.T) {
	t.Parallel()
	srv := fakeaws.NewServer()
	t.Cleanup(srv.Close)
	for _, adaptive := range []bool{false, true} {
		o := stsauth.Options{Region: "us-east-1", EndpointURL: srv.URL(), RetryMaxAttempts: 3, ThrottleAttempts: 7,
			RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond, Adaptive: adaptive}
		cfg, err := stsauth.AWSConfig(context.Background(), o, credentials.NewStaticCredentialsProvider("AKIAFAKEADMIN0000001", "s", ""))
		if err != nil {
			t.Fatal(err)
		}
		c := iam.NewFromConfig(cfg)
		for _, f := range []struct {
			code string
			want int
		}{{"Throttling", 7}, {"ServiceFailure", 3}, {"ConcurrentModification", 3}} {
			srv.ClearFaults()
			srv.ResetRequests()
			srv.InjectFault(fakeaws.Fault{Action: "GetRole", Code: f.code})
			_, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("x")})
			var me *retry.MaxAttemptsError
			if !errors.As(err, &me) {
				t.Errorf("adaptive %v, %s: %v, want the SDK's MaxAttemptsError", adaptive, f.code, err)
			}
			if n := srv.CountCalls("GetRole"); n != f.want {
				t.Errorf("adaptive %v, %s: %d attempts, want %d", adaptive, f.code, n, f.want)
			}
		}
	}
	srv.ClearFaults()
}
