package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/buildrole/buildrole/internal/cli"
)

// An account at its quota of roles (or instance profiles): up ends with
// the quota's name, how many are under the path, and the sweep to run,
// after removing all it made (exit 1, the state cleared).
func TestUpAtAccountQuota(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		what, quota string
		set         func(w *world)
	}{
		{"roles", `"Roles per account"`, func(w *world) {
			// The bootstrap role and two old runs' roles, and room for one more.
			w.srv.SetAccountQuotas(4, 0)
		}},
		{"instance profiles", `"Instance profiles per account"`, func(w *world) { w.srv.SetAccountQuotas(0, 2) }},
	} {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			for _, name := range []string{"buildrole-old-1", "buildrole-old-2"} {
				w.srv.AddRole(name, "/buildrole/", ec2Trust)
				if _, err := iamClient(w).CreateInstanceProfile(context.Background(), &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name), Path: aws.String("/buildrole/")}); err != nil {
					t.Fatal(err)
				}
			}
			c.set(w)
			code, out, _ := w.run(context.Background(), "up")
			if code != cli.ExitFailed {
				t.Fatalf("exit %d, want %d:\n%s", code, cli.ExitFailed, out)
			}
			for _, want := range []string{c.quota, "2 of them are under /buildrole/", "buildrole sweep --path /buildrole/ --aws-region us-east-1 --role-to-assume " + w.bootstrapARN, "everything created was rolled back"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if left := w.leftovers(); len(left) != 4 {
				t.Errorf("left %v; want the old runs' two roles and two profiles only", left)
			}
			if st := w.file("GITHUB_STATE"); st["run-id"] != "" {
				t.Errorf("state kept after a complete rollback: %v", st)
			}
		})
	}
}

// A stale copy of a completed run's state (the run already torn down, as
// by a second teardown or by hand, moments after up): up saved what it saw
// exist, so down settles each resource with a read or two, waits for
// nothing, and says they are gone.
func TestStaleDownSettlesAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	if code, out, _ := w.run(ctx, "up"); code != cli.ExitOK {
		t.Fatalf("up: exit %d:\n%s", code, out)
	}
	if got := w.file("GITHUB_STATE")["confirmed"]; strings.Count(got, "/") != 3 {
		t.Fatalf("confirmed = %q, want the build role, the instance role and the profile", got)
	}
	w.postEnv()
	if code, out, _ := w.run(ctx, "down"); code != cli.ExitOK {
		t.Fatalf("down: exit %d:\n%s", code, out)
	}
	// The same STATE_* again: a stale copy, within the pending window.
	w.srv.ResetRequests()
	start := time.Now()
	code, out, _ := w.run(ctx, "down")
	took := time.Since(start)
	if code != cli.ExitOK || !strings.Contains(out, "nothing deleted, 3 already gone") {
		t.Fatalf("stale down: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "waiting for IAM") {
		t.Errorf("stale down waited:\n%s", out)
	}
	iamCalls := 0
	for _, c := range w.srv.Requests() {
		if c.Service == "iam" {
			iamCalls++
		}
	}
	if iamCalls > 6 || took > 5*time.Second {
		t.Errorf("stale down made %d IAM calls in %s; want at most 6 (a read and a listing each), and no wait", iamCalls, took)
	}
	t.Logf("stale down: %d IAM calls, %s", iamCalls, took.Round(time.Millisecond))
}
