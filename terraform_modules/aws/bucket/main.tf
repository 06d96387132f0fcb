# Roadbed "bucket" module, aws target.
#
# An Amazon S3 bucket: object ownership enforced (ACLs disabled), public access
# blocked (a bucket policy may allow anonymous reads only when `public = true`,
# which validation forbids in prod), default encryption with SSE-KMS and an S3
# Bucket Key, versioning as requested, TLS-only access, incomplete multipart
# uploads and old object versions expired. Same inputs and outputs as the
# local target.
#
# Bucket names are global across all AWS accounts, so the account id is
# appended: <service>-<environment>-<name>-<account id>.
#
# Workloads reach the bucket with their own IAM role (IRSA / EKS Pod Identity),
# never with stored keys: attach the policy roadbed-<bucket> created here to
# the service's role. `secret_ref` keeps the local target's contract (the
# workload's *_PASSWORD variable is an optional secretKeyRef) and names no
# Secret on AWS.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  type        = "bucket"
  bucket_name = "${var.service}-${var.environment}-${var.name}-${data.aws_caller_identity.current.account_id}"
  secret_ref  = "${var.service}-${var.name}-${local.type}"
  prod        = var.environment == "prod"

  tags = {
    "roadbed.dev/type"        = local.type
    "roadbed.dev/name"        = var.name
    "roadbed.dev/service"     = var.service
    "roadbed.dev/environment" = var.environment
    "roadbed.dev/team"        = var.team
    "roadbed.dev/managed-by"  = "roadbed"
  }
}

resource "aws_s3_bucket" "this" {
  bucket = local.bucket_name
  # Decommissioning a non-prod environment empties its bucket; a prod bucket
  # must be emptied by an operator first.
  force_destroy = !local.prod
  tags          = local.tags

  lifecycle {
    precondition {
      condition     = length(local.bucket_name) <= 63 && !strcontains(local.bucket_name, "--")
      error_message = "Bucket name \"<service>-<environment>-<name>-<account id>\" (${local.bucket_name}) must be at most 63 characters without \"--\": shorten service or name."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = !var.public
  restrict_public_buckets = !var.public
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = var.versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "housekeeping"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = local.prod ? 90 : 30
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = var.public ? ["public-read"] : []

    content {
      sid       = "PublicRead"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.this.arn}/*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # A public-read policy is refused while the public access block still blocks it.
  depends_on = [aws_s3_bucket_public_access_block.this, aws_s3_bucket_ownership_controls.this]
}

data "aws_iam_policy_document" "access" {
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid       = "ReadWriteObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
  }
}

resource "aws_iam_policy" "access" {
  name        = "roadbed-${local.bucket_name}"
  description = "Read/write access to the S3 bucket ${local.bucket_name}, for the workload role of ${var.service} (${var.environment})."
  policy      = data.aws_iam_policy_document.access.json
  tags        = local.tags
}
