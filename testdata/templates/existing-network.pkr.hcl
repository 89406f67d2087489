source "amazon-ebs" "network" {
  region        = "us-west-2"
  instance_type = "c6i.large"
  source_ami    = "ami-0a1b2c3d4e5f67890"
  ami_name      = "existing-network-image"

  vpc_id               = "vpc-0abc1234def567890"
  subnet_id            = "subnet-0123abcd4567ef890"
  security_group_ids   = ["sg-0aaa1111bbbb22223", "sg-0ccc3333dddd44445"]
  ssh_username         = "ec2-user"
  ssh_keypair_name     = "packer-builds"
  ssh_private_key_file = "~/.ssh/packer-builds.pem"

  deprecate_at = "2030-01-01T00:00:00Z"
  imds_support = "v2.0"

  deregistration_protection {
    enabled       = true
    with_cooldown = false
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

build {
  sources = ["source.amazon-ebs.network"]
}
