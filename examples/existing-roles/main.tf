# Atlas database users for IAM roles that already exist (workloads on ECS, Lambda, EKS, ... that this
# module does not create): no host, so nothing on AWS but what the module reads.
provider "aws" {
  region = var.region

  default_tags {
    tags = {
      team = "platform"
    }
  }
}

# Credentials from the environment: MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET.
provider "mongodbatlas" {}

module "atlasiam" {
  source = "../../modules/atlas-iam-access"

  name        = var.name
  environment = var.environment
  # No host, so no network to place it in: nothing is created on AWS.
  create_host    = false
  create_network = false
  role_arns      = var.role_arns

  atlas_project_id   = var.atlas_project_id
  atlas_cluster_name = var.atlas_cluster_name
  database_roles = [
    { role_name = "readWrite", database_name = var.name },
  ]

  tags = {
    app = var.name
  }
}
