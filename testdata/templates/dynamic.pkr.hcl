data "amazon-parameterstore" "copy_regions" {
  name   = "/packer/copy-regions"
  region = "us-east-1"
}

data "amazon-ami" "base" {
  region = "us-east-1"
  filters = {
    name                = "al2023-ami-*-x86_64"
    virtualization-type = "hvm"
  }
  owners      = ["amazon"]
  most_recent = true
}

locals {
  regions = split(",", data.amazon-parameterstore.copy_regions.value)
}

source "amazon-ebs" "dynamic" {
  region        = "us-east-1"
  instance_type = "t3.micro"
  ssh_username  = "ec2-user"
  source_ami    = data.amazon-ami.base.id
  ami_name      = "dynamic-${uuidv4()}"
  ami_regions   = local.regions
}

build {
  sources = ["source.amazon-ebs.dynamic"]
}
