package provision_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/planner"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

const account = "123456789012"

// client is the real SDK against the fake, with fast backoff.
func client(s *fakeaws.Server, attempts int) *iam.Client {
	o := stsauth.Options{Region: "us-east-1", EndpointURL: s.URL(), RetryMaxAttempts: attempts, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond}
	cfg, err := stsauth.AWSConfig(context.Background(), o, credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""))
	if err != nil {
		panic(err)
	}
	return iam.NewFromConfig(cfg)
}

func plan(t testing.TB, mode string, extra ...string) *run.Plan {
	t.Helper()
	inputs := map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::" + account + ":role/buildrole-bootstrap", "instance-profile": mode}
	for i := 0; i+1 < len(extra); i += 2 {
		inputs[extra[i]] = extra[i+1]
	}
	cfg, err := config.Parse(config.Source{
		Input:  func(n string) string { return inputs[n] },
		GitHub: config.GitHub{Repository: "acme/images", RunID: "77", RunAttempt: "1", Ref: "refs/pull/42/merge", EventName: "pull_request"},
		RunID:  fmt.Sprintf("%08x-0000-4000-8000-000000000000", time.Now().UnixNano()&0xffffffff),
		Now:    time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.New(cfg, account, run.Trust{
		ProviderARN: "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com",
		Audience:    "sts.amazonaws.com", Subject: "repo:acme/images:pull_request",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &p.Plan
}

// leftovers counts the run's resources still in the fake.
func leftovers(s *fakeaws.Server) []string {
	var out []string
	snap := s.Snapshot()
	for _, r := range snap.Roles {
		if r.Path == "/buildrole/" {
			out = append(out, "role "+r.Name)
		}
	}
	for _, p := range snap.InstanceProfiles {
		if p.Path == "/buildrole/" {
			out = append(out, "instance-profile "+p.Name)
		}
	}
	return out
}

func mutating(s *fakeaws.Server) []fakeaws.Call {
	var out []fakeaws.Call
	for _, c := range s.Requests() {
		if !strings.HasPrefix(c.Action, "Get") && !strings.HasPrefix(c.Action, "List") {
			out = append(out, c)
		}
	}
	return out
}

func TestUpCreatesTaggedResourcesAndDownRemovesThem(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"separate", "shared", "none"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := fakeaws.NewServer()
			defer s.Close()
			c := client(s, 3)
			boundary := s.AddManagedPolicy("buildrole-boundary", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`)
			p := plan(t, mode, "permissions-boundary", boundary)
			if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"separate": 3, "shared": 2, "none": 1}[mode]
			if got := len(leftovers(s)); got != want {
				t.Fatalf("resources after up = %d, want %d: %v", got, want, leftovers(s))
			}
			for _, r := range s.Snapshot().Roles {
				if r.Path != "/buildrole/" {
					continue
				}
				tags := r.Tags
				if tags[run.TagRunID] != p.RunID || tags[run.TagManaged] != "true" || tags[run.TagPR] != "42" {
					t.Errorf("role %s tags = %v", r.Name, tags)
				}
				if r.PermissionsBoundary != p.Boundary {
					t.Errorf("role %s boundary = %q, want %q", r.Name, r.PermissionsBoundary, p.Boundary)
				}
				if r.MaxSessionDuration != 3600 {
					t.Errorf("role %s MaxSessionDuration = %d", r.Name, r.MaxSessionDuration)
				}
			}
			if mode != "none" {
				prof := s.Snapshot().InstanceProfiles
				if len(prof) != 1 || len(prof[0].Roles) != 1 || prof[0].Roles[0] != p.InstanceProfile.Role {
					t.Errorf("instance profiles = %+v, want one holding %s", prof, p.InstanceProfile.Role)
				}
			}
			for i := 0; i < 2; i++ {
				rep, err := provision.Down(context.Background(), c, p.State(), provision.Options{})
				if err != nil {
					t.Fatalf("down #%d: %v", i+1, err)
				}
				if got := leftovers(s); len(got) != 0 {
					t.Fatalf("down #%d left %v", i+1, got)
				}
				if i == 1 && count(rep, "deleted") != 0 {
					t.Errorf("second down deleted %d things; want a no-op", count(rep, "deleted"))
				}
			}
		})
	}
}

// Every mutating call of up, made to fail in every way, leaves nothing.
func TestUpRollsBackAfterEveryFailingCall(t *testing.T) {
	t.Parallel()
	faults := map[string]fakeaws.Fault{
		"server error":            {Code: "ServiceFailure", Status: 500, Message: "injected"},
		"access denied":           {Code: "AccessDenied", Status: 403, Message: "injected"},
		"dropped connection":      {Drop: true},
		"lost response (applied)": {Drop: true, AfterApply: true},
		"error after apply":       {Code: "ServiceFailure", Status: 500, AfterApply: true},
	}
	for _, mode := range []string{"separate", "shared"} {
		// The calls of a clean run, in the order they happened.
		s := fakeaws.NewServer()
		var opts []string
		if mode == "separate" {
			opts = []string{"instance-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`}
		}
		p := plan(t, mode, opts...)
		if _, err := provision.Up(context.Background(), client(s, 1), p, provision.Options{Sequential: true}); err != nil {
			t.Fatal(err)
		}
		calls := mutating(s)
		s.Close()
		if len(calls) < 4 {
			t.Fatalf("%s: only %d mutating calls", mode, len(calls))
		}
		nth := map[string]int{}
		for _, call := range calls {
			nth[call.Action]++
			action, n := call.Action, nth[call.Action]
			for fname, f := range faults {
				t.Run(fmt.Sprintf("%s/%s#%d/%s", mode, action, n, fname), func(t *testing.T) {
					t.Parallel()
					s := fakeaws.NewServer()
					defer s.Close()
					f.Action, f.Nth = action, n
					if f.Code == "AccessDenied" {
						// A refusal on what was just created is waited out
						// briefly (IAM's read lag): only a lasting one fails.
						f.Times = 1000
					}
					s.InjectFault(f)
					_, err := provision.Up(context.Background(), client(s, 1), plan(t, mode, opts...), provision.Options{})
					if err == nil {
						t.Fatal("up succeeded despite the fault")
					}
					var rb *provision.RollbackError
					if errors.As(err, &rb) {
						t.Fatalf("rollback failed: %v", err)
					}
					if got := leftovers(s); len(got) != 0 {
						t.Fatalf("left behind after %v: %v", err, got)
					}
				})
			}
		}
	}
}

// A create whose response was lost is retried by the SDK, meets
// EntityAlreadyExists, and recognises the resource as its own by tag.
func TestUpAdoptsItsOwnLostCreate(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"CreateRole", "CreateInstanceProfile", "AddRoleToInstanceProfile"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			s := fakeaws.NewServer()
			defer s.Close()
			s.InjectFault(fakeaws.Fault{Action: action, Nth: 1, Drop: true, AfterApply: true})
			p := plan(t, "separate")
			c := client(s, 3)
			if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
				t.Fatalf("up: %v", err)
			}
			if got := len(leftovers(s)); got != 3 {
				t.Fatalf("resources = %d, want 3", got)
			}
			if _, err := provision.Down(context.Background(), c, p.State(), provision.Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUpCancelledMidwayRollsBack(t *testing.T) {
	t.Parallel()
	for _, after := range []time.Duration{5 * time.Millisecond, 40 * time.Millisecond, 55 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) {
			t.Parallel()
			s := fakeaws.NewServer()
			defer s.Close()
			s.SetLatency(30 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), after)
			defer cancel()
			_, err := provision.Up(ctx, client(s, 1), plan(t, "separate"), provision.Options{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("up = %v, want a cancellation", err)
			}
			if got := leftovers(s); len(got) != 0 {
				t.Fatalf("left behind: %v", got)
			}
		})
	}
}

// A crash after some creates leaves resources in any state; down, given
// only the names, removes them, blockers included.
func TestDownAfterPartialUpAndForeignBlockers(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	p := plan(t, "separate")
	ctx := context.Background()
	trust := p.BuildRole.Trust.JSON()
	var tags []types.Tag // what up gives every resource at creation
	for _, tg := range p.Tags {
		tags = append(tags, types.Tag{Key: aws.String(tg.Key), Value: aws.String(tg.Value)})
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p.BuildRole.Name), Path: aws.String("/buildrole/"), AssumeRolePolicyDocument: aws.String(trust), Tags: tags}))
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p.InstanceRole.Name), Path: aws.String("/buildrole/"), AssumeRolePolicyDocument: aws.String(trust), Tags: tags}))
	must(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), Path: aws.String("/buildrole/"), Tags: tags}))
	must(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name), RoleName: aws.String(p.InstanceRole.Name)}))
	// Blockers the state does not name: another inline policy, an attached
	// managed policy.
	must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(p.BuildRole.Name), PolicyName: aws.String("added-by-hand"), PolicyDocument: aws.String(p.BuildRole.Policy.JSON())}))
	must(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(p.InstanceRole.Name), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")}))

	s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Nth: 1, Times: 2, Code: "Throttling", Status: 400, Message: "Rate exceeded"})
	rep, err := provision.Down(ctx, c, p.State(), provision.Options{})
	if err != nil {
		t.Fatalf("down: %v\n%+v", err, rep.Outcomes)
	}
	if got := leftovers(s); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
	if n := s.CountCalls("ListRolePolicies"); n == 0 {
		t.Error("down never discovered the blocking inline policy")
	}
	if n := s.CountCalls("DetachRolePolicy"); n != 1 {
		t.Errorf("DetachRolePolicy calls = %d, want 1", n)
	}
}

func TestDownReportsWhatItCannotDelete(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 2)
	p := plan(t, "separate")
	if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
		t.Fatal(err)
	}
	s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Code: "AccessDenied", Status: 403, Message: "not authorized to perform: iam:DeleteRole"})
	rep, err := provision.Down(context.Background(), c, p.State(), provision.Options{})
	if err == nil {
		t.Fatal("down succeeded though DeleteRole was denied")
	}
	if len(rep.Failed()) != 2 || !strings.Contains(err.Error(), p.BuildRole.Name) {
		t.Fatalf("failed = %+v, err = %v", rep.Failed(), err)
	}
	s.ClearFaults()
	if _, err := provision.Down(context.Background(), c, p.State(), provision.Options{}); err != nil {
		t.Fatalf("second down: %v", err)
	}
	if got := leftovers(s); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
}

// A role or profile created a moment ago may briefly answer NoSuchEntity:
// the calls that follow wait for it.
func TestUpWaitsForFreshResourcesToBeVisible(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	s.InjectFault(fakeaws.Fault{Action: "PutRolePolicy", Nth: 1, Times: 2, Code: "NoSuchEntity", Status: 404})
	s.InjectFault(fakeaws.Fault{Action: "AddRoleToInstanceProfile", Nth: 1, Code: "NoSuchEntity", Status: 404})
	p := plan(t, "separate", "role-duration-seconds", "900")
	if _, err := provision.Up(context.Background(), client(s, 1), p, provision.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := s.CountCalls("PutRolePolicy"); n != 3 {
		t.Errorf("PutRolePolicy calls = %d, want 3", n)
	}
	for _, r := range s.Snapshot().Roles {
		if r.MaxSessionDuration != 3600 {
			t.Errorf("MaxSessionDuration = %d with role-duration-seconds 900, want IAM's minimum 3600", r.MaxSessionDuration)
		}
	}
}

// Throttling is retried with the whole retry budget: no per-call cap cuts
// it short while up is not told to stop.
func TestUpRetriesThrottlingBeyondTheInFlightCap(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	s.InjectFault(fakeaws.Fault{Action: "PutRolePolicy", Nth: 1, Times: 3, Code: "Throttling", Status: 400})
	// Four attempts of 1.5 s each outlast the 5 s in-flight cap.
	s.SetActionLatency("PutRolePolicy", 1500*time.Millisecond)
	if _, err := provision.Up(context.Background(), client(s, 8), plan(t, "separate"), provision.Options{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	if n := s.CountCalls("PutRolePolicy"); n != 4 {
		t.Errorf("PutRolePolicy calls = %d, want 4", n)
	}
}

// Rolling back a role created a moment ago waits out a NoSuchEntity rather
// than reporting it gone.
func TestRollbackWaitsForFreshResources(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	s.InjectFault(fakeaws.Fault{Action: "AddRoleToInstanceProfile", Code: "AccessDenied", Status: 403})
	s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Nth: 1, Times: 2, Code: "NoSuchEntity", Status: 404})
	if _, err := provision.Up(context.Background(), client(s, 1), plan(t, "separate"), provision.Options{}); err == nil {
		t.Fatal("up succeeded")
	}
	if got := leftovers(s); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
}

// A retry proves something only about the call that was retried: after
// the SDK retried one delete of a rollback, another delete's NoSuchEntity
// is still the lag of a role created a moment ago, and is waited out
// instead of being taken as done.
func TestRollbackRetryOfOneDeleteProvesNothingOfAnother(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	s.InjectFault(fakeaws.Fault{Action: "AddRoleToInstanceProfile", Code: "AccessDenied", Status: 403})
	// Level 2 of the rollback: one policy delete fails once, and the SDK
	// retries it.
	s.InjectFault(fakeaws.Fault{Action: "DeleteRolePolicy", Nth: 1, Code: "ServiceFailure", Status: 500})
	// Level 1: the fresh roles are not visible yet.
	s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Nth: 1, Times: 2, Code: "NoSuchEntity", Status: 404})
	if _, err := provision.Up(context.Background(), client(s, 3), plan(t, "separate"), provision.Options{}); err == nil {
		t.Fatal("up succeeded")
	}
	if n := s.CountCalls("DeleteRolePolicy"); n < 2 {
		t.Fatalf("DeleteRolePolicy called %d times; the test needs one retried", n)
	}
	if got := leftovers(s); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
}

// count returns how many outcomes have status.
func count(r *provision.Report, status string) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == status {
			n++
		}
	}
	return n
}

// A throttled attempt did nothing: a NoSuchEntity after it is still the lag
// of a role created a moment ago, not the answer lost of a delete that
// worked.
func TestRollbackThrottledDeleteProvesNothing(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	s.InjectFault(fakeaws.Fault{Action: "AddRoleToInstanceProfile", Code: "AccessDenied", Status: 403})
	s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Nth: 1, Code: "Throttling", Status: 400})
	s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Nth: 2, Code: "NoSuchEntity", Status: 404})
	if _, err := provision.Up(context.Background(), client(s, 3), plan(t, "shared"), provision.Options{}); err == nil {
		t.Fatal("up succeeded")
	}
	if n := s.CountCalls("DeleteRole"); n < 3 {
		t.Fatalf("DeleteRole called %d times; the test needs a throttled attempt, a NoSuchEntity and the delete", n)
	}
	if got := leftovers(s); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
}
