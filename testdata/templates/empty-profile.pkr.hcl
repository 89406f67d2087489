# iam_instance_profile known to be empty ("", the variable's default) is
# Packer's "no instance profile": nothing to pass, nothing to read.
variable "instance_profile" {
  type    = string
  default = ""
}

source "amazon-ebs" "noprofile" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  source_ami           = "ami-0123456789abcdef0"
  ssh_username         = "ec2-user"
  ami_name             = "no-profile"
  iam_instance_profile = var.instance_profile
}

build {
  sources = ["source.amazon-ebs.noprofile"]
}
