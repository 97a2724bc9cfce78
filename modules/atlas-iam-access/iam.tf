################################################################################
# The host's IAM role: its ARN is the database username in Atlas
################################################################################

# No aws:SourceAccount/aws:SourceArn condition for EC2: an instance profile can only be passed within its own
# account (iam:PassRole), and EC2 does not set those keys when it assumes the role for an instance, so a
# condition on them would lock the host out. The flow-logs role, which VPC Flow Logs assumes, has them.
data "aws_iam_policy_document" "host_assume" {
  count = var.create_host ? 1 : 0

  statement {
    sid     = "EC2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.${local.dns_suffix}"]
    }
  }

  # Who else may assume the role, to prove the login from elsewhere (`atlasiam verify --from-here
  # --assume-role`, e.g. from CI): only the principals named, and no statement at all when none are.
  dynamic "statement" {
    for_each = length(var.verify_principals) > 0 ? [var.verify_principals] : []

    content {
      sid     = "VerifyFromHere"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }
}

resource "aws_iam_role" "host" {
  count = var.create_host ? 1 : 0

  name                 = "${local.iam_name}-host"
  description          = "Identity of the atlasiam host ${local.name}; Atlas authenticates this role's ARN (MONGODB-AWS)."
  assume_role_policy   = data.aws_iam_policy_document.host_assume[0].json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary
  # Must stay "/": STS session ARNs drop the path, so Atlas could never match a role with one.
  path = "/"

  tags = local.tags
}

# ssm_policy = "managed": AWS's AmazonSSMManagedInstanceCore (also allows ssm:GetParameter* on every parameter).
resource "aws_iam_role_policy_attachment" "ssm" {
  count = var.create_host && var.ssm_policy == "managed" ? 1 : 0

  role       = aws_iam_role.host[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

# ssm_policy = "scoped": only what SSM Agent needs to register and run commands (Run Command and its
# channels), and no parameter or document reads:
# https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html
data "aws_iam_policy_document" "ssm" {
  count = var.create_host && var.ssm_policy == "scoped" ? 1 : 0

  statement {
    sid = "SsmAgent"
    actions = [
      "ssm:UpdateInstanceInformation",
      "ssm:ListInstanceAssociations",
      "ssm:UpdateInstanceAssociationStatus",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
      "ec2messages:AcknowledgeMessage",
      "ec2messages:DeleteMessage",
      "ec2messages:FailMessage",
      "ec2messages:GetEndpoint",
      "ec2messages:GetMessages",
      "ec2messages:SendReply",
    ]
    # These actions take no resource ARN: the agent acts as the instance itself.
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "ssm" {
  count = var.create_host && var.ssm_policy == "scoped" ? 1 : 0

  name   = "ssm-agent"
  role   = aws_iam_role.host[0].id
  policy = data.aws_iam_policy_document.ssm[0].json
}

data "aws_iam_policy_document" "wheelhouse_read" {
  count = local.wheelhouse ? 1 : 0

  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.wheelhouse[0].arn]
  }

  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.wheelhouse[0].arn}/wheels/*"]
  }
}

resource "aws_iam_role_policy" "wheelhouse" {
  count = local.wheelhouse ? 1 : 0

  name   = "wheelhouse-read"
  role   = aws_iam_role.host[0].id
  policy = data.aws_iam_policy_document.wheelhouse_read[0].json
}

resource "aws_iam_instance_profile" "host" {
  count = var.create_host ? 1 : 0

  name = "${local.iam_name}-host"
  role = aws_iam_role.host[0].name

  tags = local.tags
}
