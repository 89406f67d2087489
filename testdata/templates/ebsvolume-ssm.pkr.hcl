# Set by buildrole: PKR_VAR_iam_instance_profile.
variable "iam_instance_profile" {
  type = string
}

source "amazon-ebsvolume" "data" {
  region        = "us-east-1"
  instance_type = "t3.small"
  source_ami    = "ami-0123456789abcdef0"
  subnet_id     = "subnet-0d1e2f"
  vpc_id        = "vpc-0d1e2f"

  availability_zone = "us-east-1a"

  communicator         = "ssh"
  ssh_username         = "ec2-user"
  ssh_interface        = "session_manager"
  ssh_private_key_file = "~/.ssh/builder.pem"
  iam_instance_profile = var.iam_instance_profile

  run_volume_tags = {
    Purpose = "packer-build"
  }

  ebs_volumes {
    device_name           = "/dev/xvdf"
    volume_type           = "gp3"
    volume_size           = 50
    delete_on_termination = false
    snapshot_volume       = true
    snapshot_users        = ["210987654321"]
    tags = {
      Name = "data"
    }
    snapshot_tags = {
      Name = "data-snapshot"
    }
  }
}

build {
  sources = ["source.amazon-ebsvolume.data"]
}
