# What `atlasiam output` shows and `atlasiam verify` reads: the module's outputs, as they are.
output "instance_id" {
  description = "EC2 instance id of the host (the SSM target of `atlasiam verify`)."
  value       = module.atlasiam.instance_id
}

output "role_arn" {
  description = "ARN of the host's IAM role; the Atlas database username."
  value       = module.atlasiam.role_arn
}

output "role_name" {
  description = "Name of the host's IAM role."
  value       = module.atlasiam.role_name
}

output "instance_profile_arn" {
  description = "ARN of the instance profile; never a valid Atlas username (STS reports the role)."
  value       = module.atlasiam.instance_profile_arn
}

output "db_usernames" {
  description = "Atlas database usernames created (auth database $external)."
  value       = module.atlasiam.db_usernames
}

output "region" {
  description = "AWS region of the stack."
  value       = module.atlasiam.region
}

output "network_mode" {
  description = "public or private."
  value       = module.atlasiam.network_mode
}

output "public_ip" {
  description = "Public IP of the host, on the Atlas project access list (null in private mode or behind NAT)."
  value       = module.atlasiam.public_ip
}

output "vpc_id" {
  description = "VPC of the stack."
  value       = module.atlasiam.vpc_id
}

output "subnet_ids" {
  description = "Subnets of the stack; the host is in the first."
  value       = module.atlasiam.subnet_ids
}

output "security_group_id" {
  description = "Security group of the host (no ingress)."
  value       = module.atlasiam.security_group_id
}

output "privatelink_endpoint_id" {
  description = "Private mode: the interface endpoint Atlas accepted."
  value       = module.atlasiam.privatelink_endpoint_id
}

output "atlas_project_id" {
  description = "Atlas project of the database users."
  value       = module.atlasiam.atlas_project_id
}

output "atlas_cluster_name" {
  description = "Atlas cluster the users are scoped to."
  value       = module.atlasiam.atlas_cluster_name
}

output "mongodb_uri" {
  description = "Cluster connection string (SRV) without credentials; the private-endpoint one in private mode."
  value       = module.atlasiam.mongodb_uri
}

output "venv_python" {
  description = "Python interpreter on the host with pymongo[aws], installed by user data."
  value       = module.atlasiam.venv_python
}

output "workloads" {
  description = "Each workload by name: its kind and its role's ARN (its Atlas database username)."
  value       = module.atlasiam.workloads
}

output "ecs_verify" {
  description = "The task execution role and log group of verify's ECS probe tasks; null without an ECS workload."
  value       = module.atlasiam.ecs_verify
}
