################################################################################
# Names, tags and the features this call turns on
################################################################################

locals {
  name = "${var.name}-${var.environment}"

  # IAM is global to the account, unlike everything else here: the same name and environment in two
  # regions would collide (EntityAlreadyExists). A short hash of name, environment and region keeps them
  # apart, and cutting the readable part at 44 characters keeps every IAM name the module makes within
  # IAM's 64 (the longest suffix is "-flow-logs": 44 + 1 + 8 + 10 = 63).
  iam_name = "${substr(local.name, 0, 44)}-${substr(sha256("${var.name}/${var.environment}/${local.region}"), 0, 8)}"

  tags = merge(var.tags, {
    "atlasiam:name"        = var.name
    "atlasiam:environment" = var.environment
    "managed-by"           = "atlasiam"
  })

  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  account_id = data.aws_caller_identity.current.account_id

  private = var.network_mode == "private"
  # Private mode installs the probe's Python packages from a wheelhouse in S3 unless the AMI has them.
  wheelhouse = local.private && var.create_host && var.bootstrap

  # Where the host's user data installs Python with pymongo[aws]; verify runs the probe with it.
  venv_python = "/opt/atlasiam/venv/bin/python3"
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}
