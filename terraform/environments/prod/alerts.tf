# Alerts reach people: one SNS topic for every platform alert (CloudWatch alarms, AWS Budgets,
# Cost Anomaly Detection), encrypted with its own customer-managed key. A customer-managed key
# is needed even in dev: the AWS-managed key alias/aws/sns cannot be used by CloudWatch alarms,
# Budgets or Cost Anomaly Detection, because its key policy cannot be changed to let them in
# (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns
# and https://docs.aws.amazon.com/cost-management/latest/userguide/ad-SNS.html).

locals {
  alert_subscriptions = merge(
    { for email in var.alert_emails : "email:${email}" => { protocol = "email", endpoint = email } },
    { for s in var.alert_subscriptions : "${s.protocol}:${s.endpoint}" => s },
  )
  # Every CloudWatch alarm of the root notifies the topic (and any extra ARNs) on ALARM and OK.
  alarm_actions = distinct(concat([aws_sns_topic.alerts.arn], var.alarm_actions))
  # The services that publish to the topic, and the key they encrypt messages with.
  alert_publishers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com"]
}

data "aws_partition" "current" {}

resource "aws_kms_key" "alerts" {
  description             = "${local.name_prefix}: platform alerts (SNS topic ${local.name_prefix}-alerts)."
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30

  # A key policy's Resource "*" means this key (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The account administers the key and delegates its use through IAM policies.
        Sid       = "AccountAdministersAndDelegatesThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${var.aws_account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # CloudWatch, Budgets and Cost Anomaly Detection encrypt the messages they publish to
        # the topic, and only on behalf of this account.
        Sid       = "AlertPublishersEncryptMessages"
        Effect    = "Allow"
        Principal = { Service = local.alert_publishers }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = var.aws_account_id } }
      },
    ]
  })
}

resource "aws_kms_alias" "alerts" {
  name          = "alias/${local.name_prefix}-alerts"
  target_key_id = aws_kms_key.alerts.key_id
}

locals {
  # The topic's ARN as SNS forms it, so its policy document is known at plan time (and linted
  # there); the policy attaches to the topic itself, which orders the two.
  alerts_topic_arn = "arn:${data.aws_partition.current.partition}:sns:${var.aws_region}:${var.aws_account_id}:${local.name_prefix}-alerts"
}

resource "aws_sns_topic" "alerts" {
  name              = "${local.name_prefix}-alerts"
  display_name      = "${var.project_name} ${var.environment} alerts"
  kms_master_key_id = aws_kms_key.alerts.arn
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}

data "aws_iam_policy_document" "alerts_topic" {
  statement {
    # What the default topic policy grants the owning account, kept explicit.
    sid = "AccountManagesTopic"
    actions = [
      "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
      "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish",
    ]
    resources = [local.alerts_topic_arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${var.aws_account_id}:root"]
    }
  }

  statement {
    sid       = "AlertPublishersPublish"
    actions   = ["sns:Publish"]
    resources = [local.alerts_topic_arn]
    principals {
      type        = "Service"
      identifiers = local.alert_publishers
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.aws_account_id]
    }
  }
}

resource "aws_sns_topic_subscription" "alerts" {
  for_each = local.alert_subscriptions

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}
