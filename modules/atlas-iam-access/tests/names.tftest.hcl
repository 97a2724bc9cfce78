# IAM names: within IAM's 64 characters for the longest name and environment the module accepts, and
# distinct for the same name and environment in two regions (IAM is global to the account).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "mongodbatlas" {
  source = "./tests/mocks/mongodbatlas"
}

variables {
  # The longest values the validations accept: 28 and 32 characters.
  name               = "n234567890123456789012345678"
  environment        = "e2345678901234567890123456789012"
  atlas_project_id   = "0123456789abcdef01234567"
  atlas_cluster_name = "Cluster0"
  database_roles     = [{ role_name = "readWrite", database_name = "app" }]
  flow_logs          = true
}

run "longest_names_fit_iam" {
  command = plan

  assert {
    condition     = length(var.name) == 28 && length(var.environment) == 32
    error_message = "the test must use the longest name and environment"
  }

  assert {
    condition     = length(aws_iam_role.host[0].name) <= 64
    error_message = "host role name ${aws_iam_role.host[0].name} is over 64 characters"
  }

  assert {
    condition     = length(aws_iam_instance_profile.host[0].name) <= 128
    error_message = "instance profile name is over 128 characters"
  }

  assert {
    condition     = length(aws_iam_role.flow_logs[0].name) <= 64
    error_message = "flow-logs role name ${aws_iam_role.flow_logs[0].name} is over 64 characters"
  }

  assert {
    condition     = startswith(aws_iam_role.host[0].name, substr("${var.name}-${var.environment}", 0, 44))
    error_message = "the role name keeps the readable name-environment prefix"
  }
}

run "region_a" {
  command = plan

  variables {
    name        = "orders"
    environment = "prod"
  }
}

run "same_name_other_region_gets_other_iam_names" {
  command = plan

  variables {
    name        = "orders"
    environment = "prod"
  }

  override_data {
    target = data.aws_region.current
    values = {
      region = "eu-west-1"
    }
  }

  assert {
    condition     = output.region == "eu-west-1" && run.region_a.region == "us-east-1"
    error_message = "the two runs must be in two regions"
  }

  assert {
    condition     = output.role_name != run.region_a.role_name
    error_message = "the same name and environment in two regions collide on IAM role ${output.role_name}"
  }

  assert {
    condition     = startswith(output.role_name, "orders-prod-") && startswith(run.region_a.role_name, "orders-prod-")
    error_message = "both role names start with name-environment"
  }

  # Every IAM name shares the host role's region-specific stem, so the flow-logs roles differ too.
  assert {
    condition     = trimsuffix(aws_iam_role.flow_logs[0].name, "-flow-logs") == trimsuffix(output.role_name, "-host")
    error_message = "the flow-logs role ${aws_iam_role.flow_logs[0].name} does not carry the region-specific stem"
  }
}
