package stsauth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// account is a fake account with GitHub's OIDC provider, and a token source
// that counts its fetches.
type account struct {
	srv     *fakeaws.Server
	iam     *iam.Client
	opts    stsauth.Options
	mu      sync.Mutex
	fetches int
}

func newAccount(t *testing.T, propagation time.Duration) *account {
	t.Helper()
	srv := fakeaws.NewServer()
	t.Cleanup(srv.Close)
	srv.SetPropagationDelay(propagation)
	a := &account{srv: srv, opts: stsauth.Options{Region: "us-east-1", EndpointURL: srv.URL(), RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond}}
	a.iam = iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEADMIN0000001", "s", "")})
	return a
}

// session stands for the bootstrap session, whose configuration the
// build role's attempts share.
func (a *account) session(t *testing.T) *stsauth.Session {
	cfg, err := stsauth.AWSConfig(context.Background(), a.opts, aws.AnonymousCredentials{})
	if err != nil {
		t.Fatal(err)
	}
	return &stsauth.Session{Config: cfg}
}

func (a *account) tokens(_ context.Context, aud string) (string, error) {
	a.mu.Lock()
	a.fetches++
	a.mu.Unlock()
	return a.srv.MintToken(aud)
}

// newRole creates a role (through IAM, so that its trust propagates) that
// trusts the job's tokens, and an instance profile.
func (a *account) newRole(t *testing.T, name string) string {
	t.Helper()
	provider := a.srv.AddOIDCProvider("https://token.actions.githubusercontent.com", "sts.amazonaws.com")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},`+
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}`, provider)
	ctx := context.Background()
	out, err := a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

func (a *account) profileCheck(name string) stsauth.Check {
	return stsauth.Check{What: "instance profile " + name, Poll: func(ctx context.Context) error {
		_, err := a.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity" {
			return stsauth.NotYet(err)
		}
		return err
	}}
}

func request(arn string, since time.Time, also ...stsauth.Check) stsauth.BuildRoleRequest {
	return stsauth.BuildRoleRequest{RoleARN: arn, SessionName: "build-session", DurationSeconds: 3600, Audience: "sts.amazonaws.com", Since: since, Also: also}
}

// The wait ends soon after STS honours the trust policy and IAM shows the
// profile; one token serves every attempt; STS sees at most 2 calls per
// second waited after the first; progress comes while it waits.
func TestAssumeBuildRoleWaitsOutPropagation(t *testing.T) {
	t.Parallel()
	// Propagation counts from the role's creation, refusal from the first
	// assume: 2 s leaves a loaded machine a second between the two.
	a := newAccount(t, 2*time.Second)
	since := time.Now()
	arn := a.newRole(t, "build")
	var reports []stsauth.Progress
	a.opts.ProgressEvery = 200 * time.Millisecond
	a.opts.Progress = func(p stsauth.Progress) { reports = append(reports, p) }
	creds, refused, err := stsauth.AssumeBuildRole(context.Background(), a.opts, a.session(t), request(arn, since, a.profileCheck("build")), a.tokens)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || refused < time.Second {
		t.Errorf("creds %q after %s of refusal", creds.AccessKeyID, refused)
	}
	if a.fetches != 1 {
		t.Errorf("OIDC token fetched %d times, want once", a.fetches)
	}
	calls := a.srv.CountCalls("AssumeRoleWithWebIdentity")
	if calls < 2 || float64(calls) > 1+2*refused.Seconds() {
		t.Errorf("%d STS calls in %s of waiting; want at least 2, at most 1 + 2 per second", calls, refused)
	}
	// At least the first report and one more (a loaded machine may delay
	// the timer, never skip it).
	if len(reports) < 2 {
		t.Fatalf("%d progress reports in %s, every 200ms: %v", len(reports), refused, reports)
	}
	first := reports[0].String()
	for _, want := range []string{"the trust policy of " + arn, "instance profile build", "waiting for IAM to propagate"} {
		if !strings.Contains(first, want) {
			t.Errorf("report %q lacks %q", first, want)
		}
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Elapsed < reports[i-1].Elapsed {
			t.Errorf("elapsed goes back: %v", reports)
		}
	}
}

// The wait is bounded: after MaxWait it gives up with what is still
// refused, within the budget of STS calls.
func TestAssumeBuildRoleGivesUp(t *testing.T) {
	t.Parallel()
	a := newAccount(t, time.Hour)
	arn := a.newRole(t, "build")
	_, _, err := stsauth.AssumeBuildRole(context.Background(), a.opts, a.session(t), stsauth.BuildRoleRequest{
		RoleARN: arn, SessionName: "build-session", DurationSeconds: 3600, Audience: "sts.amazonaws.com", MaxWait: 1500 * time.Millisecond,
		Also: []stsauth.Check{a.profileCheck("build")},
	}, a.tokens)
	if err == nil {
		t.Fatal("assumed a role whose trust never propagates")
	}
	for _, want := range []string{"gave up waiting for the trust policy of " + arn, "has not propagated", "AccessDenied", "gave up waiting for instance profile build"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if n := a.srv.CountCalls("AssumeRoleWithWebIdentity"); n < 2 || n > 4 {
		t.Errorf("%d STS calls in 1.5 s, want 2 to 4", n)
	}
}

// Throttling is honoured by the wait itself: the SDK does not retry it at
// once, and the next poll comes no sooner than the back-off.
func TestAssumeBuildRoleBacksOffWhenThrottled(t *testing.T) {
	t.Parallel()
	a := newAccount(t, 0)
	arn := a.newRole(t, "build")
	a.srv.InjectFault(fakeaws.Fault{Action: "AssumeRoleWithWebIdentity", Code: "Throttling", Status: 400})
	a.opts.RetryBaseDelay, a.opts.RetryMaxDelay = 400*time.Millisecond, 400*time.Millisecond
	_, _, err := stsauth.AssumeBuildRole(context.Background(), a.opts, a.session(t), stsauth.BuildRoleRequest{
		RoleARN: arn, SessionName: "build-session", DurationSeconds: 3600, Audience: "sts.amazonaws.com", MaxWait: 1500 * time.Millisecond,
	}, a.tokens)
	if err == nil || !strings.Contains(err.Error(), "Throttling") {
		t.Fatalf("err = %v, want the throttling", err)
	}
	var calls []fakeaws.Call
	for _, c := range a.srv.Requests() {
		if c.Action == "AssumeRoleWithWebIdentity" {
			calls = append(calls, c)
		}
	}
	// The upper bound is the property: throttling slows the calls down.
	// A loaded machine may make fewer.
	if len(calls) < 1 || len(calls) > 4 {
		t.Fatalf("%d STS calls in 1.5 s of throttling, want at most 4", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Start.Sub(calls[i-1].Start); gap < 200*time.Millisecond {
			t.Errorf("call %d came %s after a throttled one", i, gap)
		}
	}
}
