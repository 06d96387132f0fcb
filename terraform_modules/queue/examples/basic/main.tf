# Minimal usage of the queue module.
#   terraform init && terraform apply && terraform output

terraform {
  required_version = ">= 1.5.0"
}

module "queue" {
  source = "../.."

  name        = "events"
  service     = "orders"
  environment = "dev"
  team        = "payments"

  # Optional (defaults shown):
  # fifo                       = false
  # visibility_timeout_seconds = 30
  # max_receive_count          = 5
}

output "type" {
  value = module.queue.type
}

output "queue_name" {
  value = module.queue.queue_name
}

output "queue_url" {
  value = module.queue.queue_url
}

output "dead_letter_queue_name" {
  value = module.queue.dead_letter_queue_name
}

output "secret_ref" {
  value = module.queue.secret_ref
}
