provider "aws" {
  region = var.region
}

# Credentials come from the environment: MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET
# (service account, recommended) or MONGODB_ATLAS_PUBLIC_API_KEY / MONGODB_ATLAS_PRIVATE_API_KEY.
provider "mongodbatlas" {}
