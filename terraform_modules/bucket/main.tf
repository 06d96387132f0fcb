# Roadbed "bucket" module, local target.
#
# Simulates an S3-compatible object storage bucket (MinIO in the local
# cluster) with a built-in terraform_data resource: `input` holds the resolved
# settings, `triggers_replace` the identity (changing the identity forces
# replacement, like a real bucket would).

locals {
  type        = "bucket"
  bucket_name = "${var.service}-${var.environment}-${var.name}"
  secret_ref  = "${var.service}-${var.name}-${local.type}"
}

resource "terraform_data" "this" {
  triggers_replace = {
    type        = local.type
    service     = var.service
    environment = var.environment
    name        = var.name
  }

  input = {
    type        = local.type
    name        = var.name
    service     = var.service
    environment = var.environment
    team        = var.team
    versioning  = var.versioning
    public      = var.public
    bucket      = local.bucket_name
    region      = "local"
    endpoint    = "http://minio.storage.svc.cluster.local:9000"
    secret_ref  = local.secret_ref
  }

  lifecycle {
    precondition {
      condition     = length(local.bucket_name) <= 63
      error_message = "Bucket name \"<service>-<environment>-<name>\" (${local.bucket_name}) must be at most 63 characters."
    }
  }
}
