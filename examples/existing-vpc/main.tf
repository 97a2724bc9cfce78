# One app in a VPC that already exists: the host goes in the first of subnet_ids. Those subnets egress
# through a NAT gateway, so the host gets no public IP, and the Atlas access list admits the NAT's address
# (access_list_cidrs) instead.
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

  create_network    = false
  vpc_id            = var.vpc_id
  subnet_ids        = var.subnet_ids
  access_list_cidrs = var.access_list_cidrs

  atlas_project_id   = var.atlas_project_id
  atlas_cluster_name = var.atlas_cluster_name
  database_roles = [
    { role_name = "read", database_name = var.name, collection_name = "invoices" },
  ]

  tags = {
    app = var.name
  }
}
