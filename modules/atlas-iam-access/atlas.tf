################################################################################
# MongoDB Atlas: database users authenticated by AWS IAM, and network access
################################################################################

locals {
  # Every identity that gets an Atlas user (auth database $external). Roles (the host's, each workload's under
  # "workload:NAME", role_arns): STS reports an assumed-role session, which Atlas maps back to the role ARN.
  # IAM users (long-term keys): STS reports the user ARN.
  database_users = merge(
    { for key in(var.create_host ? ["host"] : []) : key => { username = aws_iam_role.host[0].arn, aws_iam_type = "ROLE" } },
    { for key, arn in local.workload_role_arns : "workload:${key}" => { username = arn, aws_iam_type = "ROLE" } },
    { for arn in var.role_arns : arn => { username = arn, aws_iam_type = "ROLE" } },
    { for arn in var.iam_user_arns : arn => { username = arn, aws_iam_type = "USER" } },
  )

  # The cluster's connection string, without credentials. In private mode, the SRV string of the private
  # endpoint this module made: Atlas lists one per endpoint once it accepted it.
  cluster_strings = var.mongodb_uri == null ? data.mongodbatlas_advanced_cluster.this[0].connection_strings : null
  private_srv = local.privatelink && var.mongodb_uri == null ? try(one([
    for pe in local.cluster_strings.private_endpoint : pe.srv_connection_string
    if contains([for e in pe.endpoints : e.endpoint_id], aws_vpc_endpoint.atlas[0].id)
  ]), null) : null
  mongodb_uri = var.mongodb_uri != null ? var.mongodb_uri : (local.privatelink ? local.private_srv : local.cluster_strings.standard_srv)
}

# Read only when the caller gives no mongodb_uri: a cluster created in the same apply cannot be read at plan
# time, so such callers pass its connection string instead. Private mode reads it after Atlas accepted the
# endpoint, when the private-endpoint strings exist.
data "mongodbatlas_advanced_cluster" "this" {
  count = var.mongodb_uri == null ? 1 : 0

  project_id = var.atlas_project_id
  name       = var.atlas_cluster_name

  depends_on = [mongodbatlas_privatelink_endpoint_service.this]
}

resource "mongodbatlas_database_user" "this" {
  for_each = local.database_users

  project_id         = var.atlas_project_id
  username           = each.value.username
  auth_database_name = "$external"
  aws_iam_type       = each.value.aws_iam_type

  dynamic "roles" {
    for_each = var.database_roles

    content {
      role_name       = roles.value.role_name
      database_name   = roles.value.database_name
      collection_name = roles.value.collection_name
    }
  }

  scopes {
    name = var.atlas_cluster_name
    type = "CLUSTER"
  }

  labels {
    key   = "managed-by"
    value = "atlasiam"
  }
}

# Public mode: the host's public IP. Atlas does not apply the access list to private-endpoint connections.
resource "mongodbatlas_project_ip_access_list" "host" {
  count = var.create_host && local.public_ip ? 1 : 0

  project_id = var.atlas_project_id
  ip_address = aws_instance.this[0].public_ip
  comment    = "atlasiam host ${local.name}"
}

# A workload's egress addresses (its NAT's), once each however many workloads share them.
resource "mongodbatlas_project_ip_access_list" "workload" {
  for_each = toset(flatten([for w in values(var.workloads) : w.egress_cidrs]))

  project_id = var.atlas_project_id
  cidr_block = each.value
  comment    = "atlasiam ${local.name} workload egress"
}

# A host behind NAT egresses from the NAT's address, which access_list_cidrs names instead.
resource "mongodbatlas_project_ip_access_list" "cidr" {
  for_each = toset(var.access_list_cidrs)

  project_id = var.atlas_project_id
  cidr_block = each.value
  comment    = "atlasiam ${local.name} egress"
}
