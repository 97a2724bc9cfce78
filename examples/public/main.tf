# One app, public network mode (the module's defaults): a new VPC with one public subnet, a host with a
# public IP on the Atlas project access list, and an Atlas database user for the host's IAM role.
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

  atlas_project_id   = var.atlas_project_id
  atlas_cluster_name = var.atlas_cluster_name
  database_roles = [
    { role_name = "readWrite", database_name = var.name },
  ]

  tags = {
    app = var.name
  }
}
