# prod encrypts its data at rest with a customer-managed key: rotated yearly, deletable
# only after a 30-day window, its use visible in CloudTrail and revocable by key policy.
resource "aws_kms_key" "data" {
  description             = "${var.project_name}-${var.environment}: data at rest (S3, DynamoDB, Kinesis, SQS, Lambda environment, CloudWatch Logs)."
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The account administers the key and delegates its use through IAM policies
        # (the Lambda role's kms:Decrypt/GenerateDataKey grant, for example).
        Sid       = "AccountAdministersAndDelegatesThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${var.aws_account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # CloudWatch Logs encrypts the Lambda log group, and only log groups of this account.
        Sid       = "CloudWatchLogsEncryptsOwnLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.aws_region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:${var.aws_region}:${var.aws_account_id}:log-group:*"
          }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.project_name}-${var.environment}-data"
  target_key_id = aws_kms_key.data.key_id
}
