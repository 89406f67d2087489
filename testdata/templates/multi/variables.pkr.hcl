variable "region" {
  type    = string
  default = "us-east-1"
}

variable "ami_prefix" {
  type    = string
  default = "multi"
}

variable "ami_regions" {
  type    = list(string)
  default = []
}

variable "encrypt" {
  type    = bool
  default = false
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

local "common_tags" {
  expression = merge({ Project = "multi" }, var.buildrole_run_tags)
}

locals {
  ami_name = "${var.ami_prefix}-${lower(local.os)}"
  os       = "Ubuntu"
}
