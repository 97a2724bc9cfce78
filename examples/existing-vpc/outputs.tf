output "instance_id" {
  description = "EC2 instance id of the host (the SSM target of `atlasiam verify --instance-id`)."
  value       = module.atlasiam.instance_id
}

output "role_arn" {
  description = "The host's IAM role ARN: its Atlas database username."
  value       = module.atlasiam.role_arn
}

output "mongodb_uri" {
  description = "The cluster's SRV connection string, without credentials."
  value       = module.atlasiam.mongodb_uri
}
