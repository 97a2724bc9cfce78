################################################################################
# Workloads: a Lambda function, an ECS task or an EKS pod whose IAM role logs in to Atlas
################################################################################

locals {
  # The workloads whose role the module makes; the others bring theirs (role_arn).
  created_workloads = { for key, w in var.workloads : key => w if w.role_arn == null }

  # "<iam_name>-<workload>", within IAM's 64 characters: iam_name is at most 53 (see main.tf), so the
  # workload part is cut to what is left. Cutting could make two names equal: the role's precondition
  # refuses that, and keeps every name within 64.
  workload_role_names = {
    for key, w in local.created_workloads : key => "${local.iam_name}-${substr(key, 0, 64 - length(local.iam_name) - 1)}"
  }

  # IRSA: the OIDC provider ARN is arn:PARTITION:iam::ACCOUNT:oidc-provider/ISSUER, and the trust policy's
  # condition keys are "ISSUER:sub" and "ISSUER:aud".
  workload_oidc_issuers = {
    for key, w in local.created_workloads : key => split("oidc-provider/", w.eks.oidc_provider_arn)[1]
    if w.kind == "eks" && try(w.eks.identity, null) == "irsa"
  }

  # Every workload's role ARN, created or brought: the Atlas username of its database user.
  workload_role_arns = {
    for key, w in var.workloads : key => (w.role_arn != null ? w.role_arn : aws_iam_role.workload[key].arn)
  }
}

# The trust policy of each role the module makes, by kind:
data "aws_iam_policy_document" "workload_assume" {
  for_each = local.created_workloads

  # Lambda: the execution role trusts the Lambda service principal
  # (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html). aws:SourceAccount keeps
  # another account's functions out: the Lambda guide says a role trust policy may hold aws:SourceAccount and
  # aws:SourceArn "when a service assumes a role in your account"
  # (https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html), and AWS's own Lambda trust
  # policy sample uses it (aws/agent-toolkit-for-aws, .../deploying-custom-domain-rest-api/scripts/lambda-trust-policy.json).
  # No aws:SourceArn: Lambda documents that key only for policies where the function is the target resource.
  dynamic "statement" {
    for_each = each.value.kind == "lambda" ? [each.key] : []

    content {
      sid     = "LambdaAssumeRole"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "Service"
        identifiers = ["lambda.${local.dns_suffix}"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }

  # ECS: the task role trusts ecs-tasks, only for tasks of this account in this region, the confused-deputy
  # conditions of the ECS task IAM role docs
  # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
  dynamic "statement" {
    for_each = each.value.kind == "ecs" ? [each.key] : []

    content {
      sid     = "EcsTasksAssumeRole"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "Service"
        identifiers = ["ecs-tasks.${local.dns_suffix}"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
      }
    }
  }

  # EKS Pod Identity: the role trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession (the agent
  # tags the session with the cluster, namespace and service account)
  # (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html). The association below binds it to one
  # service account. The service principal has no partition DNS suffix, as in the docs.
  dynamic "statement" {
    for_each = each.value.kind == "eks" && try(each.value.eks.identity, null) == "pod-identity" ? [each.key] : []

    content {
      sid     = "EksPodIdentityAssumeRole"
      actions = ["sts:AssumeRole", "sts:TagSession"]

      principals {
        type        = "Service"
        identifiers = ["pods.eks.amazonaws.com"]
      }
    }
  }

  # EKS IRSA: the role trusts the cluster's OIDC provider, for one service account's token with STS as its
  # audience (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html).
  dynamic "statement" {
    for_each = contains(keys(local.workload_oidc_issuers), each.key) ? [local.workload_oidc_issuers[each.key]] : []

    content {
      sid     = "EksIrsaAssumeRole"
      actions = ["sts:AssumeRoleWithWebIdentity"]

      principals {
        type        = "Federated"
        identifiers = [each.value.eks.oidc_provider_arn]
      }

      condition {
        test     = "StringEquals"
        variable = "${statement.value}:sub"
        values   = ["system:serviceaccount:${each.value.eks.namespace}:${each.value.eks.service_account}"]
      }

      condition {
        test     = "StringEquals"
        variable = "${statement.value}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "workload" {
  for_each = local.created_workloads

  name                 = local.workload_role_names[each.key]
  description          = "Identity of the atlasiam ${each.value.kind} workload ${each.key} of ${local.name}; Atlas authenticates this role's ARN (MONGODB-AWS)."
  assume_role_policy   = data.aws_iam_policy_document.workload_assume[each.key].json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary
  # Must stay "/": STS session ARNs drop the path, so Atlas could never match a role with one.
  path = "/"

  tags = merge(local.tags, { "atlasiam:workload" = each.key })

  lifecycle {
    precondition {
      condition     = length(local.workload_role_names[each.key]) <= 64 && length(distinct(values(local.workload_role_names))) == length(local.workload_role_names)
      error_message = "workloads: the role name ${local.workload_role_names[each.key]} is over IAM's 64 characters or equal to another workload's once cut; give the workloads names that differ in their first ${64 - length(local.iam_name) - 1} characters."
    }
  }
}

# Pod Identity: the EKS Pod Identity Agent gives pods of this service account the role's credentials.
resource "aws_eks_pod_identity_association" "workload" {
  for_each = { for key, w in local.created_workloads : key => w if w.kind == "eks" && try(w.eks.identity, null) == "pod-identity" }

  cluster_name    = each.value.eks.cluster_name
  namespace       = each.value.eks.namespace
  service_account = each.value.eks.service_account
  role_arn        = aws_iam_role.workload[each.key].arn

  tags = merge(local.tags, { "atlasiam:workload" = each.key })
}

# Lambda: a created role may write the function's logs, and, for a function in a VPC, manage the network
# interfaces Lambda attaches in its subnets; without those Lambda refuses to create a VPC function ("The provided
# execution role does not have permissions to call CreateNetworkInterface on EC2";
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).
resource "aws_iam_role_policy_attachment" "workload_lambda" {
  for_each = { for key, w in local.created_workloads : key => w if w.kind == "lambda" }

  role       = aws_iam_role.workload[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/${each.value.vpc ? "AWSLambdaVPCAccessExecutionRole" : "AWSLambdaBasicExecutionRole"}"
}

################################################################################
# ECS: what `atlasiam verify` needs to run its one-off probe task (Fargate, awslogs)
################################################################################

locals {
  ecs_verify = length([for w in values(var.workloads) : w if w.kind == "ecs"]) > 0
}

# The probe task's output: verify reads the probe's JSON result from here.
resource "aws_cloudwatch_log_group" "ecs_verify" {
  #checkov:skip=CKV_AWS_158:Encrypted with kms_key_arn when the caller gives one; otherwise with CloudWatch Logs' own key.
  #checkov:skip=CKV_AWS_338:Holds only verify's probe results (no data, no secrets): a year of them is not worth keeping.
  count = local.ecs_verify ? 1 : 0

  name              = "/atlasiam/${local.name}/verify"
  retention_in_days = 30
  kms_key_id        = var.kms_key_arn

  tags = local.tags
}

# The task execution role: Fargate's agent uses it to send the probe's output to CloudWatch Logs (awslogs needs
# one on Fargate). It is never the workload's identity: the probe runs as the workload's *task* role.
data "aws_iam_policy_document" "ecs_verify_execution_assume" {
  count = local.ecs_verify ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.${local.dns_suffix}"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

data "aws_iam_policy_document" "ecs_verify_execution" {
  count = local.ecs_verify ? 1 : 0

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ecs_verify[0].arn}:*"]
  }
}

resource "aws_iam_role" "ecs_verify_execution" {
  count = local.ecs_verify ? 1 : 0

  name                 = "${local.iam_name}-ecs-exec"
  description          = "Task execution role of atlasiam verify's probe tasks for ${local.name} (logs only)."
  assume_role_policy   = data.aws_iam_policy_document.ecs_verify_execution_assume[0].json
  permissions_boundary = var.permissions_boundary

  tags = local.tags
}

resource "aws_iam_role_policy" "ecs_verify_execution" {
  count = local.ecs_verify ? 1 : 0

  name   = "atlasiam-verify-logs"
  role   = aws_iam_role.ecs_verify_execution[0].id
  policy = data.aws_iam_policy_document.ecs_verify_execution[0].json
}
