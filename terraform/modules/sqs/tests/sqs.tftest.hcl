# Plan-only tests with a mocked provider: the module's security and cost properties, and
# every validation. Run with `terraform init && terraform test` in the module folder.

mock_provider "aws" {}

override_resource {
  target          = aws_sqs_queue.dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:111111111111:mock-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/111111111111/mock-dlq"
  }
}

override_resource {
  target          = aws_sqs_queue.this
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:111111111111:mock-queue"
    url = "https://sqs.us-east-1.amazonaws.com/111111111111/mock-queue"
  }
}

variables {
  name_prefix = "ecommerce-data-platform-dev"
  queues = {
    order_ingest_failures = { visibility_timeout_seconds = 180 }
  }
  tags = { Team = "data-platform" }
}

run "queues_have_dead_letter_queues_and_encryption" {
  command = plan

  assert {
    condition     = aws_sqs_queue.this["order_ingest_failures"].name == "ecommerce-data-platform-dev-order-ingest-failures" && aws_sqs_queue.dlq["order_ingest_failures"].name == "ecommerce-data-platform-dev-order-ingest-failures-dlq"
    error_message = "Each queue has a <name>-dlq dead-letter queue."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.this["order_ingest_failures"].redrive_policy).deadLetterTargetArn == "arn:aws:sqs:us-east-1:111111111111:mock-dlq" && jsondecode(aws_sqs_queue.this["order_ingest_failures"].redrive_policy).maxReceiveCount == 5
    error_message = "The queue redrives to its DLQ after 5 receives."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq["order_ingest_failures"].redrive_allow_policy).redrivePermission == "byQueue" && jsondecode(aws_sqs_queue_redrive_allow_policy.dlq["order_ingest_failures"].redrive_allow_policy).sourceQueueArns == ["arn:aws:sqs:us-east-1:111111111111:mock-queue"]
    error_message = "Only its own source queue may use a DLQ."
  }

  assert {
    condition     = aws_sqs_queue.this["order_ingest_failures"].sqs_managed_sse_enabled && aws_sqs_queue.dlq["order_ingest_failures"].sqs_managed_sse_enabled
    error_message = "Without a KMS key, queues use SSE-SQS."
  }

  assert {
    condition     = aws_sqs_queue.this["order_ingest_failures"].visibility_timeout_seconds == 180 && aws_sqs_queue.dlq["order_ingest_failures"].message_retention_seconds == 1209600
    error_message = "Visibility timeout as given; the DLQ keeps messages 14 days."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_depth["order_ingest_failures"].metric_name == "ApproximateNumberOfMessagesVisible" && aws_cloudwatch_metric_alarm.dlq_depth["order_ingest_failures"].dimensions.QueueName == "ecommerce-data-platform-dev-order-ingest-failures-dlq"
    error_message = "The DLQ depth is alarmed."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.oldest_message_age) == 2 && alltrue([for a in aws_cloudwatch_metric_alarm.oldest_message_age : a.metric_name == "ApproximateAgeOfOldestMessage"])
    error_message = "The age of the oldest message is alarmed on the queue and its DLQ."
  }

  assert {
    condition     = aws_sqs_queue.this["order_ingest_failures"].tags["Team"] == "data-platform"
    error_message = "Queues carry the caller's tags."
  }
}

run "customer_key_replaces_sse_sqs" {
  command = plan

  variables {
    kms_master_key_id    = "arn:aws:kms:us-east-1:222222222222:key/00000000-0000-0000-0000-000000000000"
    restrict_dlq_sources = false
  }

  assert {
    condition     = aws_sqs_queue.this["order_ingest_failures"].kms_master_key_id == var.kms_master_key_id && aws_sqs_queue.dlq["order_ingest_failures"].kms_master_key_id == var.kms_master_key_id
    error_message = "A customer-managed key encrypts both queues when given."
  }

  assert {
    condition     = length(aws_sqs_queue_redrive_allow_policy.dlq) == 0
    error_message = "restrict_dlq_sources = false drops the redrive allow policy."
  }
}

run "rejects_visibility_timeout_above_12_hours" {
  command = plan

  variables {
    queues = { order_ingest_failures = { visibility_timeout_seconds = 50000 } }
  }

  expect_failures = [var.queues]
}

run "rejects_dlq_keeping_messages_shorter_than_source" {
  command = plan

  variables {
    queues = { order_ingest_failures = { message_retention_seconds = 1209600, dlq_retention_seconds = 86400 } }
  }

  expect_failures = [var.queues]
}

run "every_alarm_notifies_its_actions" {
  command = plan

  variables {
    queues        = { order_ingest_failures = { depth_alarm_threshold = 0 } }
    alarm_actions = ["arn:aws:sns:us-east-1:111111111111:alerts"]
    ok_actions    = ["arn:aws:sns:us-east-1:111111111111:alerts-ok"]
  }

  assert {
    condition = alltrue([for a in concat(values(aws_cloudwatch_metric_alarm.dlq_depth), values(aws_cloudwatch_metric_alarm.oldest_message_age), values(aws_cloudwatch_metric_alarm.queue_depth)) :
    toset(a.alarm_actions) == toset(var.alarm_actions) && toset(a.ok_actions) == toset(var.ok_actions)])
    error_message = "Every alarm sends ALARM to alarm_actions and OK to ok_actions."
  }
}

run "failure_queue_keeps_14_days_and_alarms_on_depth" {
  command = plan

  variables {
    queues = { order_ingest_failures = { message_retention_seconds = 1209600, depth_alarm_threshold = 0 } }
  }

  assert {
    condition     = aws_sqs_queue.this["order_ingest_failures"].message_retention_seconds == 1209600 && aws_sqs_queue.dlq["order_ingest_failures"].message_retention_seconds == 1209600
    error_message = "A failure queue and its DLQ keep messages 14 days."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.queue_depth["order_ingest_failures"].threshold == 0 && aws_cloudwatch_metric_alarm.queue_depth["order_ingest_failures"].dimensions.QueueName == "ecommerce-data-platform-dev-order-ingest-failures"
    error_message = "Any message in the failure queue raises its depth alarm."
  }

  assert {
    condition     = output.message_retention_seconds["order_ingest_failures"] == 1209600
    error_message = "The retention is an output, for the consumer's stream-retention check."
  }
}

run "no_source_queue_depth_alarm_unless_asked" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.queue_depth) == 0
    error_message = "depth_alarm_threshold defaults to null: no alarm on the source queue's depth."
  }
}
