package cli_test

import (
	"context"
	"strings"
	"testing"

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
