source "amazon-ebs" "tempprofile" {
  region        = "us-east-1"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ubuntu"
  ami_name      = "temporary-profile-image"

  temporary_iam_instance_profile_policy_document {
    Version = "2012-10-17"
    Statement {
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = ["arn:aws:s3:::my-artifacts/*"]
    }
    Statement {
      Effect   = "Allow"
      Action   = ["ssm:GetParameter", "ssm:GetParameters"]
      Resource = ["*"]
    }
  }
}

build {
  sources = ["source.amazon-ebs.tempprofile"]
}
