# Minimal usage of the aws bucket module.
#   export AWS_REGION=eu-west-1   (and credentials, e.g. AWS_PROFILE)
#   terraform init && terraform apply && terraform output

terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 7.0.0"
    }
  }
}

provider "aws" {}

module "bucket" {
  source = "../.."

  name        = "assets"
  service     = "orders"
  environment = "dev"
  team        = "payments"

  # Optional (defaults shown):
  # versioning = true
  # public     = false
}

output "type" {
  value = module.bucket.type
}

output "bucket" {
  value = module.bucket.bucket
}

output "region" {
  value = module.bucket.region
}

output "endpoint" {
  value = module.bucket.endpoint
}

output "secret_ref" {
  value = module.bucket.secret_ref
}
