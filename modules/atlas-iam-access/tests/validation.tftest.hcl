# Inputs that contradict each other, or that Terraform would accept and AWS or Atlas would not, fail the plan
# at the variable that is wrong (expect_failures), before anything is created.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "mongodbatlas" {
  source = "./tests/mocks/mongodbatlas"
}

variables {
  name               = "orders"
  atlas_project_id   = "0123456789abcdef01234567"
  atlas_cluster_name = "Cluster0"
  database_roles     = [{ role_name = "readWrite", database_name = "orders" }]
}

run "valid_baseline" {
  command = plan
}

run "vpc_id_with_create_network" {
  command = plan

  variables {
    vpc_id = "vpc-0123456789abcdef0"
  }

  expect_failures = [var.vpc_id]
}

run "subnet_ids_with_create_network" {
  command = plan

  variables {
    subnet_ids = ["subnet-0123456789abcdef0"]
  }

  expect_failures = [var.subnet_ids]
}

run "existing_network_without_vpc_id" {
  command = plan

  variables {
    create_network = false
    subnet_ids     = ["subnet-0123456789abcdef0"]
  }

  expect_failures = [var.vpc_id]
}

run "vpc_cidr_with_existing_network" {
  command = plan

  variables {
    create_network = false
    vpc_id         = "vpc-0123456789abcdef0"
    subnet_ids     = ["subnet-0123456789abcdef0"]
    vpc_cidr       = "10.1.0.0/16"
  }

  expect_failures = [var.vpc_cidr]
}

run "name_too_long" {
  command = plan

  variables {
    name = "n2345678901234567890123456789"
  }

  expect_failures = [var.name]
}

run "environment_too_long" {
  command = plan

  variables {
    environment = "e23456789012345678901234567890123"
  }

  expect_failures = [var.environment]
}

run "no_host_and_no_users" {
  command = plan

  variables {
    create_host    = false
    create_network = false
  }

  expect_failures = [var.role_arns]
}

run "network_without_host_or_privatelink" {
  command = plan

  variables {
    create_host = false
    role_arns   = ["arn:aws:iam::123456789012:role/app"]
  }

  expect_failures = [var.create_network]
}

run "private_host_without_wheelhouse" {
  command = plan

  variables {
    network_mode = "private"
  }

  expect_failures = [var.wheelhouse_dir]
}

run "wheelhouse_in_public_mode" {
  command = plan

  variables {
    wheelhouse_dir = "./tests"
  }

  expect_failures = [var.wheelhouse_dir]
}

run "one_subnet_in_private_mode" {
  command = plan

  variables {
    network_mode   = "private"
    wheelhouse_dir = "./tests"
    subnet_cidrs   = ["10.42.0.0/24"]
  }

  expect_failures = [var.subnet_cidrs]
}

run "access_list_cidrs_with_new_vpc" {
  command = plan

  variables {
    access_list_cidrs = ["203.0.113.7/32"]
  }

  expect_failures = [var.access_list_cidrs]
}

run "flow_logs_in_existing_vpc" {
  command = plan

  variables {
    create_network = false
    vpc_id         = "vpc-0123456789abcdef0"
    subnet_ids     = ["subnet-0123456789abcdef0"]
    flow_logs      = true
  }

  expect_failures = [var.flow_logs]
}

run "sts_endpoint_in_public_mode" {
  command = plan

  variables {
    sts_endpoint = true
  }

  expect_failures = [var.sts_endpoint]
}

run "role_arn_with_path" {
  command = plan

  variables {
    role_arns = ["arn:aws:iam::123456789012:role/team/app"]
  }

  expect_failures = [var.role_arns]
}

run "verify_principals_without_host" {
  command = plan

  variables {
    create_host       = false
    create_network    = false
    role_arns         = ["arn:aws:iam::123456789012:role/app"]
    verify_principals = ["arn:aws:iam::123456789012:role/ci"]
  }

  expect_failures = [var.verify_principals]
}

# us-east-1 offers the instance type in one zone only: a private network needs two.
run "too_few_zones_for_private_mode" {
  command = plan

  variables {
    network_mode   = "private"
    wheelhouse_dir = "./tests"
  }

  override_data {
    target = data.aws_ec2_instance_type_offerings.host[0]
    values = {
      locations = ["us-east-1a"]
    }
  }

  expect_failures = [aws_subnet.this]
}

# Workloads: bad combinations are refused at var.workloads, the message naming the workload.
run "workload_bad_name" {
  command = plan

  variables {
    workloads = { "Api" = { kind = "lambda" } }
  }

  expect_failures = [var.workloads]
}

run "workload_name_too_long" {
  command = plan

  variables {
    workloads = { "a23456789012345678901" = { kind = "lambda" } }
  }

  expect_failures = [var.workloads]
}

run "workload_unknown_kind" {
  command = plan

  variables {
    workloads = { api = { kind = "ec2" } }
  }

  expect_failures = [var.workloads]
}

run "workload_eks_block_on_lambda" {
  command = plan

  variables {
    workloads = { api = { kind = "lambda", eks = { cluster_name = "prod", namespace = "orders", service_account = "api", identity = "pod-identity" } } }
  }

  expect_failures = [var.workloads]
}

run "workload_eks_without_eks_block" {
  command = plan

  variables {
    workloads = { api = { kind = "eks" } }
  }

  expect_failures = [var.workloads]
}

run "workload_irsa_without_oidc_provider" {
  command = plan

  variables {
    workloads = { api = { kind = "eks", eks = { cluster_name = "prod", namespace = "orders", service_account = "api", identity = "irsa" } } }
  }

  expect_failures = [var.workloads]
}

run "workload_pod_identity_with_oidc_provider" {
  command = plan

  variables {
    workloads = { api = { kind = "eks", eks = { cluster_name = "prod", namespace = "orders", service_account = "api", identity = "pod-identity", oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE" } } }
  }

  expect_failures = [var.workloads]
}

run "workload_unknown_identity" {
  command = plan

  variables {
    workloads = { api = { kind = "eks", eks = { cluster_name = "prod", namespace = "orders", service_account = "api", identity = "node" } } }
  }

  expect_failures = [var.workloads]
}

run "workload_bad_namespace" {
  command = plan

  variables {
    workloads = { api = { kind = "eks", eks = { cluster_name = "prod", namespace = "Orders", service_account = "api", identity = "pod-identity" } } }
  }

  expect_failures = [var.workloads]
}

run "workload_role_arn_with_path" {
  command = plan

  variables {
    workloads = { api = { kind = "lambda", role_arn = "arn:aws:iam::123456789012:role/team/api" } }
  }

  expect_failures = [var.workloads]
}

run "workload_role_arn_also_in_role_arns" {
  command = plan

  variables {
    role_arns = ["arn:aws:iam::123456789012:role/api"]
    workloads = { api = { kind = "lambda", role_arn = "arn:aws:iam::123456789012:role/api" } }
  }

  expect_failures = [var.role_arns]
}

run "workload_role_arn_twice" {
  command = plan

  variables {
    workloads = {
      api = { kind = "lambda", role_arn = "arn:aws:iam::123456789012:role/api" }
      job = { kind = "ecs", role_arn = "arn:aws:iam::123456789012:role/api" }
    }
  }

  expect_failures = [var.workloads]
}

run "workload_vpc_on_ecs" {
  command = plan

  variables {
    workloads = { svc = { kind = "ecs", vpc = true } }
  }

  expect_failures = [var.workloads]
}

run "workload_egress_cidr_with_host_bits" {
  command = plan

  variables {
    workloads = { svc = { kind = "ecs", egress_cidrs = ["198.51.100.7/24"] } }
  }

  expect_failures = [var.workloads]
}

run "workload_egress_cidrs_in_private_mode" {
  command = plan

  variables {
    network_mode = "private"
    create_host  = false
    workloads    = { svc = { kind = "ecs", egress_cidrs = ["198.51.100.7/32"] } }
  }

  expect_failures = [var.workloads]
}
