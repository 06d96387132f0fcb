output "type" {
  description = "Module type."
  value       = local.type
}

output "queue_name" {
  description = "Queue name: <service>-<environment>-<name>, with \".fifo\" appended for FIFO queues."
  value       = terraform_data.this.output.queue_name
}

output "queue_url" {
  description = "Queue URL clients send to / receive from."
  value       = terraform_data.this.output.queue_url
}

output "dead_letter_queue_name" {
  description = "Dead-letter queue name: <service>-<environment>-<name>-dlq (\".fifo\" appended for FIFO queues)."
  value       = terraform_data.this.output.dead_letter_queue_name
}

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the access credentials (never the secret value)."
  value       = terraform_data.this.output.secret_ref
}
