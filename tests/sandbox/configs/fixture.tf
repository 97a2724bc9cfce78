terraform {
  required_providers {
    aws          = { source = "hashicorp/aws", version = "~> 6.0" }
    mongodbatlas = { source = "mongodb/mongodbatlas", version = "~> 2.0" }
  }
}
provider "aws" {
  region = "eu-west-1"
  default_tags { tags = { Owner = "sandbox" } }
}
provider "mongodbatlas" {}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_ssm_parameter" "ami" { name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" }

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "AssumeFromEc2"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.${data.aws_partition.current.dns_suffix}"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_vpc" "this" {
  cidr_block = "10.0.0.0/16"
  tags       = { Name = "atlasiam" }
}

resource "aws_security_group" "this" {
  name   = "atlasiam"
  vpc_id = aws_vpc.this.id
  ingress = [{
    cidr_blocks = ["10.0.0.0/16"], description = "x", from_port = 443, to_port = 443, protocol = "tcp", self = false
  }]
  timeouts { create = "5m" }
}

resource "aws_iam_role" "this" {
  name               = "atlasiam-login"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  inline_policy {
    name   = "p"
    policy = data.aws_iam_policy_document.assume.minified_json
  }
}

resource "aws_instance" "this" {
  ami                    = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = "t3.micro"
  vpc_security_group_ids = [aws_security_group.this.id]
  root_block_device {
    volume_size = 8
  }
  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_sandbox_blob" "this" {
  settings = { a = "x", b = 1.5, c = [true, false] }
  payload  = { any = ["thing", 1] }
  pair     = ["p", 2]
  labels   = { k = "v" }
  rule "first" { priority = 1 }
  rule "second" { priority = 2 }
  options { verbose = true }
  step {
    name = "one"
    check { expr = "a" }
    check { expr = "b" }
  }
  step { name = "two" }
}

resource "mongodbatlas_project" "this" {
  name   = "atlasiam"
  org_id = "0123456789abcdef01234567"
}

resource "mongodbatlas_database_user" "this" {
  project_id         = mongodbatlas_project.this.id
  username           = aws_iam_role.this.arn
  auth_database_name = "$external"
  aws_iam_type       = "ROLE"
  roles {
    role_name     = "readWrite"
    database_name = "app"
  }
  scopes {
    name = "cluster0"
    type = "CLUSTER"
  }
}

resource "mongodbatlas_advanced_cluster" "this" {
  project_id   = mongodbatlas_project.this.id
  name         = "Cluster0"
  cluster_type = "REPLICASET"
  replication_specs = [{
    region_configs = [{
      provider_name = "AWS", region_name = "EU_WEST_1", priority = 7
      electable_specs = { instance_size = "M10" }
    }]
  }]
}

data "mongodbatlas_advanced_cluster" "this" {
  project_id = mongodbatlas_project.this.id
  name       = mongodbatlas_advanced_cluster.this.name
}

output "role_arn" { value = aws_iam_role.this.arn }
output "policy" { value = data.aws_iam_policy_document.assume.json }
output "srv" { value = mongodbatlas_advanced_cluster.this.connection_strings.standard_srv }
output "srv_data" { value = data.mongodbatlas_advanced_cluster.this.connection_strings[0].standard_srv }
output "region" { value = data.aws_region.current.region }
output "instance_ip" { value = aws_instance.this.public_ip }
output "user_id" { value = mongodbatlas_database_user.this.id }
output "blob" { value = aws_sandbox_blob.this }
