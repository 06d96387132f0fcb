# Minimal usage of the aws postgres module.
#   export AWS_REGION=eu-west-1   (and credentials, e.g. AWS_PROFILE)
#   terraform init && terraform apply && terraform output
#
# Needs a VPC tagged roadbed.dev/environment = "dev" with private subnets
# (in at least two availability zones) tagged roadbed.dev/tier = "private".

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

module "postgres" {
  source = "../.."

  name        = "main"
  service     = "orders"
  environment = "dev"
  team        = "payments"

  # Optional (defaults shown):
  # engine_version = "16"
  # storage_gb     = 20
  # instance_class = "db.t4g.micro"
}

output "type" {
  value = module.postgres.type
}

output "host" {
  value = module.postgres.host
}

output "port" {
  value = module.postgres.port
}

output "database" {
  value = module.postgres.database
}

output "username" {
  value = module.postgres.username
}

output "engine_version" {
  value = module.postgres.engine_version
}

output "secret_ref" {
  value = module.postgres.secret_ref
}
