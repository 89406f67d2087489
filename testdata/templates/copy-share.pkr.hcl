# Two amazon-ebs sources: one copies its AMI to another region, the other
# shares its AMI. The build role's policy is the union of both, so under
# scope: tags a copy of any AMI the account can read could be tagged as the
# run's (CopyImage has no key on its source) and shared by the other's
# grant: scope: tags refuses the template; scope: region builds it.
variable "iam_instance_profile" {
  type = string
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

source "amazon-ebs" "copy" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  source_ami           = "ami-0123456789abcdef0"
  ssh_username         = "ec2-user"
  ami_name             = "copy-share-copied"
  ami_regions          = ["eu-west-1"]
  iam_instance_profile = var.iam_instance_profile
  run_tags             = var.buildrole_run_tags
  run_volume_tags      = var.buildrole_run_tags
}

source "amazon-ebs" "share" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  source_ami           = "ami-0123456789abcdef0"
  ssh_username         = "ec2-user"
  ami_name             = "copy-share-shared"
  ami_users            = ["210987654321"]
  iam_instance_profile = var.iam_instance_profile
  run_tags             = var.buildrole_run_tags
  run_volume_tags      = var.buildrole_run_tags
}

build {
  sources = ["source.amazon-ebs.copy", "source.amazon-ebs.share"]
}
