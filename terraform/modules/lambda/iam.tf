locals {
  kms_key_arns = compact(concat(var.kms_key_arns, [var.kms_key_arn]))
  region       = split(":", var.kinesis_stream_arn)[3]

  # The services through which the function uses the shared key: reading the stream,
  # writing objects, items and failure messages, reading its secrets, and Lambda decrypting
  # the function's environment. kms:ViaService keeps the grant from being used directly.
  kms_via_services = [for service in ["kinesis", "s3", "dynamodb", "sqs", "secretsmanager", "lambda"] : "${service}.${local.region}.amazonaws.com"]

  policy_statements = concat(
    [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.function.arn}:*"]
      },
      {
        # What the event source mapping needs on the stream ARN (AWS's
        # AWSLambdaKinesisExecutionRole less kinesis:ListStreams, which needs "*", and
        # kinesis:SubscribeToShard, which applies to consumer ARNs: the mapping reads
        # the stream itself, without an enhanced fan-out consumer).
        Sid    = "ReadEventStream"
        Effect = "Allow"
        Action = [
          "kinesis:DescribeStream",
          "kinesis:DescribeStreamSummary",
          "kinesis:GetRecords",
          "kinesis:GetShardIterator",
          "kinesis:ListShards",
        ]
        Resource = [var.kinesis_stream_arn]
      },
      {
        # The handler sends bad records; the mapping sends exhausted batches' pointers.
        Sid      = "SendFailures"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [var.failure_queue_arn]
      },
    ],
    length(var.s3_bucket_arns) == 0 ? [] : [
      {
        Sid      = "WriteObjects"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = [for arn in var.s3_bucket_arns : "${arn}/*"]
      },
    ],
    length(var.dynamodb_table_arns) == 0 ? [] : [
      {
        # Conditional puts only: the handler never reads or updates in place.
        Sid      = "UpsertItems"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem"]
        Resource = var.dynamodb_table_arns
      },
    ],
    length(var.secret_arns) == 0 ? [] : [
      {
        Sid      = "ReadOwnSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = values(var.secret_arns)
      },
    ],
    length(local.kms_key_arns) == 0 ? [] : [
      {
        Sid      = "UseDataKeysThroughServices"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = local.kms_key_arns
        Condition = {
          StringEquals = { "kms:ViaService" = local.kms_via_services }
        }
      },
    ],
    # X-Ray's trace APIs have no resource-level permissions: "*" is the only valid resource.
    var.tracing_mode != "Active" ? [] : [
      {
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      },
    ],
  )
}

resource "aws_iam_role" "lambda" {
  name        = "${var.function_name}-role"
  description = "Execution role of the ${var.function_name} Lambda function."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = "sts:AssumeRole"
      },
    ]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${var.function_name}-least-privilege"
  role   = aws_iam_role.lambda.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}
