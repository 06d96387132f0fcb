# Roadbed "postgres" module, local target.
#
# Simulates a PostgreSQL database with a built-in terraform_data resource:
# `input` holds the resolved settings, `triggers_replace` the identity
# (changing the identity forces replacement, like a real database would).

locals {
  type       = "postgres"
  label      = "${var.service}-${var.name}"
  namespace  = "${var.service}-${var.environment}"
  db_ident   = replace(var.name, "-", "_")
  secret_ref = "${var.service}-${var.name}-${local.type}"
}

resource "terraform_data" "this" {
  triggers_replace = {
    type        = local.type
    service     = var.service
    environment = var.environment
    name        = var.name
  }

  input = {
    type           = local.type
    name           = var.name
    service        = var.service
    environment    = var.environment
    team           = var.team
    engine_version = var.engine_version
    storage_gb     = var.storage_gb
    instance_class = var.instance_class
    host           = "${local.label}.${local.namespace}.svc.cluster.local"
    port           = 5432
    database       = local.db_ident
    username       = local.db_ident
    secret_ref     = local.secret_ref
    # sensitive: Terraform keeps it in the state (as a real database's would be);
    # no output reads it
    master_password = var.master_password
  }

  lifecycle {
    precondition {
      condition     = length(local.label) <= 63
      error_message = "\"<service>-<name>\" (${local.label}) must be at most 63 characters: it is used as a DNS label in the host name."
    }
    precondition {
      condition     = length(local.namespace) <= 63
      error_message = "\"<service>-<environment>\" (${local.namespace}) must be at most 63 characters: it is used as a Kubernetes namespace."
    }
  }
}
