################################################################################
# The host (create_host = true): Amazon Linux 2023, IMDSv2 only, reached over SSM, never over SSH
################################################################################

locals {
  # The versions `atlasiam verify`'s probe is tested with; the wheelhouse is built from the same file.
  probe_requirements = [for line in split("\n", file("${path.module}/requirements.txt")) : trimspace(line) if trimspace(line) != "" && !startswith(trimspace(line), "#")]

  ami = var.ami_id != null ? var.ami_id : try(data.aws_ssm_parameter.ami[0].insecure_value, null)
  # A host with a public IP, unless the network is private or its egress is a NAT the access list names.
  public_ip = !local.private && length(var.access_list_cidrs) == 0
}

data "aws_ssm_parameter" "ami" {
  count = var.create_host && var.ami_id == null ? 1 : 0

  name = var.ami_ssm_parameter
}

# The AMI the host was launched with. A new Amazon Linux release changes the SSM parameter, and `ami` forces
# a new instance (new public IP, new access-list entry): the host keeps its AMI unless follow_latest_ami is
# on, or ami_id pins another one.
resource "terraform_data" "ami" {
  count = var.create_host ? 1 : 0

  input            = local.ami
  triggers_replace = var.follow_latest_ami || var.ami_id != null ? local.ami : null

  lifecycle {
    ignore_changes = [input]
  }
}

# No ingress at all: verify reaches the host over SSM Run Command.
resource "aws_security_group" "host" {
  count = var.create_host ? 1 : 0

  name        = "${local.name}-host"
  description = local.private ? "atlasiam host: no ingress; egress to the VPC endpoints and Atlas PrivateLink only" : "atlasiam host: no ingress; egress to HTTPS (SSM, STS, packages) and Atlas (27015-27017)"
  vpc_id      = local.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-host" })
}

resource "aws_vpc_security_group_egress_rule" "https" {
  count = var.create_host && !local.private ? 1 : 0

  security_group_id = aws_security_group.host[0].id
  description       = "HTTPS to SSM, STS and the package mirrors"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "atlas" {
  count = var.create_host && !local.private ? 1 : 0

  security_group_id = aws_security_group.host[0].id
  description       = "MongoDB Atlas cluster ports"
  ip_protocol       = "tcp"
  from_port         = 27015
  to_port           = 27017
  cidr_ipv4         = "0.0.0.0/0"

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "endpoints" {
  count = var.create_host && length(local.interface_endpoints) > 0 ? 1 : 0

  security_group_id            = aws_security_group.host[0].id
  description                  = "HTTPS to the SSM (and STS) interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints[0].id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  count = var.create_host && local.private && var.create_vpc_endpoints ? 1 : 0

  security_group_id = aws_security_group.host[0].id
  description       = "HTTPS to S3 through the gateway endpoint (Amazon Linux repositories, wheelhouse)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3[0].prefix_list_id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "privatelink" {
  count = var.create_host && local.privatelink ? 1 : 0

  security_group_id            = aws_security_group.host[0].id
  description                  = "MongoDB to the Atlas PrivateLink endpoint"
  ip_protocol                  = "tcp"
  from_port                    = 1024
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.privatelink[0].id

  tags = local.tags
}

# Private mode in the caller's VPC, with the caller's own endpoints: HTTPS inside the VPC only.
resource "aws_vpc_security_group_egress_rule" "vpc_https" {
  count = var.create_host && local.private && !var.create_vpc_endpoints ? 1 : 0

  security_group_id = aws_security_group.host[0].id
  description       = "HTTPS to the VPC's own endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.create_network ? local.vpc_cidr : data.aws_vpc.existing[0].cidr_block

  tags = local.tags
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_88:Public mode only (network_mode = "public"): no NAT, so the host's traffic leaves through the internet gateway and Atlas admits this IP; no ingress. Private mode has no public IP.
  count = var.create_host ? 1 : 0

  ami                         = terraform_data.ami[0].output
  instance_type               = var.instance_type
  subnet_id                   = local.subnet_ids[0]
  vpc_security_group_ids      = [aws_security_group.host[0].id]
  iam_instance_profile        = aws_iam_instance_profile.host[0].name
  associate_public_ip_address = local.public_ip
  monitoring                  = true
  ebs_optimized               = true
  user_data_replace_on_change = true
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    bootstrap         = var.bootstrap
    wheelhouse_bucket = local.wheelhouse ? aws_s3_bucket.wheelhouse[0].id : ""
    # Shell words, single-quoted: a requirement holds [ ] < > = , but never a quote.
    requirements = join(" ", [for r in local.probe_requirements : "'${r}'"])
    venv_python  = local.venv_python
  })

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # 1 keeps containers on the host (one more network hop) away from the role's credentials.
    http_put_response_hop_limit = var.imds_hop_limit
  }

  root_block_device {
    encrypted   = true
    kms_key_id  = var.kms_key_arn
    volume_type = "gp3"
    volume_size = var.root_volume_size
  }

  tags        = merge(local.tags, { Name = local.name })
  volume_tags = local.tags

  depends_on = [
    aws_iam_role_policy_attachment.ssm,
    aws_iam_role_policy.ssm,
    aws_iam_role_policy.wheelhouse,
    aws_s3_object.wheel,
    aws_vpc_endpoint.interface,
    aws_vpc_endpoint.s3,
    aws_route.internet,
  ]
}
