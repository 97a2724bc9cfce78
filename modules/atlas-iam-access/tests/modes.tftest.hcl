# What each mode creates: counts of the resources that make it, planned with mocked providers.

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

run "public" {
  command = plan

  assert {
    condition     = aws_instance.this[0].associate_public_ip_address == true
    error_message = "public mode: the host has a public IP"
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0 && length(aws_vpc_endpoint.s3) == 0 && length(aws_vpc_endpoint.atlas) == 0
    error_message = "public mode: no VPC endpoints"
  }

  assert {
    condition     = length(mongodbatlas_privatelink_endpoint.this) == 0 && length(mongodbatlas_privatelink_endpoint_service.this) == 0
    error_message = "public mode: no PrivateLink"
  }

  assert {
    condition     = length(aws_internet_gateway.this) == 1 && length(aws_route.internet) == 1
    error_message = "public mode: an internet gateway and a default route"
  }

  assert {
    condition     = length(aws_subnet.this) == 1 && aws_subnet.this[0].availability_zone == "us-east-1a"
    error_message = "public mode: one subnet, in the first zone (sorted) that offers the instance type"
  }

  assert {
    condition     = length(mongodbatlas_project_ip_access_list.host) == 1
    error_message = "public mode: the host's IP is on the Atlas access list"
  }

  assert {
    condition     = keys(mongodbatlas_database_user.this) == ["host"] && mongodbatlas_database_user.this["host"].aws_iam_type == "ROLE"
    error_message = "one ROLE database user, for the host's role"
  }

  assert {
    condition     = output.mongodb_uri == "mongodb+srv://cluster0.abcde.mongodb.net"
    error_message = "public mode: the cluster's standard SRV string"
  }

  assert {
    condition     = length(aws_s3_bucket.wheelhouse) == 0
    error_message = "public mode: no wheelhouse bucket (the host reaches PyPI)"
  }
}

run "private" {
  command = plan

  variables {
    network_mode   = "private"
    wheelhouse_dir = "./tests"
  }

  assert {
    condition     = aws_instance.this[0].associate_public_ip_address == false && output.public_ip == null
    error_message = "private mode: the host has no public IP"
  }

  assert {
    condition     = sort(keys(aws_vpc_endpoint.interface)) == tolist(["ec2messages", "ssm", "ssmmessages"])
    error_message = "private mode: interface endpoints for ssm, ssmmessages and ec2messages (and not sts unless asked)"
  }

  assert {
    condition = alltrue([
      for key, endpoint in aws_vpc_endpoint.interface :
      endpoint.vpc_endpoint_type == "Interface" && endpoint.private_dns_enabled && endpoint.service_name == "com.amazonaws.us-east-1.${key}"
    ])
    error_message = "private mode: the SSM endpoints are Interface endpoints with private DNS, in the stack's region"
  }

  assert {
    condition     = length(aws_vpc_endpoint.s3) == 1 && aws_vpc_endpoint.s3[0].vpc_endpoint_type == "Gateway" && aws_vpc_endpoint.s3[0].service_name == "com.amazonaws.us-east-1.s3"
    error_message = "private mode: an S3 gateway endpoint"
  }

  assert {
    condition     = length(mongodbatlas_privatelink_endpoint.this) == 1 && length(aws_vpc_endpoint.atlas) == 1 && length(mongodbatlas_privatelink_endpoint_service.this) == 1
    error_message = "private mode: the Atlas PrivateLink endpoint, its interface endpoint and the endpoint service"
  }

  assert {
    condition     = aws_vpc_endpoint.atlas[0].vpc_endpoint_type == "Interface"
    error_message = "private mode: the Atlas endpoint is an Interface endpoint"
  }

  assert {
    condition     = length(aws_internet_gateway.this) == 0 && length(aws_route.internet) == 0
    error_message = "private mode: no internet gateway and no internet route"
  }

  assert {
    condition     = length(aws_subnet.this) == 2 && aws_subnet.this[0].availability_zone != aws_subnet.this[1].availability_zone
    error_message = "private mode: two subnets in two zones"
  }

  assert {
    condition     = length(mongodbatlas_project_ip_access_list.host) == 0
    error_message = "private mode: no access-list entry (Atlas does not apply it to private-endpoint connections)"
  }

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.https) == 0 && length(aws_vpc_security_group_egress_rule.atlas) == 0
    error_message = "private mode: no egress to the internet"
  }

  assert {
    condition     = length(aws_s3_bucket.wheelhouse) == 1
    error_message = "private mode with bootstrap: a wheelhouse bucket"
  }
}

run "private_with_sts_endpoint" {
  command = plan

  variables {
    network_mode   = "private"
    wheelhouse_dir = "./tests"
    sts_endpoint   = true
  }

  assert {
    condition     = sort(keys(aws_vpc_endpoint.interface)) == tolist(["ec2messages", "ssm", "ssmmessages", "sts"])
    error_message = "sts_endpoint adds an STS interface endpoint"
  }
}

run "no_host" {
  command = plan

  variables {
    create_host    = false
    create_network = false
    role_arns      = ["arn:aws:iam::123456789012:role/app"]
  }

  assert {
    condition     = length(aws_instance.this) == 0 && length(aws_iam_role.host) == 0 && length(aws_iam_instance_profile.host) == 0
    error_message = "create_host = false: no instance, no role, no instance profile"
  }

  assert {
    condition     = length(aws_vpc.this) == 0 && length(aws_subnet.this) == 0 && output.vpc_id == null
    error_message = "create_host = false in public mode: no network either"
  }

  assert {
    condition     = length(aws_security_group.host) == 0 && length(mongodbatlas_project_ip_access_list.host) == 0
    error_message = "create_host = false: no host security group and no access-list entry"
  }

  assert {
    condition     = output.instance_id == null && output.role_arn == null
    error_message = "create_host = false: the host outputs are null"
  }

  assert {
    condition     = keys(mongodbatlas_database_user.this) == ["arn:aws:iam::123456789012:role/app"]
    error_message = "create_host = false: only the role_arns users"
  }
}

run "role_arns_get_one_user_each" {
  command = plan

  variables {
    role_arns     = ["arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/batch"]
    iam_user_arns = ["arn:aws:iam::123456789012:user/alice"]
  }

  assert {
    condition     = length(mongodbatlas_database_user.this) == 4
    error_message = "one database user for the host and each role and user ARN"
  }

  assert {
    condition = alltrue([
      for arn in var.role_arns :
      mongodbatlas_database_user.this[arn].username == arn && mongodbatlas_database_user.this[arn].aws_iam_type == "ROLE"
    ])
    error_message = "each role ARN is the username of a ROLE user"
  }

  assert {
    condition     = mongodbatlas_database_user.this["arn:aws:iam::123456789012:user/alice"].aws_iam_type == "USER"
    error_message = "an IAM user ARN gets a USER user"
  }

  assert {
    condition = alltrue([
      for user in mongodbatlas_database_user.this :
      user.auth_database_name == "$external" && [for s in user.scopes : s.name] == ["Cluster0"]
    ])
    error_message = "every user authenticates on $external and is scoped to the cluster"
  }
}

run "existing_vpc" {
  command = plan

  variables {
    create_network = false
    vpc_id         = "vpc-0123456789abcdef0"
    subnet_ids     = ["subnet-0123456789abcdef0"]
  }

  assert {
    condition     = length(aws_vpc.this) == 0 && length(aws_subnet.this) == 0 && length(aws_internet_gateway.this) == 0
    error_message = "existing VPC: no network resources"
  }

  assert {
    condition     = aws_instance.this[0].subnet_id == "subnet-0123456789abcdef0"
    error_message = "existing VPC: the host goes in the first subnet"
  }
}

# Workloads: one of each kind plus a brought role. The mocked aws_iam_policy_document answers a fixed JSON, so
# these runs check the statements the module gives it; tests/tf/test_examples.py decodes the JSON the stand-in
# provider renders from them (examples/workloads).
run "workloads_one_of_each_kind" {
  command = plan

  variables {
    workloads = {
      fn  = { kind = "lambda" }
      svc = { kind = "ecs" }
      pod = { kind = "eks", eks = { cluster_name = "prod", namespace = "orders", service_account = "api", identity = "pod-identity" } }
      web = { kind = "eks", eks = { cluster_name = "prod", namespace = "shop", service_account = "web", identity = "irsa", oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" } }
      own = { kind = "lambda", role_arn = "arn:aws:iam::123456789012:role/own" }
    }
  }

  assert {
    condition     = sort(keys(aws_iam_role.workload)) == tolist(["fn", "pod", "svc", "web"])
    error_message = "one role per workload without role_arn, none for the brought one"
  }

  assert {
    condition     = aws_iam_role.workload["fn"].name == "${output.role_name == null ? "" : trimsuffix(output.role_name, "-host")}-fn" && aws_iam_role.workload["fn"].path == "/" && aws_iam_role.workload["fn"].tags["atlasiam:workload"] == "fn"
    error_message = "a workload's role is <iam name>-<workload>, at path /, tagged with its workload"
  }

  assert {
    condition     = jsonencode([for s in data.aws_iam_policy_document.workload_assume["fn"].statement : [s.sid, sort(tolist(s.actions)), [for p in s.principals : [p.type, tolist(p.identifiers)]], { for c in s.condition : c.variable => [c.test, tolist(c.values)] }]]) == jsonencode([["LambdaAssumeRole", ["sts:AssumeRole"], [["Service", ["lambda.amazonaws.com"]]], { "aws:SourceAccount" = ["StringEquals", ["123456789012"]] }]])
    error_message = "lambda: trusts lambda.amazonaws.com from this account only"
  }

  assert {
    condition     = jsonencode([for s in data.aws_iam_policy_document.workload_assume["svc"].statement : [s.sid, sort(tolist(s.actions)), [for p in s.principals : [p.type, tolist(p.identifiers)]], { for c in s.condition : c.variable => [c.test, tolist(c.values)] }]]) == jsonencode([["EcsTasksAssumeRole", ["sts:AssumeRole"], [["Service", ["ecs-tasks.amazonaws.com"]]], { "aws:SourceAccount" = ["StringEquals", ["123456789012"]], "aws:SourceArn" = ["ArnLike", ["arn:aws:ecs:us-east-1:123456789012:*"]] }]])
    error_message = "ecs: trusts ecs-tasks.amazonaws.com for this account's tasks in this region"
  }

  assert {
    condition     = jsonencode([for s in data.aws_iam_policy_document.workload_assume["pod"].statement : [s.sid, sort(tolist(s.actions)), [for p in s.principals : [p.type, tolist(p.identifiers)]], length(s.condition)]]) == jsonencode([["EksPodIdentityAssumeRole", ["sts:AssumeRole", "sts:TagSession"], [["Service", ["pods.eks.amazonaws.com"]]], 0]])
    error_message = "eks pod-identity: trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession"
  }

  assert {
    condition     = jsonencode([for s in data.aws_iam_policy_document.workload_assume["web"].statement : [s.sid, sort(tolist(s.actions)), [for p in s.principals : [p.type, tolist(p.identifiers)]], { for c in s.condition : c.variable => [c.test, tolist(c.values)] }]]) == jsonencode([["EksIrsaAssumeRole", ["sts:AssumeRoleWithWebIdentity"], [["Federated", ["arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"]]], { "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub" = ["StringEquals", ["system:serviceaccount:shop:web"]], "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud" = ["StringEquals", ["sts.amazonaws.com"]] }]])
    error_message = "eks irsa: trusts the cluster's OIDC provider for system:serviceaccount:shop:web with audience sts.amazonaws.com"
  }

  assert {
    condition     = keys(aws_eks_pod_identity_association.workload) == ["pod"] && aws_eks_pod_identity_association.workload["pod"].cluster_name == "prod" && aws_eks_pod_identity_association.workload["pod"].namespace == "orders" && aws_eks_pod_identity_association.workload["pod"].service_account == "api"
    error_message = "pod-identity (only): an association of the cluster, namespace and service account"
  }

  assert {
    condition     = sort(keys(mongodbatlas_database_user.this)) == tolist(["host", "workload:fn", "workload:own", "workload:pod", "workload:svc", "workload:web"]) && alltrue([for key, user in mongodbatlas_database_user.this : user.aws_iam_type == "ROLE"])
    error_message = "a ROLE database user for the host and for every workload, created or brought"
  }

  assert {
    condition     = mongodbatlas_database_user.this["workload:own"].username == "arn:aws:iam::123456789012:role/own" && output.workloads["own"] == { kind = "lambda", role_arn = "arn:aws:iam::123456789012:role/own" }
    error_message = "a brought role is its own user's username, and the workloads output names it"
  }

  assert {
    condition     = sort(keys(output.workloads)) == tolist(["fn", "own", "pod", "svc", "web"]) && output.workloads["web"].kind == "eks"
    error_message = "the workloads output has every workload with its kind"
  }
}

# What each kind gets besides its role: Lambda's managed execution policy (the VPC one for a function in a VPC),
# the ECS probe tasks' execution role and log group (only with an ECS workload), and the egress addresses on the
# Atlas access list, once each.
run "workloads_lambda_policies_ecs_verify_and_egress" {
  command = plan

  variables {
    workloads = {
      fn  = { kind = "lambda" }
      vfn = { kind = "lambda", vpc = true, egress_cidrs = ["198.51.100.7/32"] }
      svc = { kind = "ecs", egress_cidrs = ["198.51.100.7/32", "198.51.100.8/32"] }
      own = { kind = "lambda", role_arn = "arn:aws:iam::123456789012:role/own" }
    }
  }

  assert {
    condition     = sort(keys(aws_iam_role_policy_attachment.workload_lambda)) == tolist(["fn", "vfn"]) && aws_iam_role_policy_attachment.workload_lambda["fn"].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" && aws_iam_role_policy_attachment.workload_lambda["vfn"].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    error_message = "created Lambda roles (only) get the basic execution policy, or the VPC one for a function in a VPC"
  }

  assert {
    condition     = length(aws_iam_role.ecs_verify_execution) == 1 && aws_cloudwatch_log_group.ecs_verify[0].name == "/atlasiam/orders-dev/verify" && output.ecs_verify != null
    error_message = "an ECS workload: verify's task execution role and log group, and the ecs_verify output"
  }

  assert {
    condition     = jsonencode([for s in data.aws_iam_policy_document.ecs_verify_execution[0].statement : sort(tolist(s.actions))]) == jsonencode([["logs:CreateLogStream", "logs:PutLogEvents"]])
    error_message = "the probe tasks' execution role may only write logs"
  }

  assert {
    condition     = sort(keys(mongodbatlas_project_ip_access_list.workload)) == tolist(["198.51.100.7/32", "198.51.100.8/32"])
    error_message = "every workload egress CIDR on the access list, once"
  }
}

run "no_ecs_workload_no_ecs_verify" {
  command = plan

  variables {
    workloads = { fn = { kind = "lambda" } }
  }

  assert {
    condition     = length(aws_iam_role.ecs_verify_execution) == 0 && length(aws_cloudwatch_log_group.ecs_verify) == 0 && output.ecs_verify == null && length(mongodbatlas_project_ip_access_list.workload) == 0
    error_message = "without an ECS workload: no execution role, no log group; no egress entries without egress_cidrs"
  }
}

run "workload_brought_role_only" {
  command = plan

  variables {
    create_host    = false
    create_network = false
    role_arns      = ["arn:aws:iam::123456789012:role/batch"]
    workloads = {
      api = { kind = "ecs", role_arn = "arn:aws:iam::123456789012:role/api" }
    }
  }

  assert {
    condition     = length(aws_iam_role.workload) == 0 && length(aws_iam_role.host) == 0 && length(aws_eks_pod_identity_association.workload) == 0
    error_message = "a brought role: no role created"
  }

  assert {
    condition     = sort(keys(mongodbatlas_database_user.this)) == tolist(["arn:aws:iam::123456789012:role/batch", "workload:api"]) && mongodbatlas_database_user.this["workload:api"].username == "arn:aws:iam::123456789012:role/api"
    error_message = "a brought role gets its database user"
  }

  assert {
    condition     = output.db_usernames == ["arn:aws:iam::123456789012:role/api", "arn:aws:iam::123456789012:role/batch"]
    error_message = "db_usernames: the workloads' roles before role_arns"
  }
}

run "workload_alone_without_host" {
  command = plan

  variables {
    create_host    = false
    create_network = false
    workloads = {
      fn = { kind = "lambda" }
    }
  }

  assert {
    condition     = keys(aws_iam_role.workload) == ["fn"] && keys(mongodbatlas_database_user.this) == ["workload:fn"]
    error_message = "a workload is enough without a host or role_arns"
  }
}
