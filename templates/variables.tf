################################################################################
# Naming
################################################################################

variable "name" {
  description = "Prefix of every resource name. Lowercase letter first, then lowercase letters, digits or '-'; at most 28 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,27}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{0,27}$ (at most 28 characters)."
  }
}

variable "environment" {
  description = "Environment name (dev, staging, prod, ...). Part of resource names and tags."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.environment))
    error_message = "environment must match ^[a-z][a-z0-9-]{0,31}$ (at most 32 characters)."
  }
}

variable "tags" {
  description = "Tags added to every AWS resource, on top of the ones atlasiam sets."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40
    error_message = "tags may hold at most 40 entries."
  }

  validation {
    condition     = alltrue([for k, v in var.tags : can(regex("^[A-Za-z0-9 _.:/=+@-]{1,128}$", k)) && can(regex("^[A-Za-z0-9 _.:/=+@-]{0,256}$", v)) && !startswith(lower(k), "aws:")])
    error_message = "tags keys (1 to 128 characters) and values (at most 256) use letters, digits, spaces and _ . : / = + @ -; the aws: key prefix is reserved."
  }
}

################################################################################
# AWS
################################################################################

variable "region" {
  description = "AWS region of the VPC and the host."
  type        = string

  validation {
    condition     = can(regex("^(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]$", var.region))
    error_message = "region must be an AWS region of the standard aws partition, such as us-east-1 (not GovCloud, China or ISO)."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the host."
  type        = string
  default     = "t3.micro"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like t3.micro."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the new VPC (prefix /16 to /28). Unused when an existing network is reused."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/(1[6-9]|2[0-8])$", var.vpc_cidr)) && try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false)
    error_message = "vpc_cidr must be an IPv4 CIDR block in prefix form (like 10.42.0.0/16), with a prefix between /16 and /28 and no host bits set."
  }
}

variable "subnet_cidr" {
  description = "CIDR block of the new public subnet; must lie inside vpc_cidr."
  type        = string
  default     = "10.42.0.0/24"

  validation {
    condition     = can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/(1[6-9]|2[0-8])$", var.subnet_cidr)) && try(cidrsubnet(var.subnet_cidr, 0, 0) == var.subnet_cidr, false)
    error_message = "subnet_cidr must be an IPv4 CIDR block in prefix form (like 10.42.0.0/16), with a prefix between /16 and /28 and no host bits set."
  }
}

variable "availability_zone" {
  description = "Availability zone of the new subnet; null lets AWS choose."
  type        = string
  default     = null

  validation {
    condition     = var.availability_zone == null || can(regex("^(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9][a-z]$", var.availability_zone))
    error_message = "availability_zone must be null or an availability zone such as us-east-1a."
  }
}

variable "vpc_id" {
  description = "Existing VPC to place the host in (together with subnet_id); null creates a new VPC."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-([0-9a-f]{8}|[0-9a-f]{17})$", var.vpc_id))
    error_message = "vpc_id must be null or a VPC id such as vpc-0123456789abcdef0."
  }
}

variable "subnet_id" {
  description = "Existing subnet (with a route to the internet) for the host, together with vpc_id."
  type        = string
  default     = null

  validation {
    condition     = var.subnet_id == null || can(regex("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$", var.subnet_id))
    error_message = "subnet_id must be null or a subnet id such as subnet-0123456789abcdef0."
  }
}

variable "ami_ssm_parameter" {
  description = "Public SSM parameter that holds the AMI id of the host (Amazon Linux 2023 by default)."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

  validation {
    condition     = length(var.ami_ssm_parameter) <= 1011 && can(regex("^/[A-Za-z0-9_./-]+$", var.ami_ssm_parameter))
    error_message = "ami_ssm_parameter must be an SSM parameter path starting with '/' (letters, digits, _ . / -; at most 1011 characters)."
  }
}

variable "root_volume_size" {
  description = "Size of the encrypted root volume in GiB (8 to 1024)."
  type        = number
  default     = 8

  validation {
    condition     = var.root_volume_size >= 8 && var.root_volume_size <= 1024 && floor(var.root_volume_size) == var.root_volume_size
    error_message = "root_volume_size must be a whole number of GiB between 8 and 1024."
  }
}

variable "verify_principals" {
  description = "IAM role or user ARNs, or account ids, that the host's role also trusts (sts:AssumeRole), so that they can verify the login from elsewhere (atlasiam verify --from-here --assume-role)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for principal in var.verify_principals : can(regex("^([0-9]{12}|arn:aws:iam::[0-9]{12}:(role|user)/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64})$", principal))])
    error_message = "verify_principals must hold IAM role or user ARNs such as arn:aws:iam::123456789012:role/ci, or 12-digit account ids."
  }

  validation {
    condition     = length(var.verify_principals) <= 10 && length(distinct(var.verify_principals)) == length(var.verify_principals)
    error_message = "verify_principals may hold at most 10 principals, each once."
  }
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group in days (when flow logs are on)."
  type        = number
  default     = 365
}

################################################################################
# MongoDB Atlas
################################################################################

variable "atlas_project_id" {
  description = "Atlas project id (24 hexadecimal characters)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{24}$", var.atlas_project_id))
    error_message = "atlas_project_id must be exactly 24 lowercase hexadecimal characters."
  }
}

variable "atlas_cluster_name" {
  description = "Existing Atlas cluster; the database users are scoped to it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,63}$", var.atlas_cluster_name))
    error_message = "atlas_cluster_name must be letters, digits and '-', at most 64 characters."
  }
}

variable "database_roles" {
  description = "Roles granted to the IAM database users: role_name, database_name and optional collection_name."
  type = list(object({
    role_name       = string
    database_name   = string
    collection_name = optional(string)
  }))

  validation {
    condition     = length(var.database_roles) >= 1 && length(var.database_roles) <= 100
    error_message = "database_roles must hold 1 to 100 roles."
  }

  validation {
    condition     = alltrue([for r in var.database_roles : can(regex("^[A-Za-z][A-Za-z0-9_-]{0,63}$", r.role_name)) && can(regex("^[^/\\\\. \"$*<>:|?\\x00-\\x1f]{1,63}$", r.database_name)) && (r.collection_name == null || can(regex("^[A-Za-z_][A-Za-z0-9_.-]{0,119}$", r.collection_name)))])
    error_message = "database_roles: role_name is letters, digits, _ or - (at most 64); database_name is 1 to 63 characters, none of /\\. \"$*<>:|? or control characters; collection_name is letters, digits, _ . - (at most 120)."
  }

  validation {
    condition     = alltrue([for r in var.database_roles : r.database_name == "admin" || !contains(["atlasAdmin", "backup", "clusterMonitor", "dbAdminAnyDatabase", "readAnyDatabase", "readWriteAnyDatabase"], r.role_name)])
    error_message = "database_roles: atlasAdmin, backup, clusterMonitor, dbAdminAnyDatabase, readAnyDatabase and readWriteAnyDatabase can only be granted on database_name admin."
  }

  validation {
    condition     = length(distinct(var.database_roles)) == length(var.database_roles)
    error_message = "database_roles must not repeat a role."
  }
}

variable "iam_user_arns" {
  description = "IAM user ARNs that also get an Atlas database user (aws_iam_type USER), for the session-token path."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.iam_user_arns : can(regex("^arn:aws:iam::[0-9]{12}:user/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$", arn))])
    error_message = "iam_user_arns must hold IAM user ARNs such as arn:aws:iam::123456789012:user/alice."
  }

  validation {
    condition     = length(var.iam_user_arns) <= 100 && length(distinct(var.iam_user_arns)) == length(var.iam_user_arns)
    error_message = "iam_user_arns may hold at most 100 ARNs, each once."
  }
}
