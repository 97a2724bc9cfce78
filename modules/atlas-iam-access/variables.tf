################################################################################
# Naming and tags
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
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.environment))
    error_message = "environment must match ^[a-z][a-z0-9-]{0,31}$ (at most 32 characters)."
  }
}

variable "tags" {
  description = "Tags on every AWS resource the module creates, with atlasiam's own (atlasiam:name, atlasiam:environment, managed-by). The caller's provider default_tags apply as well."
  type        = map(string)
  default     = {}
  nullable    = false

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
# Network
################################################################################

variable "network_mode" {
  description = "\"public\": the host has a public IP and reaches SSM and Atlas over the internet (the Atlas access list admits its IP). \"private\": no public IP and no internet route; SSM through interface endpoints, S3 through a gateway endpoint, Atlas through PrivateLink."
  type        = string
  default     = "public"
  nullable    = false

  validation {
    condition     = contains(["public", "private"], var.network_mode)
    error_message = "network_mode must be \"public\" or \"private\"."
  }
}

variable "create_network" {
  description = "Create a VPC with its subnets and routes; false places everything in vpc_id and subnet_ids. Without a host in public mode there is nothing to place: set it to false, with no vpc_id."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = !var.create_network || var.create_host || var.network_mode == "private"
    error_message = "create_network makes a VPC for the host or for PrivateLink: with create_host = false in public mode there is nothing to put in it, so set create_network = false."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the new VPC (prefix /16 to /28); null means 10.42.0.0/16. Only with create_network."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_cidr == null || (can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/(1[6-9]|2[0-8])$", var.vpc_cidr)) && try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false))
    error_message = "vpc_cidr must be an IPv4 CIDR block in prefix form (like 10.42.0.0/16), with a prefix between /16 and /28 and no host bits set."
  }

  validation {
    condition     = var.vpc_cidr == null || var.create_network
    error_message = "vpc_cidr is for a new VPC: leave it null with create_network = false."
  }
}

variable "subnet_cidrs" {
  description = "CIDR blocks of the new subnets, inside vpc_cidr; empty carves /24s (or smaller) from it: one in public mode, two in private mode. Only with create_network."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.subnet_cidrs : can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/(1[6-9]|2[0-8])$", cidr)) && try(cidrsubnet(cidr, 0, 0) == cidr, false)])
    error_message = "subnet_cidrs must hold IPv4 CIDR blocks in prefix form (like 10.42.0.0/24), with a prefix between /16 and /28 and no host bits set."
  }

  validation {
    condition     = length(var.subnet_cidrs) == 0 || var.create_network
    error_message = "subnet_cidrs is for a new VPC: leave it empty with create_network = false."
  }

  validation {
    condition     = length(var.subnet_cidrs) == 0 || length(var.subnet_cidrs) >= (var.network_mode == "private" ? 2 : 1)
    error_message = "subnet_cidrs needs two subnets in private mode (the interface endpoints span two availability zones)."
  }
}

variable "availability_zones" {
  description = "Availability zones of the new subnets, one per subnet; empty picks zones that offer instance_type. Only with create_network."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9][a-z]$", az))])
    error_message = "availability_zones must hold zone names such as us-east-1a."
  }

  validation {
    condition     = length(var.availability_zones) == 0 || var.create_network
    error_message = "availability_zones is for a new VPC: leave it empty with create_network = false."
  }
}

variable "vpc_id" {
  description = "Existing VPC (create_network = false)."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-([0-9a-f]{8}|[0-9a-f]{17})$", var.vpc_id))
    error_message = "vpc_id must be null or a VPC id such as vpc-0123456789abcdef0."
  }

  validation {
    condition     = var.vpc_id == null ? (var.create_network || !(var.create_host || var.network_mode == "private")) : !var.create_network
    error_message = "vpc_id goes with create_network = false (and subnet_ids), whenever there is a host or PrivateLink to place; with create_network = true the module makes the VPC."
  }
}

variable "subnet_ids" {
  description = "Existing subnets (create_network = false); the host goes in the first. Public mode: a route to the internet (or NAT, with access_list_cidrs). Private mode: two or more, for the interface endpoints."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "subnet_ids must hold subnet ids such as subnet-0123456789abcdef0."
  }

  validation {
    condition     = (var.vpc_id == null) == (length(var.subnet_ids) == 0)
    error_message = "subnet_ids goes with vpc_id (create_network = false); with create_network = true the module makes the subnets."
  }
}

variable "route_table_ids" {
  description = "Route tables of subnet_ids, for the S3 gateway endpoint (private mode in an existing VPC, with create_vpc_endpoints)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.route_table_ids : can(regex("^rtb-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "route_table_ids must hold route table ids such as rtb-0123456789abcdef0."
  }

  validation {
    condition     = (length(var.route_table_ids) > 0) == (!var.create_network && var.network_mode == "private" && var.create_vpc_endpoints)
    error_message = "route_table_ids is needed exactly in private mode in an existing VPC with create_vpc_endpoints (the S3 gateway endpoint's routes), and nowhere else."
  }
}

variable "create_vpc_endpoints" {
  description = "Private mode: create the ssm, ssmmessages and ec2messages interface endpoints and the S3 gateway endpoint. false when the existing VPC has its own."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = var.create_vpc_endpoints || (var.network_mode == "private" && !var.create_network)
    error_message = "create_vpc_endpoints = false is only for private mode in an existing VPC that has its own endpoints."
  }
}

variable "sts_endpoint" {
  description = "Private mode: also an STS interface endpoint, so the host can check its own identity (verify reports it; the login itself does not need it)."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = !var.sts_endpoint || (var.network_mode == "private" && var.create_vpc_endpoints)
    error_message = "sts_endpoint is for private mode with create_vpc_endpoints."
  }
}

variable "create_privatelink" {
  description = "Private mode: create the Atlas PrivateLink endpoint service and its interface endpoint. false when the project already has one in this region (Atlas allows one per region) that the VPC can use."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = var.create_privatelink || var.network_mode == "private"
    error_message = "create_privatelink = false is only meaningful in private mode."
  }
}

variable "access_list_cidrs" {
  description = "Public mode behind NAT: the CIDR blocks (a NAT's address as x.x.x.x/32) Atlas admits instead of the host's own IP; the host then gets no public IP."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for cidr in var.access_list_cidrs : can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/([0-9]|[12][0-9]|3[0-2])$", cidr)) && try(cidrsubnet(cidr, 0, 0) == cidr, false)])
    error_message = "access_list_cidrs must hold IPv4 CIDR blocks such as 203.0.113.7/32, with no host bits set."
  }

  validation {
    condition     = length(var.access_list_cidrs) == 0 || (var.network_mode == "public" && !var.create_network)
    error_message = "access_list_cidrs is for public mode in an existing VPC whose subnets egress through NAT; a new VPC has no NAT, and private mode reaches Atlas over PrivateLink."
  }
}

variable "flow_logs" {
  description = "Send the new VPC's flow logs to CloudWatch Logs."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = !var.flow_logs || var.create_network
    error_message = "flow_logs is for a VPC the module creates."
  }
}

variable "flow_log_retention_days" {
  description = "Retention of the flow-log group in days."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be one of CloudWatch Logs' retention periods (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

################################################################################
# Host
################################################################################

variable "create_host" {
  description = "Create the EC2 host whose role logs in to Atlas (verify runs its probe there over SSM). false: Atlas users for role_arns and iam_user_arns only."
  type        = bool
  default     = true
  nullable    = false
}

variable "instance_type" {
  description = "EC2 instance type of the host."
  type        = string
  default     = "t3.micro"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like t3.micro."
  }
}

variable "ami_ssm_parameter" {
  description = "Public SSM parameter holding the host's AMI id (Amazon Linux 2023 by default), read when ami_id is null."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
  nullable    = false

  validation {
    condition     = length(var.ami_ssm_parameter) <= 1011 && can(regex("^/[A-Za-z0-9_./-]+$", var.ami_ssm_parameter))
    error_message = "ami_ssm_parameter must be an SSM parameter path starting with '/' (letters, digits, _ . / -; at most 1011 characters)."
  }
}

variable "ami_id" {
  description = "Pin the host's AMI (an Amazon Linux 2023 image, or one baked with the probe's venv and bootstrap = false); null reads ami_ssm_parameter."
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-([0-9a-f]{8}|[0-9a-f]{17})$", var.ami_id))
    error_message = "ami_id must be null or an AMI id such as ami-0123456789abcdef0."
  }
}

variable "follow_latest_ami" {
  description = "Replace the host when ami_ssm_parameter names a newer AMI. Off by default: the host keeps the AMI it was launched with (a replacement brings a new IP and access-list entry)."
  type        = bool
  default     = false
  nullable    = false
}

variable "bootstrap" {
  description = "Install Python 3.11 and the probe's packages (requirements.txt) at first boot. false: the AMI already has /opt/atlasiam/venv."
  type        = bool
  default     = true
  nullable    = false
}

variable "wheelhouse_dir" {
  description = "Private mode with bootstrap: a directory of wheels (CPython 3.11, manylinux x86_64) for requirements.txt, uploaded to the module's bucket. atlasiam builds it; callers can run `atlasiam wheelhouse`."
  type        = string
  default     = null

  validation {
    condition     = (var.wheelhouse_dir != null) == (var.network_mode == "private" && var.create_host && var.bootstrap)
    error_message = "wheelhouse_dir is needed exactly when a private-mode host bootstraps (it has no internet to reach PyPI), and nowhere else."
  }
}

variable "imds_hop_limit" {
  description = "The host's IMDSv2 PUT response hop limit: 1 keeps containers on the host from its role's credentials; 2 lets them in."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.imds_hop_limit >= 1 && var.imds_hop_limit <= 64 && floor(var.imds_hop_limit) == var.imds_hop_limit
    error_message = "imds_hop_limit must be a whole number from 1 to 64."
  }
}

variable "root_volume_size" {
  description = "Size of the encrypted root volume in GiB (8 to 1024)."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = var.root_volume_size >= 8 && var.root_volume_size <= 1024 && floor(var.root_volume_size) == var.root_volume_size
    error_message = "root_volume_size must be a whole number of GiB between 8 and 1024."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the root volume, the flow-log group and the wheelhouse bucket; null uses AWS-managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab."
  }
}

variable "permissions_boundary" {
  description = "ARN of the IAM policy set as permissions boundary on every role the module creates."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,128}$", var.permissions_boundary))
    error_message = "permissions_boundary must be null or an IAM policy ARN such as arn:aws:iam::123456789012:policy/boundary."
  }
}

variable "ssm_policy" {
  description = "\"managed\": attach AmazonSSMManagedInstanceCore. \"scoped\": an inline policy with only what SSM Agent needs for Run Command (no ssm:GetParameter* on every parameter)."
  type        = string
  default     = "managed"
  nullable    = false

  validation {
    condition     = contains(["managed", "scoped"], var.ssm_policy)
    error_message = "ssm_policy must be \"managed\" or \"scoped\"."
  }
}

variable "verify_principals" {
  description = "IAM role or user ARNs, or account ids, that the host's role also trusts (sts:AssumeRole), to verify the login from elsewhere (atlasiam verify --from-here --assume-role)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for principal in var.verify_principals : can(regex("^([0-9]{12}|arn:aws:iam::[0-9]{12}:(role|user)/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64})$", principal))])
    error_message = "verify_principals must hold IAM role or user ARNs such as arn:aws:iam::123456789012:role/ci, or 12-digit account ids."
  }

  validation {
    condition     = length(var.verify_principals) <= 10 && length(distinct(var.verify_principals)) == length(var.verify_principals)
    error_message = "verify_principals may hold at most 10 principals, each once."
  }

  validation {
    condition     = length(var.verify_principals) == 0 || var.create_host
    error_message = "verify_principals is trusted by the host's role: it needs create_host = true."
  }
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
  description = "Atlas cluster the database users are scoped to."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,63}$", var.atlas_cluster_name))
    error_message = "atlas_cluster_name must be letters, digits and '-', at most 64 characters."
  }
}

variable "mongodb_uri" {
  description = "The cluster's connection string (mongodb+srv://..., no credentials), for a cluster created in the same apply; null reads it from Atlas (private mode: the private-endpoint SRV string)."
  type        = string
  default     = null

  validation {
    condition     = var.mongodb_uri == null || can(regex("^mongodb(\\+srv)?://[^@/\\s]+(/[^\\s]*)?$", var.mongodb_uri))
    error_message = "mongodb_uri must be null or a mongodb:// or mongodb+srv:// connection string without credentials."
  }
}

variable "database_roles" {
  description = "Roles granted to every IAM database user: role_name, database_name and optional collection_name."
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

variable "role_arns" {
  description = "Existing IAM roles (of workloads the module does not create) that also get an Atlas database user (aws_iam_type ROLE)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.role_arns : can(regex("^arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@-]{1,64}$", arn))])
    error_message = "role_arns must hold IAM role ARNs without a path, such as arn:aws:iam::123456789012:role/app (STS session ARNs drop the path, so Atlas could never match a role that has one)."
  }

  validation {
    condition     = length(var.role_arns) <= 100 && length(distinct(var.role_arns)) == length(var.role_arns)
    error_message = "role_arns may hold at most 100 ARNs, each once."
  }

  validation {
    condition     = var.create_host || length(var.role_arns) + length(var.iam_user_arns) + length(var.workloads) > 0
    error_message = "With create_host = false the module needs role_arns, iam_user_arns or workloads: otherwise it creates nothing."
  }

  validation {
    condition     = length(setintersection(var.role_arns, compact([for w in values(var.workloads) : w.role_arn]))) == 0
    error_message = "role_arns: a role that is a workload's role_arn already gets its user there (Atlas has one user per role)."
  }
}

variable "iam_user_arns" {
  description = "IAM user ARNs that also get an Atlas database user (aws_iam_type USER), for the long-term-key path (verify --from-here --session-token)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.iam_user_arns : can(regex("^arn:aws:iam::[0-9]{12}:user/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$", arn))])
    error_message = "iam_user_arns must hold IAM user ARNs such as arn:aws:iam::123456789012:user/alice."
  }

  validation {
    condition     = length(var.iam_user_arns) <= 100 && length(distinct(var.iam_user_arns)) == length(var.iam_user_arns)
    error_message = "iam_user_arns may hold at most 100 ARNs, each once."
  }
}

variable "workloads" {
  description = "Workloads whose IAM role logs in to Atlas, by name (lowercase letter first, then lowercase letters, digits or '-'; at most 20 characters): kind \"lambda\", \"ecs\" or \"eks\"; role_arn brings an existing role, else the module creates one whose trust policy fits the kind; eks (only and always for kind eks) names the cluster, namespace and service account, and identity \"pod-identity\" (the module adds the association) or \"irsa\" (with the cluster's oidc_provider_arn); vpc (lambda only) says the function runs in a VPC, so a created role may manage its network interfaces; egress_cidrs are the addresses the workload reaches Atlas from (its NAT's, x.x.x.x/32), each added to the Atlas IP access list. Every workload's role gets an Atlas database user."
  type = map(object({
    kind     = string
    role_arn = optional(string)
    eks = optional(object({
      cluster_name      = string
      namespace         = string
      service_account   = string
      identity          = string
      oidc_provider_arn = optional(string)
    }))
    vpc          = optional(bool, false)
    egress_cidrs = optional(list(string), [])
  }))
  default  = {}
  nullable = false

  validation {
    condition     = length(var.workloads) <= 20 && alltrue([for key, w in var.workloads : can(regex("^[a-z][a-z0-9-]{0,19}$", key))])
    error_message = "workloads: at most 20, each named like ^[a-z][a-z0-9-]{0,19}$ (got ${jsonencode([for key, w in var.workloads : key if !can(regex("^[a-z][a-z0-9-]{0,19}$", key))])})."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : contains(["lambda", "ecs", "eks"], w.kind)])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if !contains(["lambda", "ecs", "eks"], w.kind)])}: kind must be \"lambda\", \"ecs\" or \"eks\"."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : (w.kind == "eks") == (w.eks != null)])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if(w.kind == "eks") != (w.eks != null)])}: the eks block is for kind \"eks\", and kind \"eks\" needs it (cluster_name, namespace, service_account, identity)."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : w.role_arn == null || can(regex("^arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@-]{1,64}$", w.role_arn))])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if !(w.role_arn == null || can(regex("^arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@-]{1,64}$", w.role_arn)))])}: role_arn must be an IAM role ARN without a path, such as arn:aws:iam::123456789012:role/app."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : w.eks == null || try(contains(["pod-identity", "irsa"], w.eks.identity), false)])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if !(w.eks == null || try(contains(["pod-identity", "irsa"], w.eks.identity), false))])}: eks.identity must be \"pod-identity\" or \"irsa\"."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : w.eks == null || try((w.eks.identity == "irsa") == (w.eks.oidc_provider_arn != null), false)])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if !(w.eks == null || try((w.eks.identity == "irsa") == (w.eks.oidc_provider_arn != null), false))])}: identity \"irsa\" needs eks.oidc_provider_arn (the cluster's IAM OIDC provider), and \"pod-identity\" must not have one."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : w.eks == null || try(can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", w.eks.cluster_name)) && can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", w.eks.namespace)) && can(regex("^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$", w.eks.service_account)), false)])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if !(w.eks == null || try(can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", w.eks.cluster_name)) && can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", w.eks.namespace)) && can(regex("^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$", w.eks.service_account)), false))])}: eks.cluster_name is an EKS cluster name (letters, digits, _ and -; at most 100), namespace a Kubernetes namespace (DNS label, at most 63) and service_account a service account name (lowercase letters, digits, . and -; at most 253)."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : try(w.eks.oidc_provider_arn, null) == null || can(regex("^arn:aws:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$", w.eks.oidc_provider_arn))])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if !(try(w.eks.oidc_provider_arn, null) == null || can(regex("^arn:aws:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$", w.eks.oidc_provider_arn)))])}: eks.oidc_provider_arn must be an IAM OIDC provider ARN such as arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : !w.vpc || w.kind == "lambda"])
    error_message = "workloads ${jsonencode([for key, w in var.workloads : key if w.vpc && w.kind != "lambda"])}: vpc is for kind \"lambda\" (ECS tasks and EKS pods always run in a VPC)."
  }

  validation {
    condition     = alltrue(flatten([for key, w in var.workloads : [for cidr in w.egress_cidrs : can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/([0-9]|[12][0-9]|3[0-2])$", cidr)) && try(cidrsubnet(cidr, 0, 0) == cidr, false)]]))
    error_message = "workloads: egress_cidrs must hold IPv4 CIDR blocks such as 203.0.113.7/32, with no host bits set."
  }

  validation {
    condition     = alltrue([for key, w in var.workloads : length(w.egress_cidrs) == 0 || var.network_mode == "public"])
    error_message = "workloads: egress_cidrs is for public mode; private mode reaches Atlas over PrivateLink, which ignores the IP access list."
  }

  validation {
    condition     = length(distinct(compact([for w in values(var.workloads) : w.role_arn]))) == length(compact([for w in values(var.workloads) : w.role_arn]))
    error_message = "workloads: each brought role_arn once (Atlas has one user per role)."
  }
}
