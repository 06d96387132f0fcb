output "type" {
  description = "Module type."
  value       = local.type
}

output "bucket" {
  description = "Bucket name: <service>-<environment>-<name>."
  value       = terraform_data.this.output.bucket
}

output "region" {
  description = "Region of the bucket (\"local\" for the local target)."
  value       = terraform_data.this.output.region
}

output "endpoint" {
  description = "S3-compatible API endpoint URL."
  value       = terraform_data.this.output.endpoint
}

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the access credentials (never the secret value)."
  value       = terraform_data.this.output.secret_ref
}
