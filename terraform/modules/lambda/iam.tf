locals {
  kms_key_arns = compact(concat(var.kms_key_arns, [var.kms_key_arn]))

  policy_statements = concat(
    [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.function.arn}:*"]
      },
      {
        Sid    = "ReadEventStream"
        Effect = "Allow"
        Action = [
          "kinesis:DescribeStream",
          "kinesis:DescribeStreamSummary",
          "kinesis:GetRecords",
          "kinesis:GetShardIterator",
          "kinesis:ListShards",
          "kinesis:SubscribeToShard",
        ]
        Resource = [var.kinesis_stream_arn]
      },
      {
        Sid      = "SendFailures"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
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
        Sid      = "UpsertItems"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
        Resource = var.dynamodb_table_arns
      },
    ],
    length(local.kms_key_arns) == 0 ? [] : [
      {
        Sid      = "UseDataKeys"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = local.kms_key_arns
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
