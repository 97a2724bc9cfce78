# Several apps from one root: one module call per app, with for_each. The module has no provider
# configuration of its own, so every instance uses the providers below, default_tags included.
provider "aws" {
  region = var.region

  default_tags {
    tags = {
      team        = "platform"
      cost-center = "cc-1234"
    }
  }
}

# Credentials from the environment: MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET.
provider "mongodbatlas" {}

module "app" {
  source   = "../../modules/atlas-iam-access"
  for_each = var.apps

  name        = each.key
  environment = var.environment
  # Each app its own VPC range, so the apps could later be peered.
  vpc_cidr = each.value.vpc_cidr

  atlas_project_id   = var.atlas_project_id
  atlas_cluster_name = var.atlas_cluster_name
  database_roles     = each.value.database_roles

  tags = {
    app = each.key
  }
}
