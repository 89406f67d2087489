package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// newcomerFiles writes the files the newcomer cases name: templates
// (HCL2 and legacy JSON) and policy documents.
func newcomerFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"web.pkr.hcl": `variable "iam_instance_profile" { type = string }
source "amazon-ebs" "web" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  ssh_username         = "ubuntu"
  ami_name             = "web"
  source_ami           = "ami-0123456789abcdef0"
  subnet_id            = "subnet-0123456789abcdef0"
  iam_instance_profile = var.iam_instance_profile
}
build { sources = ["source.amazon-ebs.web"] }
`,
		"west.pkr.hcl": `source "amazon-ebs" "web" {
  region        = "us-west-2"
  instance_type = "t3.micro"
  ssh_username  = "ubuntu"
  ami_name      = "web"
  source_ami    = "ami-0123456789abcdef0"
}
build { sources = ["source.amazon-ebs.web"] }
`,
		"copy.pkr.hcl": `source "amazon-ebs" "web" {
  region        = "us-east-1"
  instance_type = "t3.micro"
  ssh_username  = "ubuntu"
  ami_name      = "web"
  source_ami    = "ami-0123456789abcdef0"
  ami_regions   = ["eu-wst-1"]
}
build { sources = ["source.amazon-ebs.web"] }
`,
		"legacy.json": `{
  "variables": {"profile": null},
  "builders": [{
    "type": "amazon-ebs", "region": "us-east-1", "instance_type": "t3.micro", "ssh_username": "ubuntu",
    "ami_name": "web", "source_ami": "ami-0123456789abcdef0",
    "iam_instance_profile": "{{user ` + "`profile`" + `}}"
  }]
}
`,
		"legacy-good.json": `{
  "variables": {"iam_instance_profile": "{{env ` + "`PKR_VAR_iam_instance_profile`" + `}}"},
  "builders": [{
    "type": "amazon-ebs", "region": "us-east-1", "instance_type": "t3.micro", "ssh_username": "ubuntu",
    "ami_name": "web", "source_ami": "ami-0123456789abcdef0",
    "iam_instance_profile": "{{user ` + "`iam_instance_profile`" + `}}"
  }]
}
`,
		"extra.json":      "{\"Sid\": \"Read\", \"Effect\": \"Allow\",\n  \"Action\": \"s3:GetObjet\", \"Resource\": \"arn:aws:s3:::b/*\"}\n",
		"extra-good.json": "{\"Sid\": \"Read\", \"Effect\": \"Allow\",\n  \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::b/*\"}\n",
		"notes.md":        "# not a template\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newcomerCase is one mistake, what its message must say, and the right
// form.
type newcomerCase struct {
	name string
	bad  []string
	fix  []string // what the message must say
	good []string // the right form; nil: none to run
	// one: the message is one error line (after its heading)
	one bool
}

// newcomerCases are the mistakes, with the files of dir.
func newcomerCases(dir string) []newcomerCase {
	f := func(name string) string { return filepath.Join(dir, name) }
	role := "arn:aws:iam::123456789012:role/buildrole-bootstrap"
	badJSON := "{\"Effect\": \"Allow\",\n\"Action\": \"s3:GetObject\"\n\"Resource\": \"*\"}"
	goodJSON := "{\"Effect\": \"Allow\",\n\"Action\": \"s3:GetObject\",\n\"Resource\": \"arn:aws:s3:::b/*\"}"
	up := func(args ...string) []string { return append([]string{"up", "--aws-region", "us-east-1"}, args...) }
	boot := func(args ...string) []string {
		return append([]string{"bootstrap", "--repository", "acme/images", "--account-id", "123456789012"}, args...)
	}
	return []newcomerCase{
		{"region typo", []string{"up", "--aws-region", "us-est-1"}, []string{"did you mean us-east-1?", "BUILDROLE_NEW_REGIONS"}, up(), false},
		{"region number that does not exist", []string{"up", "--aws-region", "eu-west-9"}, []string{"did you mean eu-west-1?"}, []string{"up", "--aws-region", "eu-west-1"}, false},
		{"region in capitals", []string{"up", "--aws-region", "US-EAST-1"}, []string{"did you mean us-east-1?"}, up(), false},
		{"region without its hyphen", []string{"up", "--aws-region", "us-east1"}, []string{"did you mean us-east-1?"}, up(), false},
		{"an availability zone for a region", []string{"up", "--aws-region", "us-east-1a"}, []string{"did you mean us-east-1?"}, up(), false},
		{"policy: region typo", []string{"policy", "--aws-region", "eu-wst-1"}, []string{"did you mean eu-west-1?"}, []string{"policy", "--aws-region", "eu-west-1"}, false},
		{"sweep: region typo", []string{"sweep", "--aws-region", "us-wset-2"}, []string{"did you mean us-west-2?"}, nil, false},
		{"flag typo", []string{"up", "--aws-regin", "us-east-1"}, []string{"unknown flag --aws-regin; did you mean --aws-region?", "Run 'buildrole up -h'"}, up(), true},
		{"flag without its hyphen", []string{"up", "--aws-region", "us-east-1", "--dryrun"}, []string{"did you mean --dry-run?"}, up("--dry-run"), true},
		{"flag abbreviated", boot("--repo", "acme/web"), []string{"did you mean --repository?"}, boot(), true},
		{"command typo", []string{"bootstap"}, []string{"did you mean 'bootstrap'?"}, boot(), false},
		{"malformed extra-policy", up("--extra-policy", badJSON), []string{"--extra-policy: line 3, column 1: invalid JSON"}, up("--extra-policy", goodJSON), true},
		{"extra-policy file missing", up("--extra-policy", "@"+f("nope.json")), []string{"cannot read the policy file", "nope.json"}, up("--extra-policy", "@"+f("extra-good.json")), true},
		{"extra-policy @ without a file", up("--extra-policy", "@"), []string{"@policy.json reads the document from policy.json"}, nil, true},
		{"unknown action in a policy file", up("--extra-policy", "@"+f("extra.json")), []string{"extra.json:2:", "did you mean s3:GetObject?"}, up("--extra-policy", "@"+f("extra-good.json")), true},
		{"template without aws-region", []string{"up", "--template", f("web.pkr.hcl")}, []string{"--aws-region: is required, e.g. us-east-1"}, up("--template", f("web.pkr.hcl")), true},
		{"legacy template: profile fix in JSON syntax", up("--template", f("legacy.json")), []string{"\"iam_instance_profile\": \"{{user `iam_instance_profile`}}\"", "{{env `PKR_VAR_iam_instance_profile`}}"}, up("--template", f("legacy-good.json")), true},
		{"legacy template with scope tags", up("--template", f("legacy-good.json"), "--scope", "tags"), []string{"use scope: region", "packer hcl2_upgrade"}, up("--template", f("legacy-good.json"), "--scope", "region"), true},
		{"template builds elsewhere", up("--template", f("west.pkr.hcl")), []string{"builds in region \"us-west-2\" but aws-region is \"us-east-1\": set them the same"}, []string{"up", "--aws-region", "us-west-2", "--template", f("west.pkr.hcl")}, true},
		{"ami_regions typo", up("--template", f("copy.pkr.hcl")), []string{"ami_regions: \"eu-wst-1\"", "did you mean eu-west-1?"}, nil, true},
		{"not a template", up("--template", f("notes.md")), []string{"want a .pkr.hcl, .pkr.json or legacy .json file, or a directory"}, up("--template", f("web.pkr.hcl")), true},
		{"template missing", up("--template", f("image.pkr.hcl")), []string{"cannot read", "image.pkr.hcl"}, nil, true},
		{"bootstrap region typo", boot("--region", "us-est-1"), []string{"did you mean us-east-1?"}, boot("--region", "us-east-1"), true},
		{"bootstrap region of another partition", boot("--region", "us-gov-west-1"), []string{"--partition aws-us-gov"}, boot("--region", "us-gov-west-1", "--partition", "aws-us-gov"), true},
		{"bootstrap account id short", []string{"bootstrap", "--repository", "acme/images", "--account-id", "12345"}, []string{"12-digit account id"}, boot(), true},
		{"bootstrap repository as a URL", []string{"bootstrap", "--repository", "https://github.com/acme/images", "--account-id", "123456789012"}, []string{"did you mean acme/images?"}, boot(), true},
		{"bootstrap account id as the console writes it", []string{"bootstrap", "--repository", "acme/images", "--account-id", "1234-5678-9012"}, []string{"did you mean 123456789012?"}, boot(), true},
		{"bootstrap format", boot("--format", "tf2"), []string{"json, cloudformation or terraform"}, boot("--format", "terraform"), true},
		{"a user ARN for role-to-assume", up("--role-to-assume", "arn:aws:iam::123456789012:user/bob"), []string{"like arn:aws:iam::123456789012:role/buildrole-bootstrap"}, up("--role-to-assume", role), true},
		{"a role name for role-to-assume", up("--role-to-assume", "buildrole-bootstrap"), []string{"like arn:aws:iam::123456789012:role/buildrole-bootstrap"}, up("--role-to-assume", role), true},
		{"role of another partition", []string{"up", "--aws-region", "cn-north-1", "--role-to-assume", role}, []string{"is in partition aws but aws-region cn-north-1 is in aws-cn"}, []string{"up", "--aws-region", "cn-north-1", "--role-to-assume", "arn:aws-cn:iam::123456789012:role/buildrole-bootstrap", "--permissions-boundary", "arn:aws-cn:iam::123456789012:policy/buildrole/buildrole-boundary"}, false},
		{"a role ARN as the boundary", up("--permissions-boundary", "arn:aws:iam::123456789012:role/b"), []string{"like arn:aws:iam::123456789012:policy/buildrole-boundary"}, up("--permissions-boundary", "arn:aws:iam::123456789012:policy/buildrole/buildrole-boundary"), true},
		{"ttl without a unit", up("--ttl", "12"), []string{"12h for hours"}, up("--ttl", "12h"), true},
		{"instance-profile misspelt", up("--instance-profile", "separated"), []string{"one of separate, shared, none"}, up("--instance-profile", "separate"), true},
		{"scope misspelt", up("--scope", "tag"), []string{"one of region, tags"}, up("--scope", "region"), true},
		{"a tag without a value", up("--tags", "team"), []string{"is not key=value"}, up("--tags", "team=platform"), true},
		{"session too short", up("--role-duration-seconds", "60"), []string{"from 900 to 43200"}, up("--role-duration-seconds", "900"), true},
		{"instance-policy without an instance role", up("--instance-profile", "none", "--instance-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), []string{"needs instance-profile: separate"}, up("--instance-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), true},
		{"CIDR out of range", up("--allowed-source-cidrs", "10.0.0.0/33"), []string{"like 203.0.113.0/24"}, up("--allowed-source-cidrs", "10.0.0.0/16"), true},
		{"a switch given a word", up("--dry-run=maybe"), []string{"must be true or false"}, up("--dry-run=true"), true},
		{"path without slashes", up("--path", "buildrole"), []string{"e.g. /buildrole/"}, up("--path", "/buildrole/"), true},
	}
}

// A newcomer's mistakes, each answered before anything is called: exit 2,
// a message naming the right form, no AWS request; and the right form
// beside it accepted.
func TestNewcomerMistakesAreAnsweredWithTheirFix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cases := newcomerCases(newcomerFiles(t))
	if len(cases) < 25 {
		t.Fatalf("%d cases; the issue asks for at least 25", len(cases))
	}
	for _, c := range cases {
		before := len(w.srv.Requests())
		code, _, stderr := w.runNewcomer(c.bad, false)
		if code != cli.ExitUsage {
			t.Errorf("%s: %q: exit %d, want %d:\n%s", c.name, c.bad, code, cli.ExitUsage, stderr)
		}
		for _, want := range c.fix {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: %q does not say %q:\n%s", c.name, c.bad, want, stderr)
			}
		}
		if c.one {
			if lines := errorLines(stderr); len(lines) != 1 {
				t.Errorf("%s: %q: %d error lines, want one:\n%s", c.name, c.bad, len(lines), stderr)
			}
		}
		if c.good != nil {
			if code, _, stderr := w.runNewcomer(c.good, true); code != cli.ExitOK {
				t.Errorf("%s: the right form %q: exit %d:\n%s", c.name, c.good, code, stderr)
			}
		}
		if n := len(w.srv.Requests()) - before; n != 0 {
			t.Errorf("%s: %d AWS requests, want none", c.name, n)
		}
	}
	// A well-formed region newer than the SDK: a warning, not a refusal;
	// and a code the SDK does not know, admitted by the environment.
	if code, stdout, stderr := w.runNewcomer([]string{"up", "--aws-region", "ap-southeast-8"}, true); code != cli.ExitOK || !strings.Contains(stdout, "going on as a region newer than it") {
		t.Errorf("a region newer than the SDK: exit %d:\n%s%s", code, stdout, stderr)
	}
	w.set("BUILDROLE_NEW_REGIONS", "us-est-1")
	if code, _, stderr := w.runNewcomer([]string{"up", "--aws-region", "us-est-1"}, true); code != cli.ExitOK {
		t.Errorf("BUILDROLE_NEW_REGIONS=us-est-1: exit %d:\n%s", code, stderr)
	}
	if n := len(w.srv.Requests()); n != 0 {
		t.Errorf("%d AWS requests, want none", n)
	}
}

// runNewcomer runs the CLI as a newcomer would from a terminal, each up
// with its own state file; good ones as a dry run.
func (w *world) runNewcomer(args []string, dry bool) (int, string, string) {
	args = append([]string(nil), args...)
	if args[0] == "up" {
		args = append(args, "--state-file", filepath.Join(w.t.TempDir(), "run.json"))
		if dry {
			args = append(args, "--dry-run")
		}
	}
	return w.runCLI(args...)
}

// errorLines are the lines of stderr that state an error: all but the
// heading ("buildrole up: invalid input; ...") and the help hint.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		switch {
		case strings.HasPrefix(l, "error: buildrole up: invalid input"), strings.HasPrefix(l, "Run 'buildrole"), strings.HasPrefix(l, "warning: "), l == "":
		default:
			out = append(out, l)
		}
	}
	return out
}

// The template's notes reach up's log as annotations, not only `policy`;
// the variable buildrole fills itself is no note.
func TestUpAnnotatesTheTemplatesNotes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tpl := filepath.Join(t.TempDir(), "web.pkr.hcl")
	src := `variable "iam_instance_profile" { type = string }
variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}
source "amazon-ebs" "web" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  ssh_username         = "ubuntu"
  ami_name             = "web"
  source_ami           = "ami-0123456789abcdef0"
  iam_instance_profile = var.iam_instance_profile
  run_tags             = var.buildrole_run_tags
}
build { sources = ["source.amazon-ebs.web"] }
`
	if err := os.WriteFile(tpl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	w.set("INPUT_TEMPLATE", tpl)
	code, stdout, stderr := w.run(t.Context(), "up")
	if code != cli.ExitOK {
		t.Fatalf("up: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "::warning::"+tpl+":6:1: amazon-ebs.web: no subnet_id") {
		t.Errorf("up's log has no annotation for the missing subnet_id:\n%s", stdout)
	}
	if strings.Contains(stdout, "treated conservatively") {
		t.Errorf("a variable buildrole fills is noted as unknown:\n%s", stdout)
	}
	w.postEnv()
	if code, stdout, _ := w.run(t.Context(), "down"); code != cli.ExitOK {
		t.Fatalf("down: exit %d\n%s", code, stdout)
	}
}

// A step's `with:` key misspelt is refused, naming the input meant; one
// that is near no missing input (a newer action.yml's) is only warned
// about.
func TestActionInputTypoIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	runWith := func(extra map[string]string) (int, string) {
		for k, v := range extra {
			w.set(k, v)
		}
		var out strings.Builder
		code := cli.Main(t.Context(), []string{"buildrole", "up"}, cli.Env{
			Getenv: w.getenv, Stdout: &out, Stderr: &out,
			AWS: func(o *stsauth.Options) { o.EndpointURL = w.srv.URL() },
			Environ: func() []string {
				w.mu.Lock()
				defer w.mu.Unlock()
				var env []string
				for k, v := range w.vars {
					env = append(env, k+"="+v)
				}
				return env
			},
		})
		w.mu.Lock()
		for k := range extra {
			delete(w.vars, k)
		}
		w.mu.Unlock()
		return code, out.String()
	}
	boundary := w.getenv("INPUT_PERMISSIONS-BOUNDARY")
	w.mu.Lock()
	delete(w.vars, "INPUT_PERMISSIONS-BOUNDARY")
	w.mu.Unlock()
	code, out := runWith(map[string]string{"INPUT_PERMISSION-BOUNDARY": boundary, "INPUT_DRY-RUN": "false"})
	if code != cli.ExitUsage || !strings.Contains(out, `"permission-boundary" is not an input of buildrole; did you mean permissions-boundary?`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if n := len(w.srv.Requests()); n != 0 {
		t.Errorf("%d AWS requests, want none", n)
	}
	code, out = runWith(map[string]string{"INPUT_DRY-RUN": "true", "INPUT_SOMETHING-NEW": "x"})
	if code != cli.ExitOK || !strings.Contains(out, `::warning::with: "something-new" is not an input of buildrole`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// The readable plan stays on a screen or so for every fixture template.
func TestDryRunPlanIsShortForEveryTemplate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	files, _ := filepath.Glob("../../testdata/templates/*.pkr.hcl")
	more, _ := filepath.Glob("../../testdata/templates/*.json")
	planned := 0
	for _, f := range append(append(files, more...), "../../testdata/templates/multi") {
		code, stdout, _ := w.runNewcomer([]string{"up", "--aws-region", "us-east-1", "--template", f, "--instance-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`}, true)
		if code != cli.ExitOK {
			continue // a template this region or these inputs refuse
		}
		planned++
		if n := strings.Count(stdout, "\n"); n > 80 {
			t.Errorf("%s: the plan is %d lines, want at most 80:\n%s", f, n, stdout)
		}
	}
	if planned < 10 {
		t.Errorf("only %d templates planned", planned)
	}
}
