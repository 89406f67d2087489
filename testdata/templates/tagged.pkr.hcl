# amazon-ebs ready for scope: tags: everything Packer creates carries the
# run's tags from the request that creates it. No ami_users: with
# ami_regions, scope: tags refuses sharing (CopyImage cannot be bound to the
# run's AMI); tagged-ssm.pkr.hcl shares without copying.
variable "iam_instance_profile" {
  type = string
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

locals {
  tags = merge({ Project = "web" }, var.buildrole_run_tags)
}

source "amazon-ebs" "web" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  source_ami           = "ami-0123456789abcdef0"
  ssh_username         = "ubuntu"
  ami_name             = "web-tagged"
  ami_regions          = ["eu-west-1"]
  iam_instance_profile = var.iam_instance_profile
  run_tags             = local.tags
  run_volume_tags      = var.buildrole_run_tags
}

build {
  sources = ["source.amazon-ebs.web"]
}
