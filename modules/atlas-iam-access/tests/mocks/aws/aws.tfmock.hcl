# What the mocked AWS provider answers in every test file (mock_provider "aws" { source = ... }).
# Data sources the module reads at plan time get realistic values; everything else is Terraform's mock default.

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    region = "us-east-1"
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
  }
}

# us-east-1e does not offer t3 instances: the module must pick its zones from this list.
mock_data "aws_ec2_instance_type_offerings" {
  defaults = {
    locations = ["us-east-1c", "us-east-1a", "us-east-1b"]
  }
}

mock_data "aws_ssm_parameter" {
  defaults = {
    insecure_value = "ami-0123456789abcdef0"
  }
}

mock_data "aws_vpc" {
  defaults = {
    cidr_block = "10.7.0.0/16"
  }
}

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}
