variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the app (lowercase, at most 28 characters)."
  type        = string
  default     = "orders"
}

variable "environment" {
  description = "Environment of the app."
  type        = string
  default     = "prod"
}

variable "role_arns" {
  description = "Existing IAM roles (ARNs without a path) that get an Atlas database user each."
  type        = list(string)
  default = [
    "arn:aws:iam::123456789012:role/orders-api",
    "arn:aws:iam::123456789012:role/orders-worker",
  ]
}

variable "atlas_project_id" {
  description = "Atlas project id (24 hexadecimal characters)."
  type        = string
  default     = "0123456789abcdef01234567"
}

variable "atlas_cluster_name" {
  description = "Atlas cluster the database users are scoped to."
  type        = string
  default     = "Cluster0"
}
