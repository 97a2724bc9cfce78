output "db_usernames" {
  description = "The Atlas database usernames (auth database $external): the role ARNs."
  value       = module.atlasiam.db_usernames
}

output "mongodb_uri" {
  description = "The cluster's SRV connection string; each workload adds authSource=$external&authMechanism=MONGODB-AWS."
  value       = module.atlasiam.mongodb_uri
}
