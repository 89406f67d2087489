package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/run"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func parse(inputs map[string]string) (*Config, error) {
	return Parse(Source{
		Input:  func(n string) string { return inputs[n] },
		GitHub: GitHub{Repository: "acme/web", RunID: "99", RunAttempt: "2", Ref: "refs/pull/7/merge", EventName: "pull_request"},
		RunID:  "abcdef01-0000-4000-8000-000000000000",
		Now:    now,
	})
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	c, err := parse(map[string]string{"aws-region": "eu-west-1", "role-to-assume": "arn:aws:iam::123456789012:role/ci/buildrole-bootstrap"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"partition", c.Partition, "aws"},
		{"account", c.AccountID, "123456789012"},
		{"audience", c.Audience, "sts.amazonaws.com"},
		{"session", c.RoleSessionName, "buildrole-99-2"},
		{"duration", c.DurationSeconds, int32(3600)},
		{"retries", c.RetryMaxAttempts, 8},
		{"path", c.Path, "/buildrole/"},
		{"profile", c.InstanceProfile, ProfileSeparate},
		{"export", c.ExportCredentials, true},
		{"expires", c.ExpiresAt, now.Add(6 * time.Hour)},
		{"role", c.Names.Role, "buildrole-web-pr7-abcdef01"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParsePartitionsAndLists(t *testing.T) {
	t.Parallel()
	c, err := parse(map[string]string{
		"aws-region": "cn-north-1", "role-to-assume": "arn:aws-cn:iam::123456789012:role/b",
		"permissions-boundary": "arn:aws-cn:iam::123456789012:policy/boundary",
		"allowed-source-cidrs": "203.0.113.0/24\n2001:db8::/32", "ttl": "2d", "max-ttl": "3d", "tags": "team=x,env=ci",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Partition != "aws-cn" || len(c.SourceCIDRs) != 2 || c.ExpiresAt != now.Add(48*time.Hour) || len(c.Tags) < 2 {
		t.Errorf("config = %+v", c)
	}
}

// Every bad input is reported, not just the first.
func TestParseReportsEveryBadInput(t *testing.T) {
	t.Parallel()
	_, err := parse(map[string]string{"aws-region": "nowhere", "path": "x", "ttl": "1s", "instance-profile": "shared", "instance-policy": `{"Version":"2012-10-17","Statement":[]}`})
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{"aws-region", "path", "ttl", "instance-policy"} {
		if !strings.Contains(err.Error(), `input "`+name+`"`) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

// A run may not claim to live longer than the account allows: sweep
// would take it for a planted role.
func TestTTLWithinMaxTTL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   map[string]string
		want string
	}{
		{map[string]string{"ttl": "25h"}, `input "ttl": 25h is more than max-ttl 24h`},
		{map[string]string{"ttl": "8d", "max-ttl": "7d"}, `input "ttl": 8d is more than max-ttl 7d`},
		{map[string]string{"max-ttl": "31d"}, `input "max-ttl": "31d" must be a duration`},
		{map[string]string{"max-ttl": "never"}, `input "max-ttl"`},
	} {
		c.in["aws-region"] = "us-east-1"
		if _, err := parse(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.in, err, c.want)
		}
	}
	if c, err := parse(map[string]string{"aws-region": "us-east-1", "ttl": "24h"}); err != nil || c.MaxTTL != run.DefaultMaxTTL {
		t.Errorf("ttl = max-ttl refused: %v", err)
	}
	if in, _ := Lookup("max-ttl"); in.Default != "24h" || run.DefaultMaxTTL != 24*time.Hour {
		t.Errorf("max-ttl's default %q is not run.DefaultMaxTTL %s", in.Default, run.DefaultMaxTTL)
	}
	if d, given, err := ParseMaxTTL(Source{Input: func(string) string { return "" }}); err != nil || d != run.DefaultMaxTTL || given {
		t.Errorf("ParseMaxTTL default: %s, given %v, %v", d, given, err)
	}
	if d, given, err := ParseMaxTTL(Source{Input: func(string) string { return "3d" }}); err != nil || d != 72*time.Hour || !given {
		t.Errorf("ParseMaxTTL 3d: %s, given %v, %v", d, given, err)
	}
}

func TestSubjectAndPR(t *testing.T) {
	t.Parallel()
	cases := []struct {
		g       GitHub
		sub, pr string
	}{
		{GitHub{Repository: "a/b", EventName: "pull_request", Ref: "refs/pull/5/merge"}, "repo:a/b:pull_request", "5"},
		{GitHub{Repository: "a/b", EventName: "push", Ref: "refs/heads/main"}, "repo:a/b:ref:refs/heads/main", ""},
	}
	for _, c := range cases {
		if got := c.g.Subject(); got != c.sub {
			t.Errorf("Subject = %q, want %q", got, c.sub)
		}
		if got := c.g.PR(); got != c.pr {
			t.Errorf("PR = %q, want %q", got, c.pr)
		}
	}
}

// -var values reach the template: a variable that sets ami_regions widens
// the regions the policy allows.
func TestTemplateVars(t *testing.T) {
	t.Parallel()
	c, err := parse(map[string]string{"aws-region": "us-east-1", "template": "../../testdata/templates/multi", "template-vars": `ami_regions=["ca-central-1"]`})
	if err != nil {
		t.Fatal(err)
	}
	var regions []string
	for _, s := range c.Packer.Sources {
		if v, ok := s.Options["ami_regions"]; ok {
			regions = append(regions, v.List...)
		}
	}
	if !strings.Contains(strings.Join(regions, ","), "ca-central-1") {
		t.Errorf("ami_regions = %v, want ca-central-1 from template-vars", regions)
	}
	if _, err := parse(map[string]string{"aws-region": "us-east-1", "template": "../../testdata/templates/multi", "template-vars": "novalue"}); err == nil || !strings.Contains(err.Error(), `input "template-vars"`) {
		t.Errorf("bad template-vars: %v", err)
	}
}

// A template's env() cannot read the runner's secrets into the policy.
func TestTemplateEnvCannotReadSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmpl := dir + "/t.pkr.hcl"
	src := `variable "kp" {
  default = env("ACTIONS_RUNTIME_TOKEN")
}
variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}
source "amazon-ebs" "x" {
  region           = env("AWS_REGION")
  instance_type    = "t3.micro"
  source_ami       = "ami-1"
  ssh_username     = "u"
  ami_name         = "x"
  ssh_keypair_name = var.kp
  ssh_private_key_file = "k"
}
build {
  sources = ["source.amazon-ebs.x"]
}
`
	if err := os.WriteFile(tmpl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ACTIONS_RUNTIME_TOKEN": "s3cr3t-runtime-token", "AWS_REGION": "us-east-1"}
	c, err := Parse(Source{
		Input:  func(n string) string { return map[string]string{"aws-region": "us-east-1", "template": tmpl}[n] },
		GitHub: GitHub{Repository: "a/b", RunID: "1"}, RunID: "abcdef01-0000-4000-8000-000000000000", Now: now,
		Getenv: func(k string) string { return env[k] },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Packer.Sources[0]
	if v := s.Options["ssh_keypair_name"]; v.Known || strings.Contains(v.String, "s3cr3t") {
		t.Errorf("ssh_keypair_name = %+v: env() read a secret", v)
	}
	if r, ok := s.Str("region"); !ok || r != "us-east-1" {
		t.Errorf("region = %q, %v: env(\"AWS_REGION\") should be readable", r, ok)
	}
}

func TestSharedProfileRefusesSourceCIDRs(t *testing.T) {
	t.Parallel()
	_, err := parse(map[string]string{"aws-region": "us-east-1", "instance-profile": "shared", "allowed-source-cidrs": "203.0.113.0/24"})
	if err == nil || !strings.Contains(err.Error(), `input "instance-profile"`) {
		t.Errorf("err = %v", err)
	}
}
