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

# Workload roles: the longest name and environment leave 10 characters for the workload, so a 20-character
# workload name is cut; two names that differ only after the cut would collide, and the precondition refuses them.
run "longest_workload_name_fits_iam" {
  command = plan

  variables {
    workloads = { "w2345678901234567890" = { kind = "lambda" } }
  }

  assert {
    condition     = length(aws_iam_role.workload["w2345678901234567890"].name) == 64 && endswith(aws_iam_role.workload["w2345678901234567890"].name, "-w234567890")
    error_message = "workload role name ${aws_iam_role.workload["w2345678901234567890"].name} is not cut to IAM's 64 characters"
  }
}

run "workload_names_equal_once_cut_are_refused" {
  command = plan

  variables {
    workloads = {
      "w2345678901234567890" = { kind = "lambda" }
      "w2345678901234567899" = { kind = "ecs" }
    }
  }

  expect_failures = [aws_iam_role.workload]
}

run "short_names_keep_the_whole_workload_name" {
  command = plan

  variables {
    name        = "orders"
    environment = "prod"
    workloads   = { "w2345678901234567890" = { kind = "lambda" } }
  }

  assert {
    condition     = endswith(aws_iam_role.workload["w2345678901234567890"].name, "-w2345678901234567890")
    error_message = "a short name and environment leave room for the whole workload name"
  }
}
