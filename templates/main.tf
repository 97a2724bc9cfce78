# atlasiam's root: providers, backend and one call of the atlas-iam-access module. Every value comes from
# atlasiam.toml through terraform.tfvars.json; the module (modules/atlas-iam-access) holds everything else.
module "atlasiam" {
  source = "./modules/atlas-iam-access"

  name        = var.stack.name
  environment = var.stack.environment
  tags        = var.stack.tags

  network_mode         = var.stack.network_mode
  create_host          = var.stack.create_host
  create_network       = var.stack.create_network
  vpc_cidr             = var.stack.vpc_cidr
  subnet_cidrs         = var.stack.subnet_cidrs
  availability_zones   = var.stack.availability_zones
  vpc_id               = var.stack.vpc_id
  subnet_ids           = var.stack.subnet_ids
  route_table_ids      = var.stack.route_table_ids
  create_vpc_endpoints = var.stack.create_vpc_endpoints
  sts_endpoint         = var.stack.sts_endpoint
  access_list_cidrs    = var.stack.access_list_cidrs
  flow_logs            = var.stack.flow_logs

  instance_type        = var.stack.instance_type
  ami_ssm_parameter    = var.stack.ami_ssm_parameter
  ami_id               = var.stack.ami_id
  follow_latest_ami    = var.stack.follow_latest_ami
  wheelhouse_dir       = var.stack.wheelhouse_dir
  imds_hop_limit       = var.stack.imds_hop_limit
  root_volume_size     = var.stack.root_volume_size
  kms_key_arn          = var.stack.kms_key_arn
  permissions_boundary = var.stack.permissions_boundary
  ssm_policy           = var.stack.ssm_policy
  verify_principals    = var.stack.verify_principals

  atlas_project_id   = var.stack.atlas_project_id
  atlas_cluster_name = var.stack.atlas_cluster_name
  database_roles     = var.stack.database_roles
  role_arns          = var.stack.role_arns
  iam_user_arns      = var.stack.iam_user_arns
  workloads          = var.stack.workloads
}
