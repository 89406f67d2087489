# amazon-ebs that finds its source AMI with a filter whose owners are known
# only at build time, and shares the result. Nothing binds the launch, so
# under scope: tags any AMI the account can use could be launched, imaged as
# the run's and shared: scope: tags refuses it; scope: region builds it.
variable "iam_instance_profile" {
  type = string
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

variable "base_owners" {
  type = list(string)
}

source "amazon-ebs" "base" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  ssh_username         = "ec2-user"
  ami_name             = "reimage-share"
  subnet_id            = "subnet-0a0b0c0d"
  iam_instance_profile = var.iam_instance_profile
  run_tags             = var.buildrole_run_tags
  run_volume_tags      = var.buildrole_run_tags
  ami_users            = ["210987654321"]

  source_ami_filter {
    filters = {
      name = "base-image-*"
    }
    most_recent = true
    owners      = var.base_owners
  }
}

build {
  sources = ["source.amazon-ebs.base"]
}
