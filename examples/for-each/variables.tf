variable "region" {
  description = "AWS region of every app."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Environment of every app."
  type        = string
  default     = "dev"
}

variable "apps" {
  description = "One stack per app, keyed by the app's name (lowercase, at most 28 characters)."
  type = map(object({
    vpc_cidr = string
    database_roles = list(object({
      role_name       = string
      database_name   = string
      collection_name = optional(string)
    }))
  }))
  default = {
    orders = {
      vpc_cidr       = "10.42.0.0/16"
      database_roles = [{ role_name = "readWrite", database_name = "orders" }]
    }
    billing = {
      vpc_cidr       = "10.43.0.0/16"
      database_roles = [{ role_name = "read", database_name = "billing", collection_name = "invoices" }]
    }
  }
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
