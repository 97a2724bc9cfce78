terraform {
  # 1.9 lets a variable's validation read other variables; 1.10 is what atlasiam's own root needs.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    mongodbatlas = {
      source  = "mongodb/mongodbatlas"
      version = ">= 2.0, < 3.0"
    }
  }
}
