# Roadbed "queue" module, local target.
#
# Simulates an SQS-compatible message queue plus its dead-letter queue
# (ElasticMQ in the local cluster) with a built-in terraform_data resource:
# `input` holds the resolved settings, `triggers_replace` the identity
# (changing the identity -- including fifo, which cannot be changed on a real
# queue -- forces replacement).

locals {
  type       = "queue"
  base_name  = "${var.service}-${var.environment}-${var.name}"
  suffix     = var.fifo ? ".fifo" : ""
  queue_name = "${local.base_name}${local.suffix}"
  dlq_name   = "${local.base_name}-dlq${local.suffix}"
  endpoint   = "http://elasticmq.messaging.svc.cluster.local:9324"
  account_id = "000000000000"
  secret_ref = "${var.service}-${var.name}-${local.type}"
}

resource "terraform_data" "this" {
  triggers_replace = {
    type        = local.type
    service     = var.service
    environment = var.environment
    name        = var.name
    fifo        = var.fifo
  }

  input = {
    type                       = local.type
    name                       = var.name
    service                    = var.service
    environment                = var.environment
    team                       = var.team
    fifo                       = var.fifo
    visibility_timeout_seconds = var.visibility_timeout_seconds
    max_receive_count          = var.max_receive_count
    queue_name                 = local.queue_name
    queue_url                  = "${local.endpoint}/${local.account_id}/${local.queue_name}"
    dead_letter_queue_name     = local.dlq_name
    dead_letter_queue_url      = "${local.endpoint}/${local.account_id}/${local.dlq_name}"
    secret_ref                 = local.secret_ref
  }

  lifecycle {
    precondition {
      # SQS limit: 80 characters including the ".fifo" suffix.
      condition     = length(local.dlq_name) <= 80
      error_message = "Dead-letter queue name (${local.dlq_name}) must be at most 80 characters: shorten service or name."
    }
  }
}
