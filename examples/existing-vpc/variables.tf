variable "region" {
  description = "AWS region of the VPC."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the app (lowercase, at most 28 characters)."
  type        = string
  default     = "billing"
}

variable "environment" {
  description = "Environment of the app."
  type        = string
  default     = "staging"
}

variable "vpc_id" {
  description = "The existing VPC."
  type        = string
  default     = "vpc-0a1b2c3d4e5f60718"
}

variable "subnet_ids" {
  description = "Existing subnets of vpc_id with a route to a NAT gateway; the host goes in the first."
  type        = list(string)
  default     = ["subnet-0a1b2c3d4e5f60718"]
}

variable "access_list_cidrs" {
  description = "The NAT gateway's public address (x.x.x.x/32): what Atlas sees the host connect from."
  type        = list(string)
  default     = ["203.0.113.7/32"]
}

variable "atlas_project_id" {
  description = "Atlas project id (24 hexadecimal characters)."
  type        = string
  default     = "fedcba9876543210fedcba98"
}

variable "atlas_cluster_name" {
  description = "Atlas cluster the database user is scoped to."
  type        = string
  default     = "Billing-Prod"
}
