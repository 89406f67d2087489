# amazon-ebs for scope: tags that reaches its VM through Session Manager with
# a pushed SSH key, encrypts with keys named by alias and by ARN, and shares
# the AMI and its snapshots (no copy, so sharing is bound to the run's AMI).
variable "iam_instance_profile" {
  type = string
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

source "amazon-ebs" "ssm" {
  region        = "us-east-1"
  instance_type = "t3.small"
  source_ami    = "ami-0123456789abcdef0"
  subnet_id     = "subnet-0d1e2f3a"
  ami_name      = "tagged-ssm"

  communicator         = "ssh"
  ssh_username         = "ec2-user"
  ssh_interface        = "session_manager"
  ssh_private_key_file = "~/.ssh/builder.pem"
  iam_instance_profile = var.iam_instance_profile

  run_tags        = var.buildrole_run_tags
  run_volume_tags = var.buildrole_run_tags

  ena_support     = true
  ami_description = "built under scope: tags"
  ami_users       = ["210987654321"]
  snapshot_users  = ["210987654321"]

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 20
    encrypted             = true
    kms_key_id            = "alias/packer-launch"
    delete_on_termination = true
  }

  ami_block_device_mappings {
    device_name           = "/dev/xvdb"
    volume_size           = 10
    encrypted             = true
    kms_key_id            = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    delete_on_termination = true
  }
}

build {
  sources = ["source.amazon-ebs.ssm"]
}
