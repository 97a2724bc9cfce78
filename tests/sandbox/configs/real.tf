terraform {
  required_providers {
    aws          = { source = "hashicorp/aws", version = "~> 6.0" }
    mongodbatlas = { source = "mongodb/mongodbatlas", version = "~> 2.0" }
  }
}
provider "aws" { region = "us-east-1" }
provider "mongodbatlas" {}
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_ssm_parameter" "ami" { name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" }
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.${data.aws_partition.current.dns_suffix}"]
    }
  }
}
resource "aws_vpc" "this" {
  cidr_block           = "10.42.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "atlasiam" }
}
resource "aws_subnet" "this" {
  vpc_id     = aws_vpc.this.id
  cidr_block = "10.42.1.0/24"
}
resource "aws_security_group" "this" {
  name   = "atlasiam"
  vpc_id = aws_vpc.this.id
}
resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.this.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
resource "aws_iam_role" "this" {
  name               = "atlasiam-login"
  path               = "/"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}
resource "aws_iam_instance_profile" "this" {
  name = "atlasiam-login"
  role = aws_iam_role.this.name
}
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}
resource "aws_instance" "this" {
  ami                    = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.this.id
  iam_instance_profile   = aws_iam_instance_profile.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
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
    name = "Cluster0"
    type = "CLUSTER"
  }
}
resource "mongodbatlas_project_ip_access_list" "this" {
  project_id = mongodbatlas_project.this.id
  cidr_block = "10.42.0.0/16"
}
data "mongodbatlas_advanced_cluster" "this" {
  project_id = mongodbatlas_project.this.id
  name       = "Cluster0"
}
output "role_arn" { value = aws_iam_role.this.arn }
output "srv" { value = data.mongodbatlas_advanced_cluster.this.connection_strings.standard_srv }
output "instance" { value = [aws_instance.this.id, aws_instance.this.public_ip, aws_instance.this.private_ip] }
output "policy" { value = data.aws_iam_policy_document.assume.minified_json }
output "ami" { value = data.aws_ssm_parameter.ami.insecure_value }
output "user" { value = mongodbatlas_database_user.this.id }
