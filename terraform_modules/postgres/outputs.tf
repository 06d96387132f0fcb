output "type" {
  description = "Module type."
  value       = local.type
}

output "host" {
  description = "Hostname clients connect to."
  value       = terraform_data.this.output.host
}

output "port" {
  description = "TCP port clients connect to."
  value       = terraform_data.this.output.port
}

output "database" {
  description = "Database name (name with '-' replaced by '_')."
  value       = terraform_data.this.output.database
}

output "username" {
  description = "Database user name (same as database)."
  value       = terraform_data.this.output.username
}

output "engine_version" {
  description = "PostgreSQL major version."
  value       = terraform_data.this.output.engine_version
}

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the credentials (never the secret value)."
  value       = terraform_data.this.output.secret_ref
}
