output "table_names" {
  description = "Table name per logical table key."
  value       = { for key, table in local.tables : key => table.name }
}

output "table_arns" {
  description = "Table ARN per logical table key."
  value       = { for key, table in local.tables : key => table.arn }
}

output "autoscaling_resource_ids" {
  description = "Application Auto Scaling resource IDs (table/<name>[/index/<gsi>]) and dimensions under target tracking; empty unless PROVISIONED with autoscaling."
  value       = [for target in aws_appautoscaling_target.this : "${target.resource_id}:${target.scalable_dimension}"]
}
