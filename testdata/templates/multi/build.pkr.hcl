build {
  name    = "multi"
  sources = ["source.amazon-ebs.base"]

  source "source.amazon-ebs.base" {
    name          = "arm"
    instance_type = "t4g.micro"
    ami_name      = "${local.ami_name}-arm64"
    ami_regions   = ["ap-southeast-2"]
  }

  post-processor "manifest" {}
}
