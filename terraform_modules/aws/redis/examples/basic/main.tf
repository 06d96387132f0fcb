# Minimal usage of the aws redis module.
#   export AWS_REGION=eu-west-1   (and credentials, e.g. AWS_PROFILE)
#   terraform init && terraform apply && terraform output
#
# Needs a VPC tagged roadbed.dev/environment = "dev" with private subnets
# tagged roadbed.dev/tier = "private".

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 7.0.0"
    }
  }
}

provider "aws" {}

module "redis" {
  source = "../.."

  name        = "cache"
  service     = "orders"
  environment = "dev"
  team        = "payments"

  # Optional (defaults shown):
  # engine_version = "7.1"
  # node_type      = "cache.t4g.micro"
  # num_nodes      = 1
}

output "type" {
  value = module.redis.type
}

output "host" {
  value = module.redis.host
}

output "port" {
  value = module.redis.port
}

output "secret_ref" {
  value = module.redis.secret_ref
}
