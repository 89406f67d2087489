# amazon-instance: an instance-store AMI bundled on the instance, uploaded to
# s3_bucket and registered from the bundle's manifest. RegisterImage names no
# snapshot, so the build may register none (no snapshot of the account can
# leave as an AMI through it).
variable "iam_instance_profile" {
  type = string
}

source "amazon-instance" "store" {
  region               = "us-east-1"
  instance_type        = "m3.medium"
  source_ami           = "ami-0123456789abcdef0"
  ssh_username         = "ec2-user"
  ami_name             = "instance-store"
  ami_description      = "instance-store image"
  account_id           = "123456789012"
  s3_bucket            = "images-bundles"
  x509_cert_path       = "cert.pem"
  x509_key_path        = "key.pem"
  iam_instance_profile = var.iam_instance_profile
}

build {
  sources = ["source.amazon-instance.store"]
}
