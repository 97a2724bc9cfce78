# One app in private network mode: a new VPC with two private subnets and no internet route. The host has
# no public IP; it reaches SSM through interface endpoints, the Amazon Linux repositories and its wheelhouse
# (the probe's Python wheels, uploaded from wheelhouse_dir) through an S3 gateway endpoint, and the cluster
# through Atlas PrivateLink. All of those are the module's defaults in private mode.
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

  name         = var.name
  environment  = var.environment
  network_mode = "private"
  # The host has no internet: it installs pymongo[aws] from these wheels (`atlasiam wheelhouse` builds them).
  wheelhouse_dir = var.wheelhouse_dir

  atlas_project_id   = var.atlas_project_id
  atlas_cluster_name = var.atlas_cluster_name
  database_roles = [
    { role_name = "readWrite", database_name = var.name },
  ]

  tags = {
    app = var.name
  }
}
