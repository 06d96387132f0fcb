# Roadbed "postgres" module, aws target.
#
# Amazon RDS for PostgreSQL in the environment's VPC: a DB subnet group over
# the VPC's private subnets, a security group admitting PostgreSQL from inside
# the VPC only, and an encrypted, non-public `aws_db_instance` whose master
# password RDS generates, stores and rotates in AWS Secrets Manager
# (`manage_master_user_password`): by default no password passes through
# Terraform, its state or Roadbed. A request may set `master_password`
# (sensitive: Roadbed seals it and only Terraform, and its state, see it).
# Same inputs and outputs as the local target.
#
# Network discovery (the platform team provides the network, this module never
# creates one): the VPC tagged `roadbed.dev/environment = <environment>` and
# its subnets tagged `roadbed.dev/tier = private`.
#
# prod: Multi-AZ, deletion protection, 14 days of backups and a final snapshot.
# Decommissioning a prod database therefore fails until an operator turns
# deletion protection off (by design: Roadbed then waits for `roadbed retry`).

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
  type       = "postgres"
  identifier = "${var.service}-${var.environment}-${var.name}"
  db_ident   = replace(var.name, "-", "_")
  secret_ref = "${var.service}-${var.name}-${local.type}"
  prod       = var.environment == "prod"
  storage_gb = max(var.storage_gb, 20)

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

resource "aws_db_subnet_group" "this" {
  name        = local.identifier
  description = "Private subnets of ${local.identifier} (Roadbed)"
  subnet_ids  = data.aws_subnets.private.ids
  tags        = local.tags

  lifecycle {
    precondition {
      condition     = length(data.aws_subnets.private.ids) >= 2
      error_message = "RDS needs private subnets in at least two availability zones: tag them roadbed.dev/tier = private in the VPC tagged roadbed.dev/environment = ${var.environment}."
    }
  }
}

resource "aws_security_group" "this" {
  name        = "${local.identifier}-postgres"
  description = "PostgreSQL ${local.identifier}: clients inside the VPC only (Roadbed)"
  vpc_id      = data.aws_vpc.this.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL from inside the VPC"
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  tags              = local.tags
}

resource "aws_db_instance" "this" {
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_version # major only: RDS picks the current minor
  instance_class = var.instance_class
  port           = 5432

  allocated_storage     = local.storage_gb
  max_allocated_storage = local.storage_gb * 2
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name                             = local.db_ident
  username                            = local.db_ident
  manage_master_user_password         = var.master_password == null ? true : null # else the given one (sensitive)
  password                            = var.master_password
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false

  multi_az                        = local.prod
  backup_retention_period         = local.prod ? 14 : 1
  deletion_protection             = local.prod
  skip_final_snapshot             = !local.prod
  final_snapshot_identifier       = local.prod ? "${local.identifier}-final" : null
  delete_automated_backups        = !local.prod
  copy_tags_to_snapshot           = true
  auto_minor_version_upgrade      = true
  allow_major_version_upgrade     = false
  apply_immediately               = !local.prod
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(local.identifier) <= 63 && !strcontains(local.identifier, "--")
      error_message = "RDS identifier \"<service>-<environment>-<name>\" (${local.identifier}) must be at most 63 characters without \"--\"."
    }
    precondition {
      condition     = length("${var.service}-${var.name}") <= 63 && length("${var.service}-${var.environment}") <= 63
      error_message = "\"<service>-<name>\" and \"<service>-<environment>\" must be at most 63 characters (Kubernetes names, as on the local target)."
    }
    precondition {
      condition     = !contains(["rdsadmin", "rds_superuser", "rdsrepladmin", "public", "user", "template0", "template1"], local.db_ident)
      error_message = "The database and user name (${local.db_ident}, from name) is reserved in RDS for PostgreSQL: choose another name."
    }
  }
}
