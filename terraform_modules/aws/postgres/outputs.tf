output "type" {
  description = "Module type."
  value       = local.type
}

output "host" {
  description = "Hostname clients connect to: the RDS endpoint address."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "TCP port clients connect to."
  value       = aws_db_instance.this.port
}

output "database" {
  description = "Database name (name with '-' replaced by '_')."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Database user name (same as database); the RDS master user."
  value       = aws_db_instance.this.username
}

output "engine_version" {
  description = "PostgreSQL major version (the running minor is the instance's engine_version_actual)."
  value       = var.engine_version
}

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the credentials (never the secret value); synced from the RDS-managed Secrets Manager secret."
  value       = local.secret_ref
}
