# Workloads whose IAM role logs in to Atlas, one of each kind, and no host: a Lambda function in a VPC, an ECS
# task, an EKS pod with Pod Identity, an EKS pod with IRSA, and one workload that brings its own role. The
# module makes each role (its trust policy fits the kind) and an Atlas database user for every one of them.
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
  # No host, so no network to place it in: the workloads run in networks of their own.
  create_host    = false
  create_network = false

  workloads = {
    # A Lambda function in a VPC: its role may manage the function's network interfaces, and its NAT's
    # address goes on the Atlas access list.
    api = {
      kind         = "lambda"
      vpc          = true
      egress_cidrs = [var.lambda_egress_cidr]
    }
    # An ECS task: this is the task role, not the task execution role.
    worker = {
      kind = "ecs"
    }
    # An EKS pod with Pod Identity: the module also associates the role with the service account.
    web = {
      kind = "eks"
      eks = {
        cluster_name    = var.eks_cluster_name
        namespace       = var.name
        service_account = "web"
        identity        = "pod-identity"
      }
    }
    # An EKS pod with IRSA: the role trusts the cluster's OIDC provider for this service account's token.
    search = {
      kind = "eks"
      eks = {
        cluster_name      = var.eks_cluster_name
        namespace         = var.name
        service_account   = "search"
        identity          = "irsa"
        oidc_provider_arn = var.eks_oidc_provider_arn
      }
    }
    # A role that already exists: it gets its database user, and nothing is created on AWS for it.
    reports = {
      kind     = "lambda"
      role_arn = var.reports_role_arn
    }
  }

  atlas_project_id   = var.atlas_project_id
  atlas_cluster_name = var.atlas_cluster_name
  database_roles = [
    { role_name = "readWrite", database_name = var.name },
  ]

  tags = {
    app = var.name
  }
}
