package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
