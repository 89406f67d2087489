variable "region" {
  type    = string
  default = "us-east-2"
}

source "amazon-ebs" "windows" {
  region        = var.region
  instance_type = "m5.large"
  ami_name      = "windows-2022-base"

  source_ami_filter {
    filters = {
      name                = "Windows_Server-2022-English-Full-Base-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    most_recent = true
    owners      = ["amazon"]
  }

  communicator             = "winrm"
  winrm_username           = "Administrator"
  winrm_use_ssl            = true
  winrm_insecure           = true
  winrm_timeout            = "15m"
  windows_password_timeout = "20m"
  user_data_file           = "./scripts/bootstrap_win.txt"
}

build {
  sources = ["source.amazon-ebs.windows"]

  provisioner "powershell" {
    inline = ["Write-Output hello"]
  }
}
