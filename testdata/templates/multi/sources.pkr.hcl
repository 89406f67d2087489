source "amazon-ebs" "base" {
  region        = var.region
  instance_type = "t3.micro"
  ssh_username  = "ubuntu"
  source_ami    = "ami-0123456789abcdef0"
  ami_name      = local.ami_name
  ami_regions   = var.ami_regions
  encrypt_boot  = var.encrypt
  run_tags      = local.common_tags
}
