# amazon-ebs spot that finds its source AMI with a filter: the launch
# template's image is bound to the filter's owners under RunInstances; the
# fleet's own image check may carry no ec2:Owner (IfExists there).
variable "region" {
  type    = string
  default = "eu-central-1"
}

# Set by buildrole: PKR_VAR_iam_instance_profile.
variable "iam_instance_profile" {
  type = string
}

# Set by buildrole: PKR_VAR_buildrole_run_tags.
variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

source "amazon-ebs" "spot" {
  region              = var.region
  instance_type       = "t3.medium"
  spot_price          = "auto"
  spot_instance_types = ["t3.medium", "t3a.medium", "m5.large"]
  ami_name            = "spot-filter-image"

  source_ami_filter {
    filters = {
      name = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
    }
    most_recent = true
    owners      = ["099720109477"]
  }

  communicator         = "ssh"
  ssh_username         = "ec2-user"
  ssh_interface        = "session_manager"
  iam_instance_profile = var.iam_instance_profile

  run_tags        = var.buildrole_run_tags
  run_volume_tags = var.buildrole_run_tags
  spot_tags = {
    Purpose = "packer-spot"
  }

  associate_public_ip_address = true

  vpc_filter {
    filters = {
      "tag:Name"   = "packer-vpc"
      "is-default" = "false"
    }
  }

  subnet_filter {
    filters = {
      "tag:Tier" = "private"
    }
    most_free = true
    random    = false
  }
}

build {
  sources = ["source.amazon-ebs.spot"]
}
