output "stream_names" {
  description = "Stream name per logical stream key."
  value       = { for key, stream in aws_kinesis_stream.this : key => stream.name }
}

output "stream_arns" {
  description = "Stream ARN per logical stream key."
  value       = { for key, stream in aws_kinesis_stream.this : key => stream.arn }
}

output "alarm_names" {
  description = "Names of the iterator-age and write-throttling alarms."
  value       = concat([for alarm in aws_cloudwatch_metric_alarm.iterator_age : alarm.alarm_name], [for alarm in aws_cloudwatch_metric_alarm.write_throttled : alarm.alarm_name])
}

output "retention_hours" {
  description = "Record retention in hours per logical stream key (what a consumer's on-failure pointers can still reach)."
  value       = { for key, stream in aws_kinesis_stream.this : key => stream.retention_period }
}
