ami_regions = ["us-west-2", "eu-west-1"]
encrypt     = true
ami_prefix  = "prod"
