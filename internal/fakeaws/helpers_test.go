package fakeaws_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

const (
	adminKey    = "AKIAFAKEADMIN0000001"
	ghIssuer    = "https://token.actions.githubusercontent.com"
	ghHost      = "token.actions.githubusercontent.com"
	stsAudience = "sts.amazonaws.com"
)

// clock is a settable clock for propagation and expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func startServer(t *testing.T, configure ...func(*fakeaws.Server)) *fakeaws.Server {
	t.Helper()
	s := fakeaws.NewUnstartedServer()
	for _, f := range configure {
		f(s)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func withClock(c *clock) func(*fakeaws.Server) { return func(s *fakeaws.Server) { s.Now = c.Now } }

func awsConfig(s *fakeaws.Server, creds aws.CredentialsProvider) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  creds,
		BaseEndpoint: aws.String(s.URL()),
		// One attempt for every answer the server gives; a connection the
		// kernel reset is tried again, as the SDK's own retryer would
		// (the Go client sees a reset on loopback now and then).
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

func adminCreds() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(adminKey, "secret", "")
}

func iamClient(s *fakeaws.Server) *iam.Client { return iam.NewFromConfig(awsConfig(s, adminCreds())) }
func stsClient(s *fakeaws.Server) *sts.Client { return sts.NewFromConfig(awsConfig(s, adminCreds())) }

func sessionCreds(c *ststypes.Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

func stsAs(s *fakeaws.Server, c *ststypes.Credentials) *sts.Client {
	return sts.NewFromConfig(awsConfig(s, sessionCreds(c)))
}

// wantCode fails unless err is an AWS API error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want API error %s", err, code)
	}
	if got := ae.ErrorCode(); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// must(f())(t) returns f's value or fails t.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

const ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

const rootTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`

const s3Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

// githubTrust trusts the GitHub provider for one audience and subject pattern.
func githubTrust(providerARN, op, sub string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + ghHost + `:aud":"sts.amazonaws.com"},"` +
		op + `":{"` + ghHost + `:sub":"` + sub + `"}}}]}`
}
