output "queue_urls" {
  description = "Queue URL per logical queue key."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.url }
}

output "queue_arns" {
  description = "Queue ARN per logical queue key."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.arn }
}

output "queue_names" {
  description = "Queue name per logical queue key."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.name }
}

output "dlq_urls" {
  description = "Dead-letter queue URL per logical queue key."
  value       = { for key, queue in aws_sqs_queue.dlq : key => queue.url }
}

output "dlq_arns" {
  description = "Dead-letter queue ARN per logical queue key."
  value       = { for key, queue in aws_sqs_queue.dlq : key => queue.arn }
}

output "message_retention_seconds" {
  description = "Message retention in seconds per logical queue key."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.message_retention_seconds }
}
