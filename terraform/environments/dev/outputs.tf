output "platform_resources" {
  description = "Everything platformctl `status` and `up` report: the emulator endpoint (null: real AWS), bucket, table and stream names, queue URLs (dead-letter queues included) and function names."
  value = {
    endpoint  = null
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

output "alerts_topic_arn" {
  description = "ARN of the SNS topic every alarm, budget and cost anomaly alert goes to."
  value       = aws_sns_topic.alerts.arn
}

output "alarm_actions" {
  description = "ARNs every CloudWatch alarm of the environment notifies on ALARM and on OK (the alerts topic first)."
  value       = local.alarm_actions
}

output "github_oidc_provider_arn" {
  description = "ARN of the account's GitHub Actions OIDC provider."
  value       = aws_iam_openid_connect_provider.github.arn
}

output "github_plan_role_arn" {
  description = "Read-only role GitHub Actions plans with: the repository variable AWS_<ENV>_PLAN_ROLE_ARN (ci.yml, deploy.yml)."
  value       = aws_iam_role.github_plan.arn
}

output "github_apply_role_arn" {
  description = "Role GitHub Actions applies with: the variable AWS_ROLE_ARN of the GitHub environment that deploys this one (deploy.yml)."
  value       = aws_iam_role.github_apply.arn
}

output "operator_role_arn" {
  description = "Role engineers assume with MFA: role_arn of their aws-vault profile (README)."
  value       = aws_iam_role.operator.arn
}
