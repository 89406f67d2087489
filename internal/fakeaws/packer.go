package fakeaws

import (
	"fmt"
	"strings"
	"time"
)

// PackerBuild is a minimal amazon-ebs build against fakeaws's EC2.
type PackerBuild struct {
	// Endpoint is the server's URL, custom_endpoint_ec2; empty, the
	// template names none (run it under exec --endpoint-url).
	Endpoint  string
	Region    string // default us-east-1
	SourceAMI string // an image seeded with EC2().SeedImage
	// SourceAMIName, when set instead of SourceAMI, finds the image with
	// source_ami_filter: this name pattern, SourceOwner's, most recent.
	SourceAMIName, SourceOwner string
	InstanceType               string // default t3.micro
	AMIName                    string // default "buildrole-test-{{timestamp}}"
	// Sleep, when not zero, is a shell-local provisioner that sleeps
	// while the instance runs: the moment to kill Packer (the instance,
	// its temporary security group and volumes then exist).
	Sleep time.Duration
	// AmazonPlugin, when set, is the version constraint of a
	// required_plugins block naming github.com/hashicorp/amazon, which
	// packer 1.9 needs to load the plugin.
	AmazonPlugin string
	// SkipSTSAndIAM: packer-plugin-amazon checks its credentials with STS
	// and the instance profile with IAM, whose endpoints custom_endpoint_ec2
	// does not set: skip_credential_validation and skip_profile_validation.
	SkipSTSAndIAM bool
}

// PackerEBSTemplate is an HCL2 template for b, for Debian's packer 1.6.6
// as for later ones: communicator none; the instance profile from
// var.iam_instance_profile and run_tags and run_volume_tags from
// var.buildrole_run_tags, which `buildrole up` exports as
// PKR_VAR_iam_instance_profile and PKR_VAR_buildrole_run_tags. Run it with
// AWS_POLL_DELAY_SECONDS=1 so the SDK's waiters poll at fakeaws's pace.
func PackerEBSTemplate(b PackerBuild) string {
	if b.Region == "" {
		b.Region = "us-east-1"
	}
	if b.InstanceType == "" {
		b.InstanceType = "t3.micro"
	}
	if b.AMIName == "" {
		b.AMIName = "buildrole-test-{{timestamp}}"
	}
	source := fmt.Sprintf("source_ami                 = %q", b.SourceAMI)
	if b.SourceAMIName != "" {
		source = fmt.Sprintf(`source_ami_filter {
    filters = {
      name                = %q
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = [%q]
    most_recent = true
  }`, b.SourceAMIName, b.SourceOwner)
	}
	var endpoint string
	if b.Endpoint != "" {
		endpoint = fmt.Sprintf("\n  custom_endpoint_ec2        = %q", b.Endpoint)
	}
	var skip string
	if b.SkipSTSAndIAM {
		skip = "\n  skip_credential_validation = true\n  skip_profile_validation    = true"
	}
	var prov string
	if b.Sleep > 0 {
		prov = fmt.Sprintf("\n  provisioner \"shell-local\" {\n    inline = [\"sleep %d\"]\n  }\n", int(b.Sleep.Round(time.Second)/time.Second))
	}
	var plugins string
	if b.AmazonPlugin != "" {
		plugins = fmt.Sprintf("packer {\n  required_plugins {\n    amazon = {\n      version = %q\n      source  = \"github.com/hashicorp/amazon\"\n    }\n  }\n}\n", b.AmazonPlugin)
	}
	return plugins + strings.TrimLeft(fmt.Sprintf(`
variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

variable "iam_instance_profile" {
  type    = string
  default = ""
}

source "amazon-ebs" "web" {
  region                     = %q
  instance_type              = %q
  %s
  ami_name                   = %q
  communicator               = "none"%s
  iam_instance_profile       = var.iam_instance_profile
  run_tags                   = var.buildrole_run_tags
  run_volume_tags            = var.buildrole_run_tags
  skip_metadata_api_check    = true%s
}

build {
  sources = ["source.amazon-ebs.web"]
%s}
`, b.Region, b.InstanceType, source, b.AMIName, endpoint, skip, prov), "\n")
}
