# Minimal usage of the redis module.
#   terraform init && terraform apply && terraform output

terraform {
  required_version = ">= 1.5.0"
}

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
