# amazon-ebssurrogate that registers its AMI from the snapshot of its
# launch_block_device_mappings volume and shares it (ami_users). IAM cannot
# tie RegisterImage to the build's snapshots, nor ModifyImageAttribute to the
# accounts it shares with: the build could register any snapshot of the
# account and share it with anyone. buildrole refuses it (no .calls file: if
# it were accepted, test/iamsim would fail for want of one).
variable "iam_instance_profile" {
  type = string
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

source "amazon-ebssurrogate" "disk" {
  region                  = "us-east-1"
  instance_type           = "t3.micro"
  source_ami              = "ami-0123456789abcdef0"
  ssh_username            = "ec2-user"
  ami_name                = "register-share"
  ami_virtualization_type = "hvm"
  subnet_id               = "subnet-0a0b0c0d"
  iam_instance_profile    = var.iam_instance_profile
  run_tags                = var.buildrole_run_tags
  ami_users               = ["210987654321"]

  launch_block_device_mappings {
    device_name           = "/dev/xvdf"
    volume_size           = 8
    volume_type           = "gp3"
    delete_on_termination = true
  }

  ami_root_device {
    source_device_name    = "/dev/xvdf"
    device_name           = "/dev/xvda"
    volume_size           = 8
    volume_type           = "gp3"
    delete_on_termination = true
  }
}

build {
  sources = ["source.amazon-ebssurrogate.disk"]
}
