output "instance_id" {
  description = "EC2 instance id of the host (the SSM target of `atlasiam verify`); null without a host."
  value       = try(aws_instance.this[0].id, null)
}

output "role_arn" {
  description = "ARN of the host's IAM role, its Atlas database username; null without a host."
  value       = try(aws_iam_role.host[0].arn, null)
}

output "role_name" {
  description = "Name of the host's IAM role; null without a host."
  value       = try(aws_iam_role.host[0].name, null)
}

output "instance_profile_arn" {
  description = "ARN of the host's instance profile; never a valid Atlas username (STS reports the role)."
  value       = try(aws_iam_instance_profile.host[0].arn, null)
}

output "db_usernames" {
  description = "Atlas database usernames created (auth database $external): the host's role first, then the workloads' roles (by workload name), then role_arns and iam_user_arns."
  value = concat(
    [for key, user in mongodbatlas_database_user.this : user.username if key == "host"],
    [for key, user in mongodbatlas_database_user.this : user.username if startswith(key, "workload:")],
    [for key, user in mongodbatlas_database_user.this : user.username if key != "host" && !startswith(key, "workload:")],
  )
}

output "workloads" {
  description = "Each workload by name: its kind and its role's ARN (created or brought), the Atlas database username."
  value       = { for key, w in var.workloads : key => { kind = w.kind, role_arn = local.workload_role_arns[key] } }
}

output "ecs_verify" {
  description = "What `atlasiam verify` runs ECS workloads' probe tasks with: the task execution role's ARN and the log group; null without an ECS workload."
  value = local.ecs_verify ? {
    execution_role_arn = aws_iam_role.ecs_verify_execution[0].arn
    log_group          = aws_cloudwatch_log_group.ecs_verify[0].name
  } : null
}

output "region" {
  description = "AWS region of the stack."
  value       = local.region
}

output "network_mode" {
  description = "\"public\" or \"private\"."
  value       = var.network_mode
}

output "public_ip" {
  description = "Public IP of the host, on the Atlas project access list; null in private mode or behind NAT."
  value       = local.public_ip ? try(aws_instance.this[0].public_ip, null) : null
}

output "vpc_id" {
  description = "VPC of the stack."
  value       = local.vpc_id
}

output "subnet_ids" {
  description = "Subnets of the stack; the host is in the first."
  value       = local.subnet_ids
}

output "security_group_id" {
  description = "Security group of the host (no ingress); null without a host."
  value       = try(aws_security_group.host[0].id, null)
}

output "privatelink_endpoint_id" {
  description = "Private mode: the interface endpoint (vpce-...) Atlas accepted for this VPC."
  value       = try(aws_vpc_endpoint.atlas[0].id, null)
}

output "wheelhouse_bucket" {
  description = "Private mode: the S3 bucket holding the probe's wheels."
  value       = try(aws_s3_bucket.wheelhouse[0].id, null)
}

output "atlas_project_id" {
  description = "Atlas project of the database users."
  value       = var.atlas_project_id
}

output "atlas_cluster_name" {
  description = "Atlas cluster the users are scoped to."
  value       = var.atlas_cluster_name
}

output "mongodb_uri" {
  description = "Connection string (SRV) without credentials, private-endpoint one in private mode; add authSource=$external&authMechanism=MONGODB-AWS."
  value       = local.mongodb_uri
}

output "venv_python" {
  description = "Python interpreter on the host with pymongo[aws], installed by user data."
  value       = local.venv_python
}
