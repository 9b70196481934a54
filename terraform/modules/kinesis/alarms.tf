resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  for_each = aws_kinesis_stream.this

  alarm_name          = "${each.value.name}-iterator-age"
  alarm_description   = "Consumers of ${each.value.name} are more than ${var.iterator_age_alarm_threshold_ms} ms behind; records risk expiring before they are processed."
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.IteratorAgeMilliseconds"
  dimensions          = { StreamName = each.value.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.iterator_age_alarm_threshold_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "write_throttled" {
  for_each = aws_kinesis_stream.this

  alarm_name          = "${each.value.name}-write-throttled"
  alarm_description   = "Producers to ${each.value.name} are throttled (WriteProvisionedThroughputExceeded)."
  namespace           = "AWS/Kinesis"
  metric_name         = "WriteProvisionedThroughputExceeded"
  dimensions          = { StreamName = each.value.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = var.tags
}
