output "workloads" {
  description = "Each workload by name: its kind and its role's ARN, the Atlas database username (IRSA: annotate the service account with it)."
  value       = module.atlasiam.workloads
}

output "ecs_verify" {
  description = "The task execution role and log group `atlasiam verify` runs the ECS probe task with."
  value       = module.atlasiam.ecs_verify
}

output "db_usernames" {
  description = "The Atlas database usernames (auth database $external): the workloads' role ARNs."
  value       = module.atlasiam.db_usernames
}

output "mongodb_uri" {
  description = "The cluster's SRV connection string; each workload adds authSource=$external&authMechanism=MONGODB-AWS."
  value       = module.atlasiam.mongodb_uri
}
