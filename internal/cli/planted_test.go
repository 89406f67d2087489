package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/run"
)

// jobSession is what any job the bootstrap role admits holds: the
// bootstrap session, as an IAM client.
func jobSession(t *testing.T, w *world) *iam.Client {
	t.Helper()
	tok, err := w.srv.MintToken("sts.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(awsConfig(w, aws.AnonymousCredentials{})).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(w.bootstrapARN), RoleSessionName: aws.String("compromised"), WebIdentityToken: aws.String(tok),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return iam.NewFromConfig(awsConfig(w, credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))))
}

// plantRoles does what the bootstrap policy lets a compromised job do:
// roles under the path, with the boundary and a run's tags, whose trust
// admits another account or any GitHub repository, with an expiry that
// never comes and a policy of its own. Their names.
func plantRoles(t *testing.T, w *world) []string {
	t.Helper()
	c := jobSession(t, w)
	ctx := context.Background()
	trusts := map[string]string{
		"buildrole-foothold": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}`,
		"buildrole-anyrepo":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}]}`,
	}
	// A fork's exact subject: the form is buildrole's, the job is not one
	// the bootstrap role admits.
	trusts["buildrole-fork"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:evil/fork:ref:refs/heads/main"}}}]}`
	expiry := map[string]string{"buildrole-foothold": "9999-12-31T23:59:59Z", "buildrole-anyrepo": "never", "buildrole-fork": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	var names []string
	for _, name := range []string{"buildrole-anyrepo", "buildrole-foothold", "buildrole-fork"} {
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name), Path: aws.String("/buildrole/"), AssumeRolePolicyDocument: aws.String(trusts[name]),
			PermissionsBoundary: aws.String(w.getenv("INPUT_PERMISSIONS-BOUNDARY")),
			Tags: []types.Tag{
				{Key: aws.String(run.TagManaged), Value: aws.String(run.TagManagedValue)},
				{Key: aws.String(run.TagRunID), Value: aws.String("0badc0de-0000-4000-8000-000000000000")},
				{Key: aws.String(run.TagExpiresAt), Value: aws.String(expiry[name])},
			},
		})
		if err != nil {
			t.Fatalf("the bootstrap policy refused the plant (%s): %v", name, err)
		}
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("stay"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeImages","Resource":"*"}]}`)}); err != nil {
			t.Fatalf("put policy on %s: %v", name, err)
		}
		names = append(names, name)
	}
	return names
}

// A job planted roles with the bootstrap role. The next up warns, naming
// them, without waiting on its look; the default sweep deletes them, says
// why, and leaves the live run alone.
func TestPlantedRolesAreNamedByUpAndDeletedBySweep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	planted := plantRoles(t, w)
	// The look is one listing beside the creates: it has answered before
	// they do.
	w.srv.SetActionLatency("CreateRole", 300*time.Millisecond)
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("up: exit %d:\n%s", code, stdout)
	}
	summary, err := os.ReadFile(w.getenv("GITHUB_STEP_SUMMARY"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range planted {
		if name == "buildrole-fork" {
			// Another repository's: up's look cannot tell it from another
			// bootstrap role's run on the path; sweep reports it.
			continue
		}
		if !strings.Contains(stdout, "::warning::role /buildrole/"+name+" has a trust policy buildrole never writes") || !strings.Contains(string(summary), name) {
			t.Errorf("up did not name %s:\n%s\n%s", name, stdout, summary)
		}
	}
	w.srv.SetActionLatency("CreateRole", 0)
	live := len(w.leftovers()) - len(planted)

	code, stdout, stderr := w.runCLI("sweep", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--json")
	if code != cli.ExitOK {
		t.Fatalf("sweep: exit %d: %s %s", code, stdout, stderr)
	}
	var rep struct {
		Impostors []struct {
			Name, Status string
			Why          []string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Impostors) != len(planted) {
		t.Fatalf("impostors: %+v", rep.Impostors)
	}
	var whys []string
	for _, imp := range rep.Impostors {
		if imp.Status != "deleted" {
			t.Errorf("%s: %s", imp.Name, imp.Status)
		}
		whys = append(whys, imp.Name+": "+strings.Join(imp.Why, "; "))
	}
	why := strings.Join(whys, " | ")
	for _, want := range []string{"StringLike", `"never" is not a time`, "999999999999", "9999-12-31T23:59:59Z", `inline policy "stay"`, `buildrole-fork: it has the inline policy "stay"`, `its trust policy admits the subject "repo:evil/fork:ref:refs/heads/main", whose repository the bootstrap role`} {
		if !strings.Contains(why, want) {
			t.Errorf("reasons %q lack %q", why, want)
		}
	}
	if !strings.Contains(stderr, "warning: role buildrole-foothold under /buildrole/ was not written by buildrole") {
		t.Errorf("sweep's log does not name the impostor:\n%s", stderr)
	}
	if got := len(w.leftovers()); got != live {
		t.Errorf("%d resources left, want the live run's %d: %v", got, live, w.leftovers())
	}
}

// A ttl beyond the account's max-ttl, which the bootstrap role's
// Description carries, is refused after one listing and before any
// create, whatever the max-ttl input says.
func TestTTLAboveAccountMaxTTLIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_TTL", "2d")
	w.set("INPUT_MAX-TTL", "3d")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitFailed || !strings.Contains(stdout, "ttl 2d is more than max-ttl 24h") ||
		!strings.Contains(stdout, "::warning::the max-ttl input 3d is not the account's 24h") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	var actions []string
	for _, c := range w.srv.Requests() {
		if c.Service == "iam" {
			actions = append(actions, c.Action)
		}
	}
	if strings.Join(actions, " ") != "ListRoles" {
		t.Errorf("IAM calls %v, want the one listing of the bootstrap role's path", actions)
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Errorf("created %v", got)
	}
}

// Bad input is refused before any call: a malformed ttl or max-ttl, and,
// without a bootstrap role to read the account's from, a ttl above the
// max-ttl input.
func TestBadTTLInputIsRefusedBeforeCalls(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--role-to-assume", w.bootstrapARN, "--ttl", "soon"}, "--ttl"},
		{[]string{"--role-to-assume", w.bootstrapARN, "--max-ttl", "40d"}, "--max-ttl"},
		{[]string{"--ttl", "3d", "--max-ttl", "2d"}, "--ttl: 3d is more than max-ttl 2d"},
	} {
		code, _, stderr := w.runCLI(append([]string{"up", "--aws-region", "us-east-1"}, c.args...)...)
		if code != cli.ExitUsage || !strings.Contains(stderr, c.want) || len(w.srv.Requests()) != 0 {
			t.Fatalf("%v: exit %d, %d calls: %s", c.args, code, len(w.srv.Requests()), stderr)
		}
	}
	code, _, stderr := w.runCLI("sweep", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--max-ttl", "forever")
	if code != cli.ExitUsage || !strings.Contains(stderr, "--max-ttl") || len(w.srv.Requests()) != 0 {
		t.Fatalf("sweep: exit %d, %d calls: %s", code, len(w.srv.Requests()), stderr)
	}
}

// The account allows 3d: a run of 2d made without a max-ttl input is
// live, and a sweep given a smaller max-ttl judges by the account's and
// leaves it alone.
func TestSweepJudgesByTheAccountsMaxTTL(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(p *accountsetup.BootstrapParams) { p.MaxTTL = 72 * time.Hour })
	w.set("INPUT_TTL", "2d")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK || !strings.Contains(stdout, "max-ttl 3d, the account's") {
		t.Fatalf("up: exit %d:\n%s", code, stdout)
	}
	live := w.leftovers()
	code, stdout, stderr := w.runCLI("sweep", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--max-ttl", "24h", "--json")
	if code != cli.ExitOK || !strings.Contains(stderr, "the max-ttl input 24h is not the account's 3d") {
		t.Fatalf("sweep: exit %d: %s %s", code, stdout, stderr)
	}
	var rep struct {
		MaxTTL    string `json:"max_ttl"`
		Impostors []any
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.MaxTTL != "3d" || len(rep.Impostors) != 0 {
		t.Errorf("sweep judged by %s, impostors %v", rep.MaxTTL, rep.Impostors)
	}
	if got := w.leftovers(); len(got) != len(live) || len(live) == 0 {
		t.Errorf("left %v, want the live run's %v", got, live)
	}
}

// A bootstrap role whose Description carries no max-ttl (an older
// bootstrap) leaves it to the input, default 24h, and the log says so.
func TestMaxTTLFromTheInputWithoutTheAccounts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.SetRoleDescription(bootstrap, "Assumed by buildrole in GitHub Actions to create and delete per-run roles")
	w.set("INPUT_TTL", "2d")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitFailed || !strings.Contains(stdout, "max-ttl 24h, from the input: the bootstrap role's description carries none") ||
		!strings.Contains(stdout, "ttl 2d is more than max-ttl 24h") {
		t.Fatalf("up: exit %d:\n%s", code, stdout)
	}
	w.set("INPUT_MAX-TTL", "3d")
	code, stdout, _ = w.run(context.Background(), "up")
	if code != cli.ExitOK || strings.Count(stdout, "max-ttl 3d, from the input") != 1 || strings.Contains(stdout, "::warning::the max-ttl input") {
		t.Fatalf("up: exit %d:\n%s", code, stdout)
	}
	code, stdout, stderr := w.runCLI("sweep", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--max-ttl", "3d", "--json")
	if code != cli.ExitOK || !strings.Contains(stderr, "max-ttl 3d, from the input") || !strings.Contains(stdout, `"max_ttl": "3d"`) {
		t.Fatalf("sweep: exit %d: %s %s", code, stdout, stderr)
	}
}

// bootstrap prints the account's max-ttl among the workflow's values.
func TestBootstrapMaxTTL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		arg  []string
		code int
		want string
	}{
		{nil, cli.ExitOK, "max-ttl: 24h"},
		{[]string{"--max-ttl", "3d"}, cli.ExitOK, "max-ttl: 3d"},
		{[]string{"--max-ttl", "40d"}, cli.ExitUsage, "max ttl"},
		{[]string{"--max-ttl", "soon"}, cli.ExitUsage, "--max-ttl"},
	} {
		var out, errb strings.Builder
		args := append([]string{"buildrole", "bootstrap", "--repository", "acme/images", "--account-id", "123456789012"}, c.arg...)
		code := cli.Main(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d: %s", c.arg, code, errb.String())
		}
	}
}
