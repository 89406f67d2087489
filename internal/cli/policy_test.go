package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := cli.Main(context.Background(), append([]string{"buildrole"}, args...), cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// policyReport is what the tests read of `buildrole policy --json`.
type policyReport struct {
	Regions     []string           `json:"regions"`
	BuildPolicy iampolicy.Document `json:"build_role_policy"`
	Reasons     []struct {
		Sid string   `json:"sid"`
		Why []string `json:"why"`
	} `json:"reasons"`
}

func policyJSON(t *testing.T, args ...string) policyReport {
	t.Helper()
	code, stdout, stderr := runMain(t, append([]string{"policy", "--aws-region", "us-east-1", "--json"}, args...)...)
	if code != cli.ExitOK {
		t.Fatalf("policy %v: exit %d: %s", args, code, stderr)
	}
	var rep policyReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestPolicyCommandExplainsTheTemplate(t *testing.T) {
	t.Parallel()
	rep := policyJSON(t, "--template", "../../testdata/templates/encrypted-copy.pkr.hcl")
	if strings.Join(rep.Regions, ",") != "us-east-1,us-west-2,eu-west-1" {
		t.Errorf("regions = %v", rep.Regions)
	}
	if len(rep.Reasons) != len(rep.BuildPolicy.Statement) {
		t.Errorf("%d reasons for %d statements", len(rep.Reasons), len(rep.BuildPolicy.Statement))
	}
	for _, r := range rep.Reasons {
		if len(r.Why) == 0 {
			t.Errorf("statement %s has no reason", r.Sid)
		}
	}
	// The readable form names the options.
	_, text, _ := runMain(t, "policy", "--aws-region", "us-east-1", "--template", "../../testdata/templates/encrypted-copy.pkr.hcl")
	for _, want := range []string{"ami_regions", "kms_key_id", "Build role permission policy"} {
		if !strings.Contains(text, want) {
			t.Errorf("policy output lacks %q", want)
		}
	}
}

// Each guard is explained: what the condition stops, also for the
// statements scope: tags splits off a grant.
func TestPolicyCommandExplainsTheGuards(t *testing.T) {
	t.Parallel()
	for _, scope := range []string{"region", "tags"} {
		rep := policyJSON(t, "--scope", scope, "--template", "../../testdata/templates/tagged-ssm.pkr.hcl")
		all := ""
		for _, r := range rep.Reasons {
			why := strings.Join(r.Why, "\n")
			if strings.Contains(why, "extra-policy input") {
				t.Errorf("%s: statement %s of the derived policy is explained as extra-policy", scope, r.Sid)
			}
			all += why + "\n"
		}
		wants := []string{
			"guard: ssm:SessionDocumentAccessCheck: ", "guard: ssm:resourceTag/aws:ssmmessages:session-id: ",
			"guard: kms:ViaService: ", "guard: kms:GrantIsForAWSResource: ", "guard: kms:ResourceAliases: ",
			"guard: ec2:Add/userId: ", "guard: ec2:osuser: ", "guard: ec2:InstanceProfile: ", "guard: iam:PassedToService: ",
			"attaching one that already exists",
		}
		if scope == "tags" {
			wants = append(wants, "guard: aws:RequestTag/buildrole:run-id: ", "guard: aws:ResourceTag/buildrole:run-id: ", "guard: ec2:CreateAction: ")
		}
		for _, want := range wants {
			if !strings.Contains(all, want) {
				t.Errorf("%s: reasons lack %q", scope, want)
			}
		}
	}
}

// iam_instance_profile = "" means no profile: no PassRole on every role,
// so the linter has nothing to refuse.
func TestPolicyWithEmptyInstanceProfile(t *testing.T) {
	t.Parallel()
	rep := policyJSON(t, "--template", "../../testdata/templates/empty-profile.pkr.hcl")
	for _, role := range []string{"arn:aws:iam::000000000000:role/Admin", "arn:aws:iam::000000000000:role/team/deploy"} {
		req := iampolicy.Request{Action: "iam:PassRole", Resource: role, Context: map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}}
		if got := iampolicy.Evaluate(req, []iampolicy.Document{rep.BuildPolicy}, nil); got == iampolicy.Allow {
			t.Errorf("PassRole on %s allowed", role)
		}
	}
}

// A template buildrole cannot scope, and an extra-policy that escalates,
// are refused before any AWS call.
func TestUnsafeTemplateOrExtraPolicyMakesNoCalls(t *testing.T) {
	t.Parallel()
	cases := []struct{ input, value, want string }{
		{"template", "../../testdata/templates/temporary-profile.pkr.hcl", "temporary_iam_instance_profile_policy_document"},
		{"template", "../../testdata/templates/dynamic.pkr.hcl", "ami_regions is not known"},
		{"template", "../../testdata/templates/missing.pkr.hcl", "cannot read"},
		{"extra-policy", `{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}`, "[passrole-wildcard]"},
		{"extra-policy", `[{"Effect":"Allow","Action":"iam:PutRolePolicy","Resource":"*"}]`, "[privilege-escalation]"},
		{"extra-policy", `{"Effect":"Allow","Action":"*","Resource":"*"}`, "[wildcard-action]"},
		{"instance-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`, "[not-action]"},
	}
	for _, c := range cases {
		t.Run(c.input+"/"+c.want, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.set("INPUT_"+strings.ToUpper(c.input), c.value)
			code, stdout, _ := w.run(context.Background(), "up")
			if code != cli.ExitUsage || !strings.Contains(stdout, c.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, cli.ExitUsage, c.want, stdout)
			}
			if n := len(w.srv.Requests()); n != 0 {
				t.Errorf("%d AWS calls, want 0", n)
			}
		})
	}
}

// up with a template creates a build role whose policy is the derived one.
func TestUpWithTemplate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_TEMPLATE", "../../testdata/templates/encrypted-copy.pkr.hcl")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	doc, err := iampolicy.Parse([]byte(w.file("GITHUB_OUTPUT")["policy"]))
	if err != nil {
		t.Fatal(err)
	}
	req := iampolicy.Request{Action: "ec2:CopyImage", Resource: "arn:aws:ec2:eu-west-1::image/ami-1", Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}}
	if got := iampolicy.Evaluate(req, []iampolicy.Document{doc}, nil); got != iampolicy.Allow {
		t.Errorf("CopyImage into eu-west-1 = %v", got)
	}
	req.Context["aws:RequestedRegion"] = []string{"ap-south-1"}
	if got := iampolicy.Evaluate(req, []iampolicy.Document{doc}, nil); got == iampolicy.Allow {
		t.Errorf("CopyImage into ap-south-1 allowed")
	}
	for _, r := range w.srv.Snapshot().Roles {
		if r.Path == "/buildrole/" && !strings.HasSuffix(r.Name, "-vm") && r.InlinePolicies["buildrole-packer"] == "" {
			t.Errorf("role %s lacks the derived policy", r.Name)
		}
	}
}

func TestLintCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	good := filepath.Join(dir, "good.json")
	_ = os.WriteFile(bad, []byte("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"ec2:CreateKeypairs\", \"Resource\": \"*\"}]\n}\n"), 0o644)
	_ = os.WriteFile(good, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeImages","Resource":"*"}]}`), 0o644)
	code, stdout, _ := runMain(t, "lint", bad, good)
	if code != cli.ExitFailed {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	if !strings.HasPrefix(stdout, bad+":3:") || !strings.Contains(stdout, "[unknown-action]") || !strings.Contains(stdout, "ec2:CreateKeyPair") {
		t.Errorf("findings:\n%s", stdout)
	}
	if code, stdout, _ := runMain(t, "lint", good); code != cli.ExitOK || stdout != "" {
		t.Errorf("clean file: exit %d, %q", code, stdout)
	}
	if code, _, _ := runMain(t, "lint"); code != cli.ExitUsage {
		t.Errorf("no files: exit %d", code)
	}
}

// lint --trust holds GitHub sub patterns as bootstrap does: what bootstrap
// prints is clean, or warned about as bootstrap warned; a sub of "*" is an
// error at its line.
func TestLintTrustSubjects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trustOf := func(subject string) string {
		_, stdout, _ := runMain(t, "bootstrap", "--repository", "acme/images", "--account-id", "123456789012", "--subject", subject)
		var out struct {
			Role struct {
				Trust json.RawMessage `json:"trust_policy"`
			} `json:"bootstrap_role"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("bootstrap --subject %s: %v", subject, err)
		}
		file := filepath.Join(dir, strings.NewReplacer("/", "_", "*", "_", ":", "_").Replace(subject)+".json")
		_ = os.WriteFile(file, out.Role.Trust, 0o644)
		return file
	}
	exact := trustOf("pull_request,ref:refs/heads/main")
	if code, stdout, _ := runMain(t, "lint", "--trust", exact); code != cli.ExitOK || stdout != "" {
		t.Errorf("bootstrap's exact trust: exit %d\n%s", code, stdout)
	}
	release := trustOf("ref:refs/heads/release/*")
	if code, stdout, _ := runMain(t, "lint", "--trust", release); code != cli.ExitOK || !strings.Contains(stdout, "[trust-subject]") {
		t.Errorf("bootstrap's release-branch trust: exit %d, want 0 and a trust-subject warning\n%s", code, stdout)
	}
	star := filepath.Join(dir, "star.json")
	_ = os.WriteFile(star, []byte(`{"Version": "2012-10-17", "Statement": [{
  "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
  "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
  "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "*"}}}]}
`), 0o644)
	code, stdout, _ := runMain(t, "lint", "--trust", star)
	if code != cli.ExitFailed || !strings.HasPrefix(stdout, star+":4:") || !strings.Contains(stdout, "[trust-subject]") {
		t.Errorf("sub \"*\": exit %d, want %d and a finding at line 4\n%s", code, cli.ExitFailed, stdout)
	}
}

func TestBootstrapCommand(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "cloudformation", "terraform"} {
		code, stdout, stderr := runMain(t, "bootstrap", "--repository", "acme/images", "--account-id", "123456789012", "--format", format)
		if code != cli.ExitOK || !strings.Contains(stdout, "buildrole-boundary") || !strings.Contains(stderr, "permissions-boundary: arn:aws:iam::123456789012:policy/buildrole/buildrole-boundary") {
			t.Errorf("%s: exit %d\n%s\n%s", format, code, stdout, stderr)
		}
	}
	if code, _, stderr := runMain(t, "bootstrap", "--repository", "acme", "--account-id", "123456789012"); code != cli.ExitUsage || stderr == "" {
		t.Errorf("bad repository: exit %d %s", code, stderr)
	}
	_, _, stderr := runMain(t, "bootstrap", "--repository", "acme/images", "--account-id", "123456789012", "--subject", "ref:refs/heads/*")
	if !strings.Contains(stderr, "warning") {
		t.Errorf("wildcard subject gave no warning: %s", stderr)
	}
	// The boundary's regions, share accounts and instance types come from the flags.
	code, stdout, stderr := runMain(t, "bootstrap", "--repository", "acme/images", "--account-id", "123456789012", "--region", "us-east-1", "--region", "eu-west-1", "--share-account", "210987654321", "--instance-type", "t3.*")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Boundary struct {
			Policy iampolicy.Document `json:"policy"`
		} `json:"permissions_boundary"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	everything := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{Effect: iampolicy.EffectAllow, Action: iampolicy.Values{"*"}, Resource: iampolicy.Values{"*"}}}}
	for _, c := range []struct {
		action, region, share string
		want                  iampolicy.Decision
	}{
		{"ec2:RunInstances", "eu-west-1", "", iampolicy.Allow},
		{"ec2:RunInstances", "ap-south-1", "", iampolicy.ExplicitDeny},
		{"ec2:ModifySnapshotAttribute", "us-east-1", "210987654321", iampolicy.Allow},
		{"ec2:ModifySnapshotAttribute", "us-east-1", "999999999999", iampolicy.ImplicitDeny},
	} {
		ctx := map[string][]string{"aws:RequestedRegion": {c.region}}
		if c.share != "" {
			ctx["ec2:Add/userId"] = []string{c.share}
		}
		req := iampolicy.Request{Action: c.action, Resource: "*", Context: ctx}
		if got := iampolicy.Evaluate(req, []iampolicy.Document{everything}, &out.Boundary.Policy); got != c.want {
			t.Errorf("%s in %s sharing with %q under the boundary = %v, want %v", c.action, c.region, c.share, got, c.want)
		}
	}
	for typ, want := range map[string]iampolicy.Decision{"t3.large": iampolicy.Allow, "p5.48xlarge": iampolicy.ExplicitDeny} {
		req := iampolicy.Request{Action: "ec2:RunInstances", Resource: "arn:aws:ec2:us-east-1:123456789012:instance/*", Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}, "ec2:InstanceType": {typ}}}
		if got := iampolicy.Evaluate(req, []iampolicy.Document{everything}, &out.Boundary.Policy); got != want {
			t.Errorf("launching a %s under the boundary = %v, want %v", typ, got, want)
		}
	}
	if code, _, stderr := runMain(t, "bootstrap", "--repository", "acme/images", "--account-id", "123456789012", "--region", "mars-1"); code != cli.ExitUsage || !strings.Contains(stderr, "region") {
		t.Errorf("bad region: exit %d %s", code, stderr)
	}
	if code, _, stderr := runMain(t, "bootstrap", "--repository", "acme/images", "--account-id", "123456789012", "--instance-type", "*"); code != cli.ExitUsage || !strings.Contains(stderr, "instance type") {
		t.Errorf("any instance type: exit %d %s", code, stderr)
	}
}

// `bootstrap --subject` is held to the subs GitHub writes before anything
// is printed: a near miss exits 2 with nothing on stdout and names the form
// meant; full and customized forms are printed, a customized one with a
// warning naming the template it assumes.
func TestBootstrapSubjects(t *testing.T) {
	t.Parallel()
	base := []string{"bootstrap", "--repository", "acme/images", "--account-id", "123456789012"}
	for _, c := range []struct{ subject, fix string }{
		{"refs/heads/main", "ref:refs/heads/main"},
		{"refs/tags/v1", "ref:refs/tags/v1"},
		{"pull-request", "pull_request"},
		{"main", "ref:refs/heads/main"},
		{"pull_request,refs/heads/main", "ref:refs/heads/main"},
		{"repo:acme/images:main", "repo:acme/images:ref:refs/heads/main"},
	} {
		for _, format := range []string{"json", "cloudformation", "terraform"} {
			code, stdout, stderr := runMain(t, append(base, "--subject", c.subject, "--format", format)...)
			if code != cli.ExitUsage || stdout != "" || !strings.Contains(stderr, `give "`+c.fix+`"`) {
				t.Errorf("--subject %s --format %s: exit %d, stdout %q, stderr %q; want exit %d, nothing on stdout, the fix %q", c.subject, format, code, stdout, stderr, cli.ExitUsage, c.fix)
			}
		}
	}
	subs := func(stdout string) []string {
		var out struct {
			Role struct {
				Trust iampolicy.Document `json:"trust_policy"`
			} `json:"bootstrap_role"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil || len(out.Role.Trust.Statement) != 1 {
			t.Fatalf("bootstrap JSON: %v\n%s", err, stdout)
		}
		var got []string
		for _, vals := range out.Role.Trust.Statement[0].Condition {
			for k, v := range vals {
				if strings.HasSuffix(k, ":sub") {
					got = append(got, v...)
				}
			}
		}
		return got
	}
	// A comma-separated list is split, as --tags is; full forms are kept.
	code, stdout, stderr := runMain(t, append(base, "--subject", "pull_request,ref:refs/tags/v1", "--subject", "repo:acme/images:environment:images")...)
	want := []string{"repo:acme/images:pull_request", "repo:acme/images:ref:refs/tags/v1", "repo:acme/images:environment:images"}
	if got := subs(stdout); code != cli.ExitOK || !slices.Equal(got, want) || strings.Contains(stderr, "warning") {
		t.Errorf("exit %d, subjects %q, want %q without a warning; stderr %s", code, got, want, stderr)
	}
	// A customized template's sub: printed, and the warning names it.
	wf := "repo:acme/images:environment:images:job_workflow_ref:acme/ci/.github/workflows/build.yml@refs/heads/main"
	code, stdout, stderr = runMain(t, append(base, "--subject", wf)...)
	if got := subs(stdout); code != cli.ExitOK || !slices.Equal(got, []string{wf}) ||
		!strings.Contains(stderr, `warning: subject "`+wf+`" is not GitHub's default form`) || !strings.Contains(stderr, `include_claim_keys ["repo","context","job_workflow_ref"]`) {
		t.Errorf("customized subject: exit %d, subjects %q\n%s", code, got, stderr)
	}
}

// scope: tags: a template that tags everything gets a tag-bound role; one
// that does not is refused, naming the lines to add, before any call.
func TestScopeTags(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set("INPUT_SCOPE", "tags")
	w.set("INPUT_TEMPLATE", "../../testdata/templates/tagged.pkr.hcl")
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	out := w.file("GITHUB_OUTPUT")
	if !strings.Contains(out["policy"], `"aws:RequestTag/buildrole:run-id":"`+out["run-id"]+`"`) {
		t.Errorf("policy is not bound to the run's tag: %s", out["policy"])
	}

	w2 := newWorld(t)
	w2.set("INPUT_SCOPE", "tags")
	w2.set("INPUT_TEMPLATE", "../../testdata/templates/basic-ebs.pkr.hcl")
	code, stdout, _ = w2.run(context.Background(), "up")
	if code != cli.ExitUsage || !strings.Contains(stdout, "run_tags = var.buildrole_run_tags") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	if n := len(w2.srv.Requests()); n != 0 {
		t.Errorf("%d AWS calls, want 0", n)
	}
}

// What IAM would refuse only after the roles exist is refused first.
func TestPlanProblemsAreInputErrors(t *testing.T) {
	t.Parallel()
	big := `[`
	for i := 0; i < 75; i++ {
		if i > 0 {
			big += ","
		}
		big += `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-with-a-rather-long-name/` + strings.Repeat("p", 40) + `"}`
	}
	big += `]`
	cases := []struct{ value, want string }{
		{`{"Sid":"PassInstanceRole","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`, "already used"},
		{big, "10240"},
		{`{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/Admin","Condition":{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}}`, "passrole-scope"},
	}
	for _, c := range cases {
		w := newWorld(t)
		w.set("INPUT_EXTRA-POLICY", c.value)
		code, stdout, _ := w.run(context.Background(), "up")
		if code != cli.ExitUsage || !strings.Contains(stdout, c.want) {
			t.Errorf("exit %d, want %d with %q:\n%.600s", code, cli.ExitUsage, c.want, stdout)
		}
		if n := len(w.srv.Requests()); n != 0 {
			t.Errorf("%d AWS calls, want 0", n)
		}
	}
}

// The CLI never overwrites the state of a run that still exists.
func TestStateFileIsNotOverwritten(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	state := w.dir + "/run.json"
	args := []string{"up", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN, "--state-file", state}
	if code, _, stderr := w.runCLI(args...); code != cli.ExitOK {
		t.Fatalf("up: %s", stderr)
	}
	calls := len(w.srv.Requests())
	code, _, stderr := w.runCLI(args...)
	if code != cli.ExitUsage || !strings.Contains(stderr, "already holds a run") || len(w.srv.Requests()) != calls {
		t.Fatalf("second up: exit %d: %s", code, stderr)
	}
	if code, _, stderr := w.runCLI("down", "--state-file", state); code != cli.ExitOK {
		t.Fatalf("down: %s", stderr)
	}
	if code, _, stderr := w.runCLI(args...); code != cli.ExitOK {
		t.Fatalf("up after down: %s", stderr)
	}
}

// The preview says which of its values are made up, and takes the flags
// that fill them.
func TestPolicyPreviewNamesItsPlaceholders(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runMain(t, "policy", "--aws-region", "us-east-1", "--json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Placeholders []string           `json:"placeholders"`
		Trust        iampolicy.Document `json:"build_role_trust_policy"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(rep.Placeholders, "\n")
	for _, want := range []string{"000000000000", "CALLER-ROLE/CALLER-SESSION", "--repository"} {
		if !strings.Contains(all, want) {
			t.Errorf("placeholders lack %q:\n%s", want, all)
		}
	}
	code, stdout, stderr = runMain(t, "policy", "--aws-region", "us-east-1", "--json", "--role-to-assume", "arn:aws:iam::123456789012:role/buildrole-bootstrap", "--repository", "acme/images", "--pr", "42")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep.Placeholders = nil
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	all = strings.Join(rep.Placeholders, "\n")
	if strings.Contains(all, "000000000000") || strings.Contains(all, "--repository") {
		t.Errorf("filled values still listed as placeholders:\n%s", all)
	}
	req := iampolicy.Request{
		Principal: map[string]string{"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
		Action:    "sts:AssumeRoleWithWebIdentity",
		Context: map[string][]string{"token.actions.githubusercontent.com:aud": {"sts.amazonaws.com"},
			"token.actions.githubusercontent.com:sub": {"repo:acme/images:pull_request"}},
	}
	if d := iampolicy.EvaluateTrust(req, rep.Trust); d != iampolicy.Allow {
		t.Errorf("the previewed trust does not admit acme/images' pull request: %v", d)
	}
	if code, _, stderr := runMain(t, "policy", "--aws-region", "us-east-1", "--pr", "x"); code != cli.ExitUsage || !strings.Contains(stderr, "--pr") {
		t.Errorf("bad --pr: exit %d: %s", code, stderr)
	}
}
