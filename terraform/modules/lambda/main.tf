locals {
  package_exists = fileexists(var.package_path)
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days); a year of debug logs is a cost the data platform does not need outside prod.
  #checkov:skip=CKV_AWS_158:Logs are encrypted with the customer-managed key whenever kms_key_arn is given (prod); CloudWatch Logs encrypts them at rest otherwise.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the Kinesis event source mapping, never asynchronously: failed batches go to the mapping's on-failure SQS destination, so a function DLQ would never receive anything.
  #checkov:skip=CKV_AWS_117:The function reaches only AWS regional endpoints (Kinesis, S3, DynamoDB, SQS, Secrets Manager) and no private resource; a VPC would add NAT cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the package is built reproducibly from reviewed source in this repo and its hash is pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173:The environment holds resource names and secret ARNs only, never secret values (secret_arns); it is encrypted with the customer-managed key whenever kms_key_arn is given (prod).
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.lambda.arn
  handler       = var.handler
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout
  kms_key_arn   = var.kms_key_arn

  reserved_concurrent_executions = var.reserved_concurrent_executions

  filename         = var.package_path
  source_code_hash = local.package_exists ? filebase64sha256(var.package_path) : null

  # Secrets by reference only: the function gets each secret's ARN and reads the value at
  # run time with its role.
  environment {
    variables = merge(var.environment_variables, var.secret_arns)
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.package_exists
      error_message = "The Lambda package ${var.package_path} does not exist: run `platformctl build` (or python -m platformctl.packaging) first."
    }
  }

  # The log group must exist first, or Lambda creates one without retention or tags.
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.lambda]
}

resource "aws_lambda_event_source_mapping" "kinesis" {
  event_source_arn  = var.kinesis_stream_arn
  function_name     = aws_lambda_function.this.arn
  starting_position = var.event_source.starting_position

  batch_size                         = var.event_source.batch_size
  maximum_batching_window_in_seconds = var.event_source.maximum_batching_window_in_seconds
  maximum_retry_attempts             = var.event_source.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.event_source.maximum_record_age_in_seconds
  parallelization_factor             = var.event_source.parallelization_factor
  bisect_batch_on_function_error     = true
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = var.failure_queue_arn
    }
  }

  tags = var.tags

  lifecycle {
    # The on-failure destination receives pointers (shard, sequence range), not records: they
    # are worth something only while the stream still holds the data they point at.
    precondition {
      condition     = var.stream_retention_hours == null || var.failure_queue_retention_seconds == null || try(var.stream_retention_hours * 3600 >= var.failure_queue_retention_seconds, true)
      error_message = "The stream keeps records ${coalesce(var.stream_retention_hours, 0)} hours but the failure queue keeps messages ${coalesce(var.failure_queue_retention_seconds, 0)} s: raise the stream's retention to cover the queue's, or the queue's pointers outlive the records they point at."
    }
  }
}
