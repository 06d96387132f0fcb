output "type" {
  description = "Module type."
  value       = local.type
}

output "queue_name" {
  description = "Queue name: <service>-<environment>-<name>, with \".fifo\" appended for FIFO queues."
  value       = aws_sqs_queue.this.name
}

output "queue_url" {
  description = "Queue URL clients send to / receive from."
  value       = aws_sqs_queue.this.url
}

output "dead_letter_queue_name" {
  description = "Dead-letter queue name: <service>-<environment>-<name>-dlq (\".fifo\" appended for FIFO queues)."
  value       = aws_sqs_queue.dlq.name
}

output "secret_ref" {
  description = "NAME of the Kubernetes Secret holding the access credentials (never the secret value); on AWS access comes from the workload's IAM role, so no such Secret is created."
  value       = local.secret_ref
}
