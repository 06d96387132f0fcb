# Minimal usage of the postgres module.
#   terraform init && terraform apply && terraform output

terraform {
  required_version = ">= 1.5.0"
}

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
