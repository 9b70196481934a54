output "platform_resources" {
  description = "Everything platformctl `status` and `up` report: the emulator endpoint, bucket, table and stream names, queue URLs (dead-letter queues included) and function names."
  value = {
    endpoint  = var.emulator_endpoint
    buckets   = values(module.data_lake.bucket_names)
    tables    = values(module.tables.table_names)
    streams   = values(module.streams.stream_names)
    queues    = concat(values(module.queues.queue_urls), values(module.queues.dlq_urls))
    functions = [module.order_ingest.function_name]
  }
}

output "bucket_names" {
  description = "Data-lake bucket name per layer."
  value       = module.data_lake.bucket_names
}

output "table_names" {
  description = "DynamoDB table name per logical table."
  value       = module.tables.table_names
}

output "stream_names" {
  description = "Kinesis stream name per logical stream."
  value       = module.streams.stream_names
}

output "queue_urls" {
  description = "SQS queue URL per logical queue."
  value       = module.queues.queue_urls
}

output "function_name" {
  description = "Name of the order_ingest Lambda function."
  value       = module.order_ingest.function_name
}

output "budget_name" {
  description = "Name of the monthly cost budget, or null when budgets are off."
  value       = one(aws_budgets_budget.monthly_cost[*].name)
}
