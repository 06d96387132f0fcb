# Minimal usage of the bucket module.
#   terraform init && terraform apply && terraform output

terraform {
  required_version = ">= 1.9.0"
}

module "bucket" {
  source = "../.."

  name        = "uploads"
  service     = "orders"
  environment = "dev"
  team        = "payments"

  # Optional (defaults shown):
  # versioning = true
  # public     = false   # must stay false when environment = "prod"
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
