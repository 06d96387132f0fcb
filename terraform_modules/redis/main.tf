# Roadbed "redis" module, local target.
#
# Simulates a Redis cache with a built-in terraform_data resource:
# `input` holds the resolved settings, `triggers_replace` the identity
# (changing the identity forces replacement, like a real cache would).

locals {
  type       = "redis"
  label      = "${var.service}-${var.name}"
  namespace  = "${var.service}-${var.environment}"
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
    node_type      = var.node_type
    num_nodes      = var.num_nodes
    host           = "${local.label}.${local.namespace}.svc.cluster.local"
    port           = 6379
    secret_ref     = local.secret_ref
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
