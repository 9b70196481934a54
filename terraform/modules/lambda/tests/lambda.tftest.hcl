# Plan-only tests with a mocked provider: least privilege, logging, the event source
# mapping, alarms, and every validation. Run with `terraform init && terraform test` in the
# module folder. tests/fixtures/package.zip is a stand-in package (one trivial handler).

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/order-ingest"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::111111111111:role/order-ingest-role"
    }
  }
}

variables {
  function_name       = "order-ingest"
  package_path        = "tests/fixtures/package.zip"
  kinesis_stream_arn  = "arn:aws:kinesis:us-east-1:111111111111:stream/order-events"
  s3_bucket_arns      = ["arn:aws:s3:::raw-bucket"]
  dynamodb_table_arns = ["arn:aws:dynamodb:us-east-1:111111111111:table/orders"]
  failure_queue_arn   = "arn:aws:sqs:us-east-1:111111111111:order-ingest-failures"
  tags                = { Team = "data-platform" }
}

run "function_is_configured_and_packaged" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.runtime == "python3.12" && aws_lambda_function.this.handler == "handler.lambda_handler"
    error_message = "Python 3.12, handler.lambda_handler."
  }

  assert {
    condition     = aws_lambda_function.this.memory_size == 256 && aws_lambda_function.this.timeout == 30
    error_message = "Default memory 256 MB and timeout 30 s."
  }

  assert {
    condition     = one(aws_lambda_function.this.architectures) == "arm64"
    error_message = "Graviton (arm64) by default."
  }

  assert {
    condition     = coalesce(aws_lambda_function.this.reserved_concurrent_executions, -1) == -1
    error_message = "No reserved concurrency by default (a new account's quota of 10 leaves nothing to reserve)."
  }

  assert {
    condition     = aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/package.zip")
    error_message = "The code hash is the package's, so a rebuild with a change redeploys."
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "X-Ray tracing is active by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.function.name == "/aws/lambda/order-ingest" && aws_cloudwatch_log_group.function.retention_in_days == 30
    error_message = "The function's log group exists with a retention."
  }

  assert {
    condition     = aws_lambda_function.this.tags["Team"] == "data-platform" && aws_iam_role.lambda.tags["Team"] == "data-platform"
    error_message = "Resources carry the caller's tags."
  }
}

run "role_has_least_privilege" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_role.lambda.assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    error_message = "Only Lambda may assume the role."
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement :
    s.Sid == "WriteTraces" || !contains(s.Resource, "*")])
    error_message = "No statement but X-Ray's (which has no resource-level permissions) uses Resource \"*\"."
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement :
    alltrue([for a in s.Action : !endswith(a, ":*")])])
    error_message = "No service-wide action wildcard."
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Sid => s.Resource
      } == {
      WriteOwnLogs    = ["arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/order-ingest:*"]
      ReadEventStream = ["arn:aws:kinesis:us-east-1:111111111111:stream/order-events"]
      SendFailures    = ["arn:aws:sqs:us-east-1:111111111111:order-ingest-failures"]
      WriteObjects    = ["arn:aws:s3:::raw-bucket/*"]
      UpsertItems     = ["arn:aws:dynamodb:us-east-1:111111111111:table/orders"]
      WriteTraces     = ["*"]
    }
    error_message = "Each grant is scoped to exactly the ARN it needs, and there is no KMS grant without a key."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Action if s.Sid == "UpsertItems"]) == ["dynamodb:PutItem"] && one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Action if s.Sid == "WriteObjects"]) == ["s3:PutObject"] && one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Action if s.Sid == "SendFailures"]) == ["sqs:SendMessage"]
    error_message = "The function may only put objects, put items and send failure messages."
  }

  assert {
    condition     = !contains(one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Action if s.Sid == "ReadEventStream"]), "kinesis:SubscribeToShard")
    error_message = "kinesis:SubscribeToShard applies to consumer ARNs, not to the stream ARN the grant names."
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s if s.Sid == "ReadOwnSecrets"]) == 0
    error_message = "No Secrets Manager grant unless secret_arns names a secret."
  }
}

run "kms_keys_are_granted_only_when_given" {
  command = plan

  variables {
    kms_key_arn  = "arn:aws:kms:us-east-1:222222222222:key/lambda"
    kms_key_arns = ["arn:aws:kms:us-east-1:222222222222:key/data"]
    tracing_mode = "PassThrough"
  }

  assert {
    condition     = toset(one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Resource if s.Sid == "UseDataKeysThroughServices"])) == toset(["arn:aws:kms:us-east-1:222222222222:key/data", "arn:aws:kms:us-east-1:222222222222:key/lambda"])
    error_message = "kms:Decrypt/GenerateDataKey only on the given keys."
  }

  assert {
    condition     = toset(one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Condition.StringEquals["kms:ViaService"] if s.Sid == "UseDataKeysThroughServices"])) == toset([for service in ["kinesis", "s3", "dynamodb", "sqs", "secretsmanager", "lambda"] : "${service}.us-east-1.amazonaws.com"])
    error_message = "The key grant holds only through the services the function uses, in the stream's region (kms:ViaService)."
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s if s.Sid == "WriteTraces"]) == 0
    error_message = "No X-Ray grant without active tracing."
  }

  assert {
    condition     = aws_lambda_function.this.kms_key_arn == var.kms_key_arn && aws_cloudwatch_log_group.function.kms_key_id == var.kms_key_arn
    error_message = "The key encrypts the environment variables and the log group."
  }
}

run "kinesis_mapping_sends_failures_to_the_queue" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.kinesis.event_source_arn == var.kinesis_stream_arn && aws_lambda_event_source_mapping.kinesis.starting_position == "LATEST"
    error_message = "The function consumes the stream from LATEST."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.kinesis.bisect_batch_on_function_error && aws_lambda_event_source_mapping.kinesis.batch_size == 100
    error_message = "Failed batches are bisected to isolate the bad record."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.kinesis.destination_config[0].on_failure[0].destination_arn == var.failure_queue_arn
    error_message = "Exhausted batches go to the failure queue."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.errors.metric_name == "Errors" && aws_cloudwatch_metric_alarm.throttles.metric_name == "Throttles"
    error_message = "Errors and throttles are alarmed."
  }
}

run "missing_package_is_named" {
  command = plan

  variables {
    package_path = "tests/fixtures/not-built.zip"
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_memory_below_128" {
  command = plan

  variables {
    memory_size = 64
  }

  expect_failures = [var.memory_size]
}

run "rejects_memory_above_10240" {
  command = plan

  variables {
    memory_size = 20480
  }

  expect_failures = [var.memory_size]
}

run "rejects_timeout_of_zero" {
  command = plan

  variables {
    timeout = 0
  }

  expect_failures = [var.timeout]
}

run "rejects_timeout_above_900" {
  command = plan

  variables {
    timeout = 901
  }

  expect_failures = [var.timeout]
}

run "rejects_unsupported_log_retention" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "rejects_unknown_tracing_mode" {
  command = plan

  variables {
    tracing_mode = "Sampled"
  }

  expect_failures = [var.tracing_mode]
}

run "rejects_unknown_starting_position" {
  command = plan

  variables {
    event_source = { starting_position = "AT_TIMESTAMP" }
  }

  expect_failures = [var.event_source]
}

run "rejects_invalid_function_name" {
  command = plan

  variables {
    function_name = "order ingest!"
  }

  expect_failures = [var.function_name]
}

run "rejects_batch_size_above_10000" {
  command = plan

  variables {
    event_source = { batch_size = 20000 }
  }

  expect_failures = [var.event_source]
}

run "every_alarm_notifies_its_actions" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:us-east-1:111111111111:alerts"]
    ok_actions    = ["arn:aws:sns:us-east-1:111111111111:alerts-ok"]
  }

  assert {
    condition = alltrue([for a in [aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.throttles] :
    toset(a.alarm_actions) == toset(var.alarm_actions) && toset(a.ok_actions) == toset(var.ok_actions)])
    error_message = "Every alarm sends ALARM to alarm_actions and OK to ok_actions."
  }
}

run "secrets_are_referenced_and_granted_alone" {
  command = plan

  variables {
    secret_arns           = { HMAC_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111111111111:secret:order-ingest-hmac-AbCdEf" }
    environment_variables = { RAW_BUCKET = "raw-bucket" }
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s if s.Sid == "ReadOwnSecrets"]).Action == ["secretsmanager:GetSecretValue"] && one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s if s.Sid == "ReadOwnSecrets"]).Resource == ["arn:aws:secretsmanager:us-east-1:111111111111:secret:order-ingest-hmac-AbCdEf"]
    error_message = "The role may read exactly the secrets given."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["HMAC_SECRET_ARN"] == var.secret_arns["HMAC_SECRET_ARN"] && aws_lambda_function.this.environment[0].variables["RAW_BUCKET"] == "raw-bucket"
    error_message = "The function gets the secret by reference (its ARN) beside its other variables."
  }
}

run "rejects_a_stream_that_forgets_before_the_failure_queue" {
  command = plan

  variables {
    stream_retention_hours          = 24
    failure_queue_retention_seconds = 1209600
  }

  expect_failures = [aws_lambda_event_source_mapping.kinesis]
}

run "accepts_a_stream_that_outlives_the_failure_queue" {
  command = plan

  variables {
    stream_retention_hours          = 336
    failure_queue_retention_seconds = 1209600
  }

  assert {
    condition     = aws_lambda_event_source_mapping.kinesis.destination_config[0].on_failure[0].destination_arn == var.failure_queue_arn
    error_message = "14 days of stream retention cover a 14-day failure queue."
  }
}

run "rejects_unknown_architecture" {
  command = plan

  variables {
    architecture = "x86"
  }

  expect_failures = [var.architecture]
}

run "rejects_negative_reserved_concurrency" {
  command = plan

  variables {
    reserved_concurrent_executions = -1
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_a_secret_that_is_not_an_arn" {
  command = plan

  variables {
    secret_arns = { HMAC_SECRET_ARN = "" } # not an ARN
  }

  expect_failures = [var.secret_arns]
}
