################################################################################
# The host's IAM role: its ARN is the database username in Atlas
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "EC2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.${data.aws_partition.current.dns_suffix}"]
    }
  }

  # Who else may assume the role, to prove the login from elsewhere (`atlasiam verify --from-here
  # --assume-role`, e.g. from CI or an operator's machine): only the principals the config names, and
  # no statement at all when it names none. An account id trusts those of that account's principals
  # whose own IAM policies allow sts:AssumeRole on this role.
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

resource "aws_iam_role" "this" {
  name                 = "${local.name}-host"
  description          = "Identity of the atlasiam host; Atlas authenticates this role's ARN (MONGODB-AWS)."
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  # Must stay "/": STS session ARNs drop the path, so Atlas could never match a role with one.
  path = "/"

  lifecycle {
    precondition {
      condition     = length("${local.name}-host") <= 64
      error_message = "name and environment make the host's IAM role name ${local.name}-host longer than IAM's 64 characters: shorten name or environment."
    }
  }
}

resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "this" {
  name = "${local.name}-host"
  role = aws_iam_role.this.name
}
