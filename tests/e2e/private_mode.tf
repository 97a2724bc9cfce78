# A small private-mode stack, applied by the real Terraform through the stand-in providers (test_private_apply.py):
# no internet route; SSM through interface endpoints; dnf and the wheelhouse through the S3 gateway endpoint;
# the cluster through an Atlas private endpoint.
terraform {
  required_providers {
    aws          = { source = "hashicorp/aws", version = "~> 6.0" }
    mongodbatlas = { source = "mongodb/mongodbatlas", version = "~> 2.0" }
  }
}
provider "aws" { region = "us-east-1" }
provider "mongodbatlas" {}

variable "name" { type = string }
variable "wheelhouse" { type = string }
variable "project_id" { type = string }
variable "cluster_name" { type = string }

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_ec2_instance_type_offerings" "this" {
  location_type = "availability-zone"
  filter {
    name   = "instance-type"
    values = ["t3.micro"]
  }
}

resource "aws_vpc" "this" {
  cidr_block           = "10.50.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
}
resource "aws_subnet" "this" {
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.50.1.0/24"
  availability_zone = sort(data.aws_ec2_instance_type_offerings.this.locations)[0]
}
resource "aws_route_table" "this" {
  vpc_id = aws_vpc.this.id
}
resource "aws_route_table_association" "this" {
  subnet_id      = aws_subnet.this.id
  route_table_id = aws_route_table.this.id
}
resource "aws_security_group" "host" {
  name_prefix = "${var.name}-host-"
  description = "host"
  vpc_id      = aws_vpc.this.id
}
resource "aws_security_group" "endpoints" {
  name_prefix = "${var.name}-endpoints-"
  description = "interface endpoints"
  vpc_id      = aws_vpc.this.id
}
resource "aws_vpc_security_group_ingress_rule" "endpoints" {
  security_group_id            = aws_security_group.endpoints.id
  referenced_security_group_id = aws_security_group.host.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}
resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(["ssm", "ssmmessages", "ec2messages"])
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [aws_subnet.this.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
}
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.this.id]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = "*"
        Action    = ["s3:GetObject", "s3:ListBucket"]
        Resource  = [aws_s3_bucket.wheels.arn, "${aws_s3_bucket.wheels.arn}/*"]
      },
      {
        Effect    = "Allow"
        Principal = "*"
        Action    = "s3:GetObject"
        Resource  = "arn:${data.aws_partition.current.partition}:s3:::al2023-repos-${data.aws_region.current.region}-de612dc2/*"
      },
    ]
  })
}

resource "aws_s3_bucket" "wheels" {
  bucket_prefix = "${var.name}-wheels-"
  force_destroy = true
}
resource "aws_s3_bucket_public_access_block" "wheels" {
  bucket                  = aws_s3_bucket.wheels.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_s3_bucket_server_side_encryption_configuration" "wheels" {
  bucket = aws_s3_bucket.wheels.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
resource "aws_s3_bucket_versioning" "wheels" {
  bucket = aws_s3_bucket.wheels.id
  versioning_configuration {
    status = "Enabled"
  }
}
# The host's role reads the wheels only through the gateway endpoint. Scoped to the role: a Deny for every principal
# would also refuse Terraform's own HeadObject (s3:GetObject) on the objects below.
resource "aws_s3_bucket_policy" "wheels" {
  bucket = aws_s3_bucket.wheels.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Principal = "*"
      Action    = ["s3:GetObject", "s3:ListBucket"]
      Resource  = [aws_s3_bucket.wheels.arn, "${aws_s3_bucket.wheels.arn}/*"]
      Condition = {
        StringNotEquals = { "aws:SourceVpce" = aws_vpc_endpoint.s3.id }
        ArnEquals       = { "aws:PrincipalArn" = aws_iam_role.host.arn }
      }
    }]
  })
}
resource "aws_s3_object" "wheel" {
  for_each    = fileset(var.wheelhouse, "*.whl")
  bucket      = aws_s3_bucket.wheels.id
  key         = "wheels/${each.value}"
  source      = "${var.wheelhouse}/${each.value}"
  source_hash = filemd5("${var.wheelhouse}/${each.value}")
}

resource "aws_iam_role" "host" {
  name = "${var.name}-host"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.host.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}
resource "aws_iam_role_policy" "wheels" {
  name = "wheels"
  role = aws_iam_role.host.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:ListBucket"]
      Resource = [aws_s3_bucket.wheels.arn, "${aws_s3_bucket.wheels.arn}/*"]
    }]
  })
}
resource "aws_iam_instance_profile" "host" {
  name = aws_iam_role.host.name
  role = aws_iam_role.host.name
}

resource "mongodbatlas_privatelink_endpoint" "this" {
  project_id    = var.project_id
  provider_name = "AWS"
  region        = data.aws_region.current.region
}
resource "aws_vpc_endpoint" "atlas" {
  vpc_id              = aws_vpc.this.id
  service_name        = mongodbatlas_privatelink_endpoint.this.endpoint_service_name
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [aws_subnet.this.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = false
}
resource "mongodbatlas_privatelink_endpoint_service" "this" {
  project_id          = mongodbatlas_privatelink_endpoint.this.project_id
  private_link_id     = mongodbatlas_privatelink_endpoint.this.private_link_id
  endpoint_service_id = aws_vpc_endpoint.atlas.id
  provider_name       = "AWS"
}
resource "mongodbatlas_database_user" "host" {
  project_id         = var.project_id
  username           = aws_iam_role.host.arn
  auth_database_name = "$external"
  aws_iam_type       = "ROLE"
  roles {
    role_name     = "readWrite"
    database_name = "orders"
  }
  scopes {
    name = var.cluster_name
    type = "CLUSTER"
  }
}
data "mongodbatlas_advanced_cluster" "this" {
  project_id = var.project_id
  name       = var.cluster_name
  depends_on = [mongodbatlas_privatelink_endpoint_service.this]
}

resource "aws_instance" "host" {
  ami                         = "ami-12c6146b"
  instance_type               = "t3.micro"
  subnet_id                   = aws_subnet.this.id
  vpc_security_group_ids      = [aws_security_group.host.id]
  iam_instance_profile        = aws_iam_instance_profile.host.name
  associate_public_ip_address = false
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
  user_data = <<-EOT
    #!/bin/bash
    set -euo pipefail
    mkdir -p /opt/atlasiam
    exec > >(tee -a /var/log/atlasiam-user-data.log) 2>&1
    trap 'rc=$?; echo "atlasiam bootstrap failed: exit $rc: $BASH_COMMAND" | tee /opt/atlasiam/failed' ERR
    dnf install -y python3.11 python3.11-pip
    aws s3 cp --recursive "s3://${aws_s3_bucket.wheels.id}/wheels/" /opt/atlasiam/wheels
    python3.11 -m venv /opt/atlasiam/venv
    /opt/atlasiam/venv/bin/python3 -m pip install --no-index --find-links /opt/atlasiam/wheels 'pymongo[aws]>=4.7,<5'
    touch /opt/atlasiam/ready
    echo "atlasiam bootstrap done"
  EOT
  depends_on = [
    aws_route_table_association.this,
    aws_vpc_endpoint.interface,
    aws_s3_object.wheel,
    aws_s3_bucket_policy.wheels,
    aws_iam_role_policy.wheels,
    aws_iam_role_policy_attachment.ssm,
  ]
}

output "instance_id" { value = aws_instance.host.id }
output "role_arn" { value = aws_iam_role.host.arn }
output "bucket" { value = aws_s3_bucket.wheels.id }
output "public_ip" { value = aws_instance.host.public_ip }
output "private_srv" {
  value = data.mongodbatlas_advanced_cluster.this.connection_strings.private_endpoint[0].srv_connection_string
}
output "standard_srv" { value = data.mongodbatlas_advanced_cluster.this.connection_strings.standard_srv }
output "private_endpoint_id" {
  value = data.mongodbatlas_advanced_cluster.this.connection_strings.private_endpoint[0].endpoints[0].endpoint_id
}
output "atlas_vpce" { value = aws_vpc_endpoint.atlas.id }
output "aws_connection_status" { value = mongodbatlas_privatelink_endpoint_service.this.aws_connection_status }
