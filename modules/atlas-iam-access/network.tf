################################################################################
# Network: a new VPC (create_network = true), or the caller's (vpc_id + subnet_ids)
################################################################################

locals {
  vpc_cidr = coalesce(var.vpc_cidr, "10.42.0.0/16")
  # One subnet in public mode; private mode spreads its interface endpoints over two availability zones.
  subnet_count = length(var.subnet_cidrs) > 0 ? length(var.subnet_cidrs) : (local.private ? 2 : 1)
  subnet_cidrs = length(var.subnet_cidrs) > 0 ? var.subnet_cidrs : [
    for i in range(local.subnet_count) : cidrsubnet(local.vpc_cidr, min(8, 28 - tonumber(split("/", local.vpc_cidr)[1])), i)
  ]
  # Not every zone offers every instance type (us-east-1e has no t3): take the zones that offer the host's.
  offered_zones = var.create_network && length(var.availability_zones) == 0 ? sort(data.aws_ec2_instance_type_offerings.host[0].locations) : []
  zones         = length(var.availability_zones) > 0 ? var.availability_zones : slice(local.offered_zones, 0, min(local.subnet_count, length(local.offered_zones)))

  # No network at all: Atlas users for role_arns only (create_host = false in public mode).
  vpc_id          = var.create_network ? aws_vpc.this[0].id : try(data.aws_vpc.existing[0].id, null)
  subnet_ids      = var.create_network ? aws_subnet.this[*].id : data.aws_subnet.existing[*].id
  route_table_ids = var.create_network ? aws_route_table.this[*].id : var.route_table_ids
}

data "aws_ec2_instance_type_offerings" "host" {
  count = var.create_network && length(var.availability_zones) == 0 ? 1 : 0

  location_type = "availability-zone"

  filter {
    name   = "instance-type"
    values = [var.instance_type]
  }
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:Flow logs are an input (flow_logs = true), off by default to spare a minimal stack their CloudWatch cost.
  count = var.create_network ? 1 : 0

  cidr_block = local.vpc_cidr
  # Both on: SSM's interface endpoints answer through private DNS, and Atlas PrivateLink's hostnames resolve
  # to the endpoint's private addresses only when the VPC resolves DNS.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = local.name })
}

# Take every rule off the VPC's default security group so nothing can use it by accident.
resource "aws_default_security_group" "this" {
  count = var.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(local.tags, { Name = "${local.name}-default" })
}

resource "aws_subnet" "this" {
  count = var.create_network ? local.subnet_count : 0

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = local.subnet_cidrs[count.index]
  availability_zone = local.zones[count.index]

  tags = merge(local.tags, { Name = "${local.name}-${var.network_mode}-${count.index}" })

  lifecycle {
    precondition {
      condition     = length(local.zones) >= local.subnet_count
      error_message = "Only ${length(local.zones)} availability zone(s) of this region offer ${var.instance_type}, and ${local.subnet_count} subnet(s) need one each: pick another instance_type, or set availability_zones."
    }
  }
}

# Public mode only: the host reaches SSM, STS, the package mirrors and Atlas through an internet gateway.
resource "aws_internet_gateway" "this" {
  count = var.create_network && !local.private ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(local.tags, { Name = local.name })
}

resource "aws_route_table" "this" {
  count = var.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(local.tags, { Name = "${local.name}-${var.network_mode}" })
}

resource "aws_route" "internet" {
  count = var.create_network && !local.private ? 1 : 0

  route_table_id         = aws_route_table.this[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "this" {
  count = var.create_network ? local.subnet_count : 0

  subnet_id      = aws_subnet.this[count.index].id
  route_table_id = aws_route_table.this[0].id
}

data "aws_vpc" "existing" {
  count = var.vpc_id != null ? 1 : 0

  id = var.vpc_id
}

data "aws_subnet" "existing" {
  count = length(var.subnet_ids)

  id     = var.subnet_ids[count.index]
  vpc_id = data.aws_vpc.existing[0].id
}

################################################################################
# VPC flow logs (flow_logs = true, new VPC only)
################################################################################

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_158:Encrypted with kms_key_arn when the caller gives one; otherwise with CloudWatch Logs' own key.
  count = var.create_network && var.flow_logs ? 1 : 0

  name              = "/atlasiam/${local.name}/vpc-flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = local.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  count = var.create_network && var.flow_logs ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.${local.dns_suffix}"]
    }

    # Confused-deputy guard, as the VPC flow logs guide shows it: only flow logs of this account.
    # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc-flow-log/*"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  count = var.create_network && var.flow_logs ? 1 : 0

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  count = var.create_network && var.flow_logs ? 1 : 0

  name                 = "${local.iam_name}-flow-logs"
  assume_role_policy   = data.aws_iam_policy_document.flow_logs_assume[0].json
  permissions_boundary = var.permissions_boundary

  tags = local.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  count = var.create_network && var.flow_logs ? 1 : 0

  name   = "flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}

resource "aws_flow_log" "this" {
  count = var.create_network && var.flow_logs ? 1 : 0

  vpc_id          = aws_vpc.this[0].id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn    = aws_iam_role.flow_logs[0].arn

  tags = local.tags
}
