output "type" {
  description = "Module type."
  value       = local.type
}

output "bucket" {
  description = "Bucket name: <service>-<environment>-<name>-<account id>."
  value       = aws_s3_bucket.this.id
}

output "region" {
  description = "Region of the bucket."
  value       = aws_s3_bucket.this.region
}

output "endpoint" {
  description = "S3 API endpoint URL of the bucket's region."
  value       = "https://s3.${aws_s3_bucket.this.region}.${data.aws_partition.current.dns_suffix}"
}

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the access credentials (never the secret value); on AWS access comes from the workload's IAM role, so no such Secret is created."
  value       = local.secret_ref
}
