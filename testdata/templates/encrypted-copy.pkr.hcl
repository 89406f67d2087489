variable "region" {
  type    = string
  default = "us-east-1"
}

variable "copy_regions" {
  type    = list(string)
  default = ["us-west-2", "eu-west-1"]
}

source "amazon-ebs" "encrypted" {
  region        = var.region
  instance_type = "t3.small"
  ssh_username  = "ec2-user"
  source_ami    = "ami-0123456789abcdef0"
  ami_name      = "encrypted-al2023"

  encrypt_boot = true
  kms_key_id   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  ami_regions  = var.copy_regions
  region_kms_key_ids = {
    "us-west-2" = "arn:aws:kms:us-west-2:123456789012:key/66666666-7777-8888-9999-000000000000"
    "eu-west-1" = "alias/packer-copy"
  }

  ami_users      = ["210987654321", "345678901234"]
  snapshot_users = ["210987654321"]

  force_deregister      = true
  force_delete_snapshot = true

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 20
    volume_type           = "gp3"
    encrypted             = true
    kms_key_id            = "alias/packer-launch"
    delete_on_termination = true
  }
}

build {
  sources = ["source.amazon-ebs.encrypted"]
}
