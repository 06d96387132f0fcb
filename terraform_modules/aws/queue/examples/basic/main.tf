# Minimal usage of the aws queue module.
#   export AWS_REGION=eu-west-1   (and credentials, e.g. AWS_PROFILE)
#   terraform init && terraform apply && terraform output

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 7.0.0"
    }
  }
}

provider "aws" {}

module "queue" {
  source = "../.."

  name        = "orders-in"
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
