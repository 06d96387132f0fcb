# Roadbed "queue" module, aws target.
#
# An Amazon SQS queue and its dead-letter queue: messages received
# max_receive_count times move to the DLQ (redrive policy), the DLQ accepts
# redrives from this queue only and keeps messages for the maximum 14 days,
# both queues are encrypted (SSE-SQS) and refuse non-TLS requests. FIFO queues
# get content-based deduplication. Same inputs and outputs as the local target.
#
# Workloads reach the queue with their own IAM role (IRSA / EKS Pod Identity),
# never with stored keys: attach the policy roadbed-<queue> created here to
# the service's role. `secret_ref` keeps the local target's contract (the
# workload's *_PASSWORD variable is an optional secretKeyRef) and names no
# Secret on AWS.

locals {
  type       = "queue"
  base_name  = "${var.service}-${var.environment}-${var.name}"
  suffix     = var.fifo ? ".fifo" : ""
  queue_name = "${local.base_name}${local.suffix}"
  dlq_name   = "${local.base_name}-dlq${local.suffix}"
  secret_ref = "${var.service}-${var.name}-${local.type}"

  tags = {
    "roadbed.dev/type"        = local.type
    "roadbed.dev/name"        = var.name
    "roadbed.dev/service"     = var.service
    "roadbed.dev/environment" = var.environment
    "roadbed.dev/team"        = var.team
    "roadbed.dev/managed-by"  = "roadbed"
  }
}

resource "aws_sqs_queue" "dlq" {
  name                        = local.dlq_name
  fifo_queue                  = var.fifo
  content_based_deduplication = var.fifo ? true : null
  message_retention_seconds   = 1209600 # 14 days, the SQS maximum
  sqs_managed_sse_enabled     = true
  tags                        = local.tags

  lifecycle {
    precondition {
      # SQS limit: 80 characters including the ".fifo" suffix.
      condition     = length(local.dlq_name) <= 80
      error_message = "Dead-letter queue name (${local.dlq_name}) must be at most 80 characters: shorten service or name."
    }
  }
}

resource "aws_sqs_queue" "this" {
  name                        = local.queue_name
  fifo_queue                  = var.fifo
  content_based_deduplication = var.fifo ? true : null
  visibility_timeout_seconds  = var.visibility_timeout_seconds
  message_retention_seconds   = 345600 # 4 days
  receive_wait_time_seconds   = 20     # long polling
  sqs_managed_sse_enabled     = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = local.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

data "aws_iam_policy_document" "tls_only" {
  for_each = {
    queue = aws_sqs_queue.this.arn
    dlq   = aws_sqs_queue.dlq.arn
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

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
}

resource "aws_sqs_queue_policy" "this" {
  for_each = {
    queue = aws_sqs_queue.this.id
    dlq   = aws_sqs_queue.dlq.id
  }

  queue_url = each.value
  policy    = data.aws_iam_policy_document.tls_only[each.key].json
}

data "aws_iam_policy_document" "access" {
  statement {
    sid = "UseQueue"
    actions = [
      "sqs:SendMessage",
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [aws_sqs_queue.this.arn]
  }

  statement {
    sid       = "InspectDeadLetters"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

resource "aws_iam_policy" "access" {
  name        = "roadbed-${replace(local.queue_name, ".", "-")}"
  description = "Access to the SQS queue ${local.queue_name} and its dead-letter queue, for the workload role of ${var.service} (${var.environment})."
  policy      = data.aws_iam_policy_document.access.json
  tags        = local.tags
}
