output "type" {
  description = "Module type."
  value       = local.type
}

output "host" {
  description = "Hostname clients connect to: the primary endpoint (TLS required)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "TCP port clients connect to."
  value       = aws_elasticache_replication_group.this.port
}

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the credentials (never the secret value); synced from the Secrets Manager secret roadbed/<environment>/<service>/<name>-redis."
  value       = local.secret_ref
}
