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

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the credentials (never the secret value)."
  value       = terraform_data.this.output.secret_ref
}
