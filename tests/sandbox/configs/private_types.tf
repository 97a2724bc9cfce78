# Each type the module's private network mode adds, used the way the module uses it (validate + plan only).
terraform {
  required_providers {
    aws          = { source = "hashicorp/aws", version = "~> 6.0" }
    mongodbatlas = { source = "mongodb/mongodbatlas", version = "~> 2.0" }
  }
}
provider "aws" { region = "us-east-1" }
provider "mongodbatlas" {}
data "aws_ec2_instance_type_offerings" "this" {
  location_type = "availability-zone"
  filter {
    name   = "instance-type"
    values = ["t3.micro"]
  }
}
resource "aws_vpc" "this" {
  cidr_block           = "10.42.0.0/16"
  enable_dns_hostnames = true
}
resource "aws_subnet" "this" {
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.42.1.0/24"
  availability_zone = sort(data.aws_ec2_instance_type_offerings.this.locations)[0]
}
resource "aws_route_table" "this" {
  vpc_id = aws_vpc.this.id
}
resource "aws_security_group" "endpoints" {
  name_prefix = "atlasiam-endpoints-"
  description = "interface endpoints"
  vpc_id      = aws_vpc.this.id
}
resource "mongodbatlas_privatelink_endpoint" "this" {
  project_id    = "0123456789abcdef01234567"
  provider_name = "AWS"
  region        = "us-east-1"
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
resource "aws_s3_bucket" "wheels" {
  bucket_prefix = "atlasiam-wheels-"
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
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.us-east-1.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.this.id]
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "*" }]
  })
}
resource "aws_s3_bucket_policy" "wheels" {
  bucket = aws_s3_bucket.wheels.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:GetObject"
      Resource  = "${aws_s3_bucket.wheels.arn}/*"
      Condition = { StringNotEquals = { "aws:sourceVpce" = aws_vpc_endpoint.s3.id } }
    }]
  })
}
resource "aws_s3_object" "wheel" {
  bucket      = aws_s3_bucket.wheels.id
  key         = "wheels/probe.whl"
  content     = "not a wheel"
  source_hash = md5("not a wheel")
}
output "zones" { value = data.aws_ec2_instance_type_offerings.this.locations }
