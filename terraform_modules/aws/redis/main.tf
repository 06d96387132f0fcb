# Roadbed "redis" module, aws target.
#
# Amazon ElastiCache replication group (cluster mode disabled) in the
# environment's VPC: a cache subnet group over the VPC's private subnets, a
# security group admitting Redis from inside the VPC only, encryption at rest
# and in transit, and an AUTH token generated here and kept in an AWS Secrets
# Manager secret. Same inputs and outputs as the local target.
#
# engine_version "6.2", "7.0" and "7.1" run Redis OSS; "7.2" runs Valkey 7.2
# (ElastiCache's Redis-compatible engine; Redis OSS stops at 7.1 there).
# num_nodes >= 2 adds replicas with automatic failover across availability zones.
#
# The AUTH token is in Terraform state (ElastiCache has no write-only token):
# keep state encrypted and access-controlled (the pg backend's database).

data "aws_vpc" "this" {
  tags = {
    "roadbed.dev/environment" = var.environment
  }
}

data "aws_subnets" "private" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.this.id]
  }

  tags = {
    "roadbed.dev/tier" = "private"
  }
}

locals {
  type       = "redis"
  label      = "${var.service}-${var.name}"
  namespace  = "${var.service}-${var.environment}"
  base_name  = "${var.service}-${var.environment}-${var.name}"
  secret_ref = "${var.service}-${var.name}-${local.type}"
  prod       = var.environment == "prod"
  engine     = var.engine_version == "7.2" ? "valkey" : "redis"
  failover   = var.num_nodes > 1

  # ElastiCache ids are at most 40 characters: long names keep a readable
  # prefix and a hash of the full name, so they stay unique.
  group_id = length(local.base_name) <= 40 ? local.base_name : "${trimsuffix(substr(local.base_name, 0, 31), "-")}-${substr(sha1(local.base_name), 0, 8)}"

  tags = {
    "roadbed.dev/type"        = local.type
    "roadbed.dev/name"        = var.name
    "roadbed.dev/service"     = var.service
    "roadbed.dev/environment" = var.environment
    "roadbed.dev/team"        = var.team
    "roadbed.dev/secret-ref"  = local.secret_ref
    "roadbed.dev/managed-by"  = "roadbed"
  }
}

resource "aws_elasticache_subnet_group" "this" {
  name        = local.group_id
  description = "Private subnets of ${local.base_name} (Roadbed)"
  subnet_ids  = data.aws_subnets.private.ids
  tags        = local.tags

  lifecycle {
    precondition {
      condition     = length(data.aws_subnets.private.ids) >= 1
      error_message = "No private subnets: tag them roadbed.dev/tier = private in the VPC tagged roadbed.dev/environment = ${var.environment}."
    }
  }
}

resource "aws_security_group" "this" {
  name        = "${local.base_name}-redis"
  description = "Redis ${local.base_name}: clients inside the VPC only (Roadbed)"
  vpc_id      = data.aws_vpc.this.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  security_group_id = aws_security_group.this.id
  description       = "Redis from inside the VPC"
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  ip_protocol       = "tcp"
  from_port         = 6379
  to_port           = 6379
  tags              = local.tags
}

# ElastiCache AUTH tokens: 16-128 printable characters without @, " or /.
resource "random_password" "auth" {
  length  = 40
  special = false
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = local.group_id
  description          = "Roadbed ${local.type} ${var.service}/${var.name} (${var.environment}, team ${var.team})"

  engine         = local.engine
  engine_version = var.engine_version
  node_type      = var.node_type
  port           = 6379

  num_cache_clusters         = var.num_nodes
  automatic_failover_enabled = local.failover
  multi_az_enabled           = local.failover

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = random_password.auth.result
  auth_token_update_strategy = "ROTATE"

  auto_minor_version_upgrade = true
  apply_immediately          = !local.prod
  snapshot_retention_limit   = local.prod ? 7 : 0
  final_snapshot_identifier  = local.prod ? "${local.group_id}-final" : null

  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(local.label) <= 63 && length(local.namespace) <= 63
      error_message = "\"<service>-<name>\" (${local.label}) and \"<service>-<environment>\" (${local.namespace}) must be at most 63 characters (Kubernetes names, as on the local target)."
    }
    precondition {
      condition     = !strcontains(local.group_id, "--")
      error_message = "ElastiCache ids cannot contain \"--\" (${local.group_id}): rename the service or resource."
    }
  }
}

resource "aws_secretsmanager_secret" "auth" {
  name        = "roadbed/${var.environment}/${var.service}/${var.name}-redis"
  description = "AUTH token and endpoint of Redis ${local.base_name}; synced into the Kubernetes Secret ${local.secret_ref} (key: password)."
  # Outside prod a decommissioned secret goes at once, so the name can be reused.
  recovery_window_in_days = local.prod ? 30 : 0
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "auth" {
  secret_id = aws_secretsmanager_secret.auth.id
  secret_string = jsonencode({
    password = random_password.auth.result
    host     = aws_elasticache_replication_group.this.primary_endpoint_address
    port     = aws_elasticache_replication_group.this.port
    tls      = true
  })
}
