output "instance_id" {
  description = "EC2 instance id of the host (the SSM target of `atlasiam verify --instance-id`)."
  value       = module.atlasiam.instance_id
}

output "role_arn" {
  description = "The host's IAM role ARN: its Atlas database username."
  value       = module.atlasiam.role_arn
}

output "privatelink_endpoint_id" {
  description = "The interface endpoint (vpce-...) Atlas accepted for this VPC."
  value       = module.atlasiam.privatelink_endpoint_id
}

output "mongodb_uri" {
  description = "The cluster's private-endpoint SRV connection string, without credentials."
  value       = module.atlasiam.mongodb_uri
}
