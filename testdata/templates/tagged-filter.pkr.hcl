# amazon-ebs for scope: tags that finds its source AMI with a filter and
# shares the result. The launch is bound to the filter's owners (ec2:Owner)
# and to the instance type, so the run cannot launch another account's image
# (a golden AMI shared with this one), image it as its own and share it.
variable "iam_instance_profile" {
  type = string
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

source "amazon-ebs" "ubuntu" {
  region               = "us-east-1"
  instance_type        = "t3.small"
  ssh_username         = "ubuntu"
  ami_name             = "tagged-filter"
  subnet_id            = "subnet-0f1e2d3c"
  iam_instance_profile = var.iam_instance_profile
  run_tags             = var.buildrole_run_tags
  run_volume_tags      = var.buildrole_run_tags
  ami_users            = ["210987654321"]

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    most_recent = true
    owners      = ["099720109477", "self"]
  }
}

build {
  sources = ["source.amazon-ebs.ubuntu"]
}
