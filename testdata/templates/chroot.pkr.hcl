# amazon-chroot: registers its AMI from the snapshot it made. It changes no
# AMI attribute: with one (ami_description too) buildrole refuses it, since
# ModifyImageAttribute could then share an AMI registered from any snapshot.
variable "region" {
  type    = string
  default = "us-east-1"
}

source "amazon-chroot" "al2023" {
  region           = var.region
  source_ami       = "ami-0123456789abcdef0"
  ami_name         = "chroot-al2023"
  root_volume_size = 16
  root_volume_type = "gp3"
  root_volume_tags = {
    Name = "chroot-root"
  }
  ami_virtualization_type = "hvm"
  ena_support             = true
  copy_files              = ["/etc/resolv.conf"]
}

build {
  sources = ["source.amazon-chroot.al2023"]
}
