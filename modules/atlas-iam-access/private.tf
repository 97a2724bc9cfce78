################################################################################
# Private mode (network_mode = "private"): no public IP and no internet route.
# The host reaches SSM through interface endpoints, the Amazon Linux repositories (served from S3) and its
# wheelhouse through an S3 gateway endpoint, and the cluster through Atlas PrivateLink.
################################################################################

locals {
  interface_endpoints = local.private && var.create_vpc_endpoints ? toset(concat(
    ["ssm", "ssmmessages", "ec2messages"], var.sts_endpoint ? ["sts"] : []
  )) : toset([])
  privatelink = local.private && var.create_privatelink
}

resource "aws_security_group" "endpoints" {
  count = length(local.interface_endpoints) > 0 ? 1 : 0

  name        = "${local.name}-endpoints"
  description = "atlasiam interface endpoints: HTTPS in from the host only"
  vpc_id      = local.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_host" {
  count = length(local.interface_endpoints) > 0 && var.create_host ? 1 : 0

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the atlasiam host"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.host[0].id

  tags = local.tags
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoints

  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  tags = merge(local.tags, { Name = "${local.name}-${each.key}" })
}

# Amazon Linux 2023's repositories are S3 buckets (al2023-repos-REGION-*), reachable through a gateway
# endpoint without internet access: https://docs.aws.amazon.com/linux/al2023/ug/managing-repos-os-updates.html
data "aws_iam_policy_document" "s3_endpoint" {
  count = local.private && var.create_vpc_endpoints && var.create_network ? 1 : 0

  statement {
    sid       = "AmazonLinuxRepositories"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::al2023-repos-${local.region}-*/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.wheelhouse ? [1] : []

    content {
      sid       = "Wheelhouse"
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = [aws_s3_bucket.wheelhouse[0].arn, "${aws_s3_bucket.wheelhouse[0].arn}/*"]

      principals {
        type        = "AWS"
        identifiers = [aws_iam_role.host[0].arn]
      }
    }
  }
}

resource "aws_vpc_endpoint" "s3" {
  count = local.private && var.create_vpc_endpoints ? 1 : 0

  vpc_id            = local.vpc_id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.route_table_ids
  # In a VPC of its own, the endpoint lets through only what the host needs. In the caller's VPC it must not
  # narrow S3 for everything else routed through those route tables, so it keeps the default (full) policy.
  policy = var.create_network ? data.aws_iam_policy_document.s3_endpoint[0].json : null

  tags = merge(local.tags, { Name = "${local.name}-s3" })
}

################################################################################
# Atlas PrivateLink: Atlas's endpoint service, an interface endpoint to it, and Atlas accepting that endpoint.
# Atlas does not apply the project's IP access list to connections over a private endpoint.
################################################################################

resource "mongodbatlas_privatelink_endpoint" "this" {
  count = local.privatelink ? 1 : 0

  project_id    = var.atlas_project_id
  provider_name = "AWS"
  region        = local.region
}

resource "aws_security_group" "privatelink" {
  count = local.privatelink ? 1 : 0

  name        = "${local.name}-atlas-privatelink"
  description = "Atlas PrivateLink endpoint: MongoDB in from the host only"
  vpc_id      = local.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-atlas-privatelink" })
}

# Atlas maps each node of the cluster to its own port on the endpoint, from 1024 up:
# https://www.mongodb.com/docs/atlas/security-private-endpoint/
resource "aws_vpc_security_group_ingress_rule" "privatelink_from_host" {
  count = local.privatelink && var.create_host ? 1 : 0

  security_group_id            = aws_security_group.privatelink[0].id
  description                  = "MongoDB from the atlasiam host"
  ip_protocol                  = "tcp"
  from_port                    = 1024
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.host[0].id

  tags = local.tags
}

resource "aws_vpc_endpoint" "atlas" {
  count = local.privatelink ? 1 : 0

  vpc_id             = local.vpc_id
  service_name       = mongodbatlas_privatelink_endpoint.this[0].endpoint_service_name
  vpc_endpoint_type  = "Interface"
  subnet_ids         = local.subnet_ids
  security_group_ids = [aws_security_group.privatelink[0].id]

  tags = merge(local.tags, { Name = "${local.name}-atlas" })
}

resource "mongodbatlas_privatelink_endpoint_service" "this" {
  count = local.privatelink ? 1 : 0

  project_id          = var.atlas_project_id
  private_link_id     = mongodbatlas_privatelink_endpoint.this[0].private_link_id
  endpoint_service_id = aws_vpc_endpoint.atlas[0].id
  provider_name       = "AWS"
}

################################################################################
# Wheelhouse: the probe's Python packages for a host without internet (private mode, bootstrap = true).
# atlasiam builds it (pip download for manylinux x86_64, CPython 3.11); the host fetches it through the
# S3 gateway endpoint and installs with pip --no-index.
################################################################################

resource "aws_s3_bucket" "wheelhouse" {
  #checkov:skip=CKV_AWS_18:Holds only public Python wheels, re-uploaded by every apply; access logs would log the host's own reads.
  #checkov:skip=CKV_AWS_144:Re-creatable content (public wheels): replication would double the cost for nothing.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to these uploads.
  #checkov:skip=CKV2_AWS_61:Objects are replaced by Terraform, not aged out.
  #checkov:skip=CKV_AWS_145:Encrypted with kms_key_arn when the caller gives one; otherwise with S3-managed keys.
  count = local.wheelhouse ? 1 : 0

  bucket_prefix = "${substr(local.name, 0, 28)}-wheels-"
  # Everything in it is atlasiam's upload: destroy may empty it.
  force_destroy = true

  tags = local.tags
}

resource "aws_s3_bucket_public_access_block" "wheelhouse" {
  count = local.wheelhouse ? 1 : 0

  bucket                  = aws_s3_bucket.wheelhouse[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "wheelhouse" {
  count = local.wheelhouse ? 1 : 0

  bucket = aws_s3_bucket.wheelhouse[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_versioning" "wheelhouse" {
  count = local.wheelhouse ? 1 : 0

  bucket = aws_s3_bucket.wheelhouse[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "wheelhouse" {
  count = local.wheelhouse ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.wheelhouse[0].arn, "${aws_s3_bucket.wheelhouse[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "wheelhouse" {
  count = local.wheelhouse ? 1 : 0

  bucket = aws_s3_bucket.wheelhouse[0].id
  policy = data.aws_iam_policy_document.wheelhouse[0].json
}

resource "aws_s3_object" "wheel" {
  for_each = local.wheelhouse ? fileset(var.wheelhouse_dir, "*.whl") : toset([])

  bucket      = aws_s3_bucket.wheelhouse[0].id
  key         = "wheels/${each.value}"
  source      = "${var.wheelhouse_dir}/${each.value}"
  source_hash = filemd5("${var.wheelhouse_dir}/${each.value}")
  kms_key_id  = var.kms_key_arn

  tags = local.tags
}
