package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// For every call up, down and sweep make, an AccessDenied names the action
// and the `buildrole bootstrap` statement that grants it.
func TestEveryAccessDeniedExplainsItself(t *testing.T) {
	t.Parallel()
	type scenario int
	const (
		upRun scenario = iota
		upLostCreate
		upLostProfile
		upChain
		downRun
		downBlocked
		sweepRun
	)
	cases := []struct {
		action string
		when   scenario
		sid    string
	}{
		{"CreateRole", upRun, "CreateRunRoles"},
		{"CreateInstanceProfile", upRun, "CreateRunInstanceProfiles"},
		{"PutRolePolicy", upRun, "PutRunRolePolicy"},
		{"AddRoleToInstanceProfile", upRun, "ManageRunInstanceProfiles"},
		{"GetRole", upLostCreate, "ReadRunRoles"},
		{"GetInstanceProfile", upLostProfile, "ReadRunInstanceProfiles"},
		{"AssumeRole", upChain, "AssumeRunRoles"},
		{"RemoveRoleFromInstanceProfile", downRun, "ManageRunInstanceProfiles"},
		{"DeleteRolePolicy", downRun, "DeleteRunRoles"},
		{"DeleteInstanceProfile", downRun, "ManageRunInstanceProfiles"},
		{"DeleteRole", downRun, "DeleteRunRoles"},
		{"ListRolePolicies", downBlocked, "ReadRunRoles"},
		{"ListAttachedRolePolicies", downBlocked, "ReadRunRoles"},
		{"ListInstanceProfilesForRole", downBlocked, "ReadRunRoles"},
		{"DetachRolePolicy", downBlocked, "DeleteRunRoles"},
		{"ListRoles", sweepRun, "ListForSweep"},
		{"ListRoleTags", sweepRun, "ReadRunRoles"},
		{"ListInstanceProfiles", sweepRun, "ListForSweep"},
		{"ListInstanceProfileTags", sweepRun, "ReadRunInstanceProfiles"},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			deny := fakeaws.Fault{Action: c.action, Code: "AccessDenied", Status: 403,
				Message: "User: arn:aws:sts::123456789012:assumed-role/buildrole-bootstrap/s is not authorized to perform: iam:" + c.action}
			var out string
			switch c.when {
			case upRun, upLostCreate, upLostProfile:
				switch c.when {
				case upLostCreate:
					w.srv.InjectFault(fakeaws.Fault{Action: "CreateRole", Nth: 1, Drop: true, AfterApply: true})
				case upLostProfile:
					w.srv.InjectFault(fakeaws.Fault{Action: "CreateInstanceProfile", Nth: 1, Drop: true, AfterApply: true})
				}
				w.srv.InjectFault(deny)
				_, out, _ = w.run(context.Background(), "up")
			case upChain:
				w.set("INPUT_ROLE-TO-ASSUME", "")
				w.srv.InjectFault(deny)
				w.tune = func(o *stsauth.Options) {
					o.Credentials = credentials.NewStaticCredentialsProvider("AKIDRUNNER", "s", "")
					o.PropagationTimeout = 300 * time.Millisecond
				}
				_, out, _ = w.run(context.Background(), "up")
			case downRun, downBlocked:
				if code, o, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
					t.Fatalf("up: %s", o)
				}
				if c.when == downBlocked {
					role := w.file("GITHUB_OUTPUT")["role-name"]
					_, err := iamClient(w).AttachRolePolicy(context.Background(), &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
					if err != nil {
						t.Fatal(err)
					}
				}
				w.postEnv()
				w.srv.InjectFault(deny)
				_, out, _ = w.run(context.Background(), "down")
			case sweepRun:
				if code, o, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
					t.Fatalf("up: %s", o)
				}
				w.srv.InjectFault(deny)
				_, _, out = w.runCLI("sweep", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--older-than", "5m")
			}
			prefix := "iam:"
			if c.action == "AssumeRole" {
				prefix = "sts:"
			}
			if w.srv.CountCalls(c.action) == 0 {
				t.Fatalf("the scenario never called %s:\n%s", c.action, out)
			}
			for _, want := range []string{prefix + c.action + " was denied", `statement "` + c.sid + `" of ` + "`buildrole bootstrap`"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func iamClient(w *world) *iam.Client {
	return iam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", ""), BaseEndpoint: aws.String(w.srv.URL())})
}

// Without permissions-boundary, a CreateRole denial says to set it.
func TestCreateRoleDeniedWithoutBoundaryNamesIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_PERMISSIONS-BOUNDARY", "")
	_, out, _ := w.run(context.Background(), "up")
	if !strings.Contains(out, "permissions-boundary is not set") || !strings.Contains(out, "policy/buildrole/buildrole-boundary") {
		t.Errorf("output:\n%s", out)
	}
}
