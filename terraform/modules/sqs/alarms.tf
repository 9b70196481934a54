resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = aws_sqs_queue.dlq

  alarm_name          = "${each.value.name}-depth"
  alarm_description   = "Messages reached the dead-letter queue ${each.value.name}: they failed ${var.queues[each.key].max_receive_count} times and need a look and a redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.dlq_depth_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  for_each = merge(
    { for key, queue in aws_sqs_queue.this : key => queue.name },
    { for key, queue in aws_sqs_queue.dlq : "${key}_dlq" => queue.name },
  )

  alarm_name          = "${each.value}-oldest-message-age"
  alarm_description   = "The oldest message in ${each.value} is older than ${var.oldest_message_age_alarm_threshold_seconds} s: its consumer is stuck or absent, and messages will expire."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.oldest_message_age_alarm_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "queue_depth" {
  for_each = { for key, queue in var.queues : key => queue if queue.depth_alarm_threshold != null }

  alarm_name          = "${aws_sqs_queue.this[each.key].name}-depth"
  alarm_description   = "${aws_sqs_queue.this[each.key].name} holds more than ${each.value.depth_alarm_threshold} visible messages: each one is a failure to look at before it expires."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.this[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.depth_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = var.tags
}
