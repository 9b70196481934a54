# Plan-only tests with a mocked provider: the module's security and cost properties, and
# every validation. Run with `terraform init && terraform test` in the module folder.

mock_provider "aws" {}

variables {
  name_prefix = "ecommerce-data-platform-dev"
  streams = {
    order_events = {}
    clickstream  = { retention_period = 72 }
  }
  tags = { Team = "data-platform" }
}

run "streams_are_encrypted_on_demand_with_alarms" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.this["order_events"].name == "ecommerce-data-platform-dev-order-events"
    error_message = "Streams are named <name_prefix>-<key with hyphens>."
  }

  assert {
    condition     = alltrue([for s in aws_kinesis_stream.this : s.encryption_type == "KMS" && s.kms_key_id == "alias/aws/kinesis"])
    error_message = "Streams are KMS-encrypted, with the AWS-managed key by default."
  }

  assert {
    condition     = alltrue([for s in aws_kinesis_stream.this : s.stream_mode_details[0].stream_mode == "ON_DEMAND"])
    error_message = "Streams default to on-demand."
  }

  assert {
    condition     = aws_kinesis_stream.this["order_events"].retention_period == 24 && aws_kinesis_stream.this["clickstream"].retention_period == 72
    error_message = "Retention defaults to 24 hours, overridable per stream."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.iterator_age) == 2 && alltrue([for a in aws_cloudwatch_metric_alarm.iterator_age : a.metric_name == "GetRecords.IteratorAgeMilliseconds" && a.threshold == 60000])
    error_message = "Each stream has an iterator-age alarm."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.write_throttled) == 2 && alltrue([for a in aws_cloudwatch_metric_alarm.write_throttled : a.metric_name == "WriteProvisionedThroughputExceeded"])
    error_message = "Each stream has a write-throttling alarm."
  }

  assert {
    condition     = aws_kinesis_stream.this["order_events"].tags["Team"] == "data-platform"
    error_message = "Streams carry the caller's tags."
  }
}

run "provisioned_streams_with_customer_key" {
  command = plan

  variables {
    stream_mode     = "PROVISIONED"
    retention_hours = 168
    kms_key_id      = "arn:aws:kms:us-east-1:222222222222:key/00000000-0000-0000-0000-000000000000"
    streams         = { order_events = { shard_count = 4 } }
  }

  assert {
    condition     = aws_kinesis_stream.this["order_events"].shard_count == 4 && aws_kinesis_stream.this["order_events"].retention_period == 168
    error_message = "Provisioned streams get their shard count and the default retention."
  }

  assert {
    condition     = aws_kinesis_stream.this["order_events"].kms_key_id == var.kms_key_id
    error_message = "A customer-managed key encrypts the streams when given."
  }
}

run "rejects_retention_below_a_day" {
  command = plan

  variables {
    retention_hours = 12
  }

  expect_failures = [var.retention_hours]
}

run "rejects_retention_above_a_year" {
  command = plan

  variables {
    retention_hours = 9000
  }

  expect_failures = [var.retention_hours]
}

run "rejects_stream_retention_out_of_range" {
  command = plan

  variables {
    streams = { order_events = { retention_period = 10000 } }
  }

  expect_failures = [var.streams]
}

run "rejects_unknown_stream_mode" {
  command = plan

  variables {
    stream_mode = "SERVERLESS"
  }

  expect_failures = [var.stream_mode]
}

run "every_alarm_notifies_its_actions" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:us-east-1:111111111111:alerts"]
    ok_actions    = ["arn:aws:sns:us-east-1:111111111111:alerts-ok"]
  }

  assert {
    condition = alltrue([for a in concat(values(aws_cloudwatch_metric_alarm.iterator_age), values(aws_cloudwatch_metric_alarm.write_throttled)) :
    toset(a.alarm_actions) == toset(var.alarm_actions) && toset(a.ok_actions) == toset(var.ok_actions)])
    error_message = "Every alarm sends ALARM to alarm_actions and OK to ok_actions."
  }
}
