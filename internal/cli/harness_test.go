package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/stsauth"
)

const (
	repo      = "acme/images"
	bootstrap = "buildrole-bootstrap"
)

// world is a fake AWS account set up as the administrator would, and a
// runner environment for one job.
type world struct {
	t            testing.TB
	srv          *fakeaws.Server
	bootstrapARN string
	dir          string
	mu           sync.Mutex
	vars         map[string]string
	// tune adjusts the AWS options of every run (credentials, timeouts).
	tune func(*stsauth.Options)
	// cleanup adjusts teardown's EC2 cleanup (its waits).
	cleanup func(*leftovers.Options)
}

// accountSetup is what `buildrole bootstrap --chain` prints for the test
// repository: the fake account gets exactly these documents, so IAM's
// refusals in the tests are the ones a real account set up this way gives.
func accountSetup(t testing.TB, mod ...func(*accountsetup.BootstrapParams)) *accountsetup.Bootstrap {
	t.Helper()
	p := accountsetup.BootstrapParams{Repository: repo, AccountID: "123456789012", ChainMode: true}
	for _, m := range mod {
		m(&p)
	}
	b, err := accountsetup.NewBootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// install applies an account setup to the fake account: the boundary, and
// the role named roleName with the bootstrap permission policy and the
// Description the rendering gives it (which carries the max-ttl).
func install(t testing.TB, srv *fakeaws.Server, b *accountsetup.Bootstrap, roleName, path, trust string) string {
	t.Helper()
	if got := srv.AddManagedPolicy(b.BoundaryName, policyPath(b.BoundaryARN), b.Boundary.JSON()); got != b.BoundaryARN {
		t.Fatalf("boundary ARN %s, bootstrap says %s", got, b.BoundaryARN)
	}
	arn := srv.AddRole(roleName, path, trust)
	srv.SetRoleDescription(roleName, b.RoleDescription)
	srv.PutRolePolicyDirect(roleName, "buildrole-bootstrap", b.Permissions.JSON())
	return arn
}

func newWorld(t testing.TB, mod ...func(*accountsetup.BootstrapParams)) *world {
	t.Helper()
	b := accountSetup(t, mod...)
	srv := fakeaws.NewUnstartedServer()
	srv.Issuer = b.ProviderURL // GitHub's, or the issuer the setup names
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if got := srv.AddOIDCProvider(b.ProviderURL, b.Audience); got != b.ProviderARN {
		t.Fatalf("provider ARN %s, bootstrap says %s", got, b.ProviderARN)
	}
	w := &world{t: t, srv: srv, bootstrapARN: install(t, srv, b, bootstrap, "/", b.Trust.JSON()), dir: t.TempDir()}
	if w.bootstrapARN != b.RoleARN {
		t.Fatalf("bootstrap role ARN %s, bootstrap says %s", w.bootstrapARN, b.RoleARN)
	}
	srv.SetJob(fakeaws.Job{Repository: repo, RepositoryOwner: "acme", EventName: "pull_request", Ref: "refs/pull/42/merge", Workflow: "images", RunID: "7001", RunAttempt: "1"})
	w.vars = map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_REPOSITORY":              repo,
		"GITHUB_RUN_ID":                  "7001",
		"GITHUB_RUN_ATTEMPT":             "1",
		"GITHUB_EVENT_NAME":              "pull_request",
		"GITHUB_REF":                     "refs/pull/42/merge",
		"GITHUB_WORKFLOW":                "images",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.TokenRequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": srv.TokenRequestToken(),
		"INPUT_AWS-REGION":               "us-east-1",
		"INPUT_ROLE-TO-ASSUME":           w.bootstrapARN,
		"INPUT_PERMISSIONS-BOUNDARY":     b.BoundaryARN,
	}
	for _, f := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		path := filepath.Join(w.dir, strings.ToLower(f))
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		w.vars[f] = path
	}
	return w
}

func (w *world) set(k, v string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.vars[k] = v
}

func (w *world) getenv(k string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.vars[k]
}

// run executes the CLI in-process against the fake, as the runner would.
func (w *world) run(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Main(ctx, append([]string{"buildrole"}, args...), cli.Env{
		Getenv:    w.getenv,
		Stdout:    &out,
		Stderr:    &errb,
		Leftovers: w.cleanup,
		AWS: func(o *stsauth.Options) {
			o.EndpointURL = w.srv.URL()
			o.RetryBaseDelay, o.RetryMaxDelay = time.Millisecond, 5*time.Millisecond
			if w.tune != nil {
				w.tune(o)
			}
		},
	})
	return code, out.String(), errb.String()
}

func (w *world) file(name string) map[string]string {
	w.t.Helper()
	b, err := os.ReadFile(w.getenv(name))
	if err != nil {
		w.t.Fatal(err)
	}
	m, err := ghaction.ParseFileCommands(string(b))
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	return m
}

// postEnv prepares the post step as the runner does: the saved
// GITHUB_STATE as STATE_*, and everything earlier steps wrote to GITHUB_ENV
// in the environment (the build role's keys included).
func (w *world) postEnv() {
	for k, v := range w.file("GITHUB_STATE") {
		w.set("STATE_"+k, v)
	}
	for k, v := range w.file("GITHUB_ENV") {
		w.set(k, v)
	}
}

// leftovers lists the run resources (under /buildrole/) still present.
func (w *world) leftovers() []string {
	var out []string
	snap := w.srv.Snapshot()
	for _, r := range snap.Roles {
		if r.Path == "/buildrole/" {
			out = append(out, r.ARN)
		}
	}
	for _, p := range snap.InstanceProfiles {
		if p.Path == "/buildrole/" {
			out = append(out, p.ARN)
		}
	}
	return out
}

// policyPath is the IAM path in a managed policy's ARN
// (arn:aws:iam::ACCOUNT:policy/PATH/NAME).
func policyPath(arn string) string {
	_, rest, _ := strings.Cut(arn, ":policy")
	return rest[:strings.LastIndex(rest, "/")+1]
}
