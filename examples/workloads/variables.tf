variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the app (lowercase, at most 28 characters); also the EKS workloads' namespace."
  type        = string
  default     = "orders"
}

variable "environment" {
  description = "Environment of the app."
  type        = string
  default     = "prod"
}

variable "lambda_egress_cidr" {
  description = "The address the Lambda function reaches Atlas from (its VPC's NAT, x.x.x.x/32), put on the Atlas access list."
  type        = string
  default     = "198.51.100.7/32"
}

variable "eks_cluster_name" {
  description = "EKS cluster of the pods."
  type        = string
  default     = "prod"
}

variable "eks_oidc_provider_arn" {
  description = "The EKS cluster's IAM OIDC provider (IRSA): arn:aws:iam::ACCOUNT:oidc-provider/ISSUER."
  type        = string
  default     = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
}

variable "reports_role_arn" {
  description = "The existing role of the reports workload (an ARN without a path)."
  type        = string
  default     = "arn:aws:iam::123456789012:role/orders-reports"
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
