package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/testenv"
)

// debianPacker is Debian's packer 1.6.6 on PATH, or the test ends:
// skipped, or failed under BUILDROLE_TEST_REQUIRE=1 (make test sets it).
// Another version is no substitute: later ones ship the Amazon builder as
// a separate plugin, and the test expects 1.6.6's AWS SDK for Go v1 events.
func debianPacker(t *testing.T) string {
	t.Helper()
	const how = "the exec test drives Debian's packer 1.6.6: apt-get install packer; make test runs it"
	packer := testenv.Tool(t, "packer", how)
	cmd := exec.Command(packer, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	v, _, _ := strings.Cut(string(out), "\n")
	if err != nil {
		v = err.Error()
	}
	if v != "Packer v1.6.6" {
		testenv.Missing(t, fmt.Sprintf("packer at %s says %q, not Packer v1.6.6: %s", packer, v, how))
	}
	return packer
}

// Debian's packer 1.6.6 (its Amazon builder on the AWS SDK for Go v1)
// builds an amazon-ebs template under `buildrole exec` against fakeaws's
// EC2 endpoint as a user without EC2 grants, refused every call: the denial is seen through the
// plugin's own client-side monitoring events.
func TestExecWithRealPacker(t *testing.T) {
	packer := debianPacker(t)
	srv := fakeaws.NewServer()
	t.Cleanup(srv.Close)
	srv.AddUser(recordedKey, "ci", "")
	dir := t.TempDir()
	template := filepath.Join(dir, "web.pkr.hcl")
	if err := os.WriteFile(template, []byte(fmt.Sprintf(`
source "amazon-ebs" "web" {
  region                     = "us-east-1"
  instance_type              = "t3.micro"
  source_ami                 = "ami-0abc1234"
  ami_name                   = "buildrole-exec-test"
  communicator               = "none"
  custom_endpoint_ec2        = %q
  skip_credential_validation = true
  skip_metadata_api_check    = true
}

# A second build that lasts a second keeps packer, and so the Amazon
# plugin's process, alive after the refusal: the SDK sends its events from
# a goroutine, and what a process still holds when it is ended is lost.
source "null" "wait" {
  communicator = "none"
}

build {
  sources = ["source.amazon-ebs.web", "source.null.wait"]
  provisioner "shell-local" {
    only   = ["null.wait"]
    inline = ["sleep 1"]
  }
}
`, srv.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	reportFile := filepath.Join(dir, "report.json")
	r := execRun{environ: []string{
		"HOME=" + dir, "PACKER_CONFIG_DIR=" + dir, "PACKER_CACHE_DIR=" + filepath.Join(dir, "cache"), "CHECKPOINT_DISABLE=1",
		"AWS_ACCESS_KEY_ID=" + recordedKey, "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
	}}
	code, stdout, stderr := r.run(t, "--template", template, "--aws-region", "us-east-1", "--report", reportFile, "--",
		packer, "build", "-color=false", template)
	if code != 1 {
		t.Fatalf("exit %d, want packer's 1:\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout+stderr, "UnauthorizedOperation") {
		t.Errorf("packer's own output lacks the refusal:\n%s%s", stdout, stderr)
	}
	rep, _ := readReport(t, reportFile)
	// What fakeaws saw, independently of the events.
	var seen []string
	for _, c := range srv.Requests() {
		if c.Service == "ec2" {
			seen = append(seen, "ec2:"+c.Action)
		}
	}
	var reported []string
	for _, c := range rep.Calls {
		for i := 0; i < c.Count; i++ {
			reported = append(reported, c.Service+":"+c.API)
		}
	}
	if len(seen) == 0 || strings.Join(reported, " ") != strings.Join(seen, " ") {
		t.Errorf("report counts %v, fakeaws saw %v", reported, seen)
	}
	if rep.ExitCode != 1 || rep.Command != "packer" || len(rep.Denied) != 1 || rep.Denied[0].Action != seen[0] || rep.Calls[0].Errors["UnauthorizedOperation"] != 1 {
		t.Fatalf("report %+v", rep)
	}
	// The template's policy grants the call: packer ran with other
	// credentials than a build role's.
	if d := rep.Denied[0]; d.Statement != "Describe" || !strings.Contains(d.Fix, "the call did not run under this policy") {
		t.Errorf("denial %+v", d)
	}
	if !strings.Contains(stderr, "denied: "+seen[0]+" in us-east-1 (UnauthorizedOperation x1)") {
		t.Errorf("summary:\n%s", stderr)
	}
	b, _ := os.ReadFile(reportFile)
	if strings.Contains(string(b), recordedKey) || strings.Contains(stderr[strings.Index(stderr, "buildrole exec:"):], recordedKey) {
		t.Error("the access key id reached the report or the summary")
	}
}

// ebsTemplate is an amazon-ebs build with no endpoint of its own: under
// exec --endpoint-url its calls reach fakeaws through the proxy. plugins
// is a packer block (required_plugins) or "".
func ebsTemplate(t *testing.T, dir, plugins string) string {
	t.Helper()
	template := filepath.Join(dir, "web.pkr.hcl")
	if err := os.WriteFile(template, []byte(plugins+`
source "amazon-ebs" "web" {
  region                  = "us-east-1"
  instance_type           = "t3.micro"
  source_ami              = "ami-0abc1234"
  ami_name                = "buildrole-exec-test"
  communicator            = "none"
  skip_metadata_api_check = true
}

build {
  sources = ["source.amazon-ebs.web"]
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return template
}

// packerUnderExec runs packer build under exec --endpoint-url against a
// fresh fakeaws as a session whose signatures fakeaws checks, and checks
// the report against what fakeaws logged.
func packerUnderExec(t *testing.T, packer, plugins string, extraEnv ...string) {
	t.Helper()
	srv := fakeaws.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	template := ebsTemplate(t, dir, plugins)
	creds := sessionFor(t, srv)
	reportFile := filepath.Join(dir, "report.json")
	r := execRun{environ: append(append(creds, "HOME="+dir, "PACKER_CONFIG_DIR="+dir, "PACKER_CACHE_DIR="+filepath.Join(dir, "cache"), "CHECKPOINT_DISABLE=1",
		"AWS_PROFILE=", "AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "HTTPS_PROXY=", "NO_PROXY="), extraEnv...)}
	code, stdout, stderr := r.run(t, "--template", template, "--aws-region", "us-east-1", "--endpoint-url", srv.URL(), "--report", reportFile, "--",
		packer, "build", "-color=false", template)
	if code != 1 {
		t.Fatalf("exit %d, want packer's 1:\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rep, _ := readReport(t, reportFile)
	var seen, reported []string
	for _, c := range srv.Requests() {
		seen = append(seen, c.Service+":"+c.Action)
	}
	for _, c := range rep.Calls {
		for range c.Count {
			reported = append(reported, c.Service+":"+c.API)
		}
	}
	slices.Sort(seen)
	slices.Sort(reported)
	if len(seen) == 0 || !slices.Equal(reported, seen) {
		t.Errorf("report counts %v, fakeaws saw %v\n%s", reported, seen, stderr)
	}
	t.Logf("fakeaws saw %v\n%s", seen, stderr[strings.Index(stderr, "buildrole exec:"):])
	// UnauthorizedOperation, not AuthFailure: the signature held.
	if len(rep.Denied) != 1 || !strings.HasPrefix(rep.Denied[0].Action, "ec2:") || rep.Denied[0].Fix == "" {
		t.Fatalf("report %+v\n%s", rep, stderr)
	}
	if !strings.Contains(stderr, "denied: "+rep.Denied[0].Action+" in us-east-1 (UnauthorizedOperation x1)") {
		t.Errorf("summary:\n%s", stderr)
	}
	key := strings.TrimPrefix(creds[0], "AWS_ACCESS_KEY_ID=")
	b, _ := os.ReadFile(reportFile)
	if strings.Contains(string(b)+stderr[strings.Index(stderr, "buildrole exec:"):], key) {
		t.Error("the access key id reached the report or the summary")
	}
}

// Debian's packer 1.6.6 (SDK v1) with a template that names no endpoint,
// seen on the wire (and through its events, once).
func TestExecRealPackerThroughTheProxy(t *testing.T) {
	packerUnderExec(t, debianPacker(t), "")
}

// Today's client stack: packer 1.9.5 loading packer-plugin-amazon 1.8.2
// (amazon-ebs on the AWS SDK for Go v2, no client-side monitoring) for a
// template that declares it, seen on the wire only.
func TestExecPackerWithSDKv2PluginThroughTheProxy(t *testing.T) {
	packer, plugins := testenv.PackerStack(t)
	packerUnderExec(t, packer, `packer {
  required_plugins {
    amazon = {
      version = ">= 1.3"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
`, "PACKER_PLUGIN_PATH="+plugins)
}
