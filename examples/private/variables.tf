variable "region" {
  description = "AWS region of the stack; it needs two availability zones that offer the host's instance type."
  type        = string
  default     = "eu-west-1"
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

variable "wheelhouse_dir" {
  description = "Directory of the probe's wheels (CPython 3.11, manylinux x86_64), uploaded to the module's bucket; the README shows the pip download that builds it."
  type        = string
}

variable "atlas_project_id" {
  description = "Atlas project id (24 hexadecimal characters)."
  type        = string
  default     = "0123456789abcdef01234567"
}

variable "atlas_cluster_name" {
  description = "Atlas cluster (M10 or larger: PrivateLink is not offered on M0 or Flex) the database user is scoped to."
  type        = string
  default     = "Cluster0"
}
