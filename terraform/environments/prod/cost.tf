# Cost anomalies caught two ways, both to the alerts topic:
# - AWS Cost Anomaly Detection on every service of the account, alerting at once (IMMEDIATE,
#   the only frequency an SNS subscriber takes) when an anomaly's total impact reaches
#   var.cost_anomaly_threshold_usd;
# - a CloudWatch alarm on the account's estimated charges leaving their learned band
#   (ANOMALY_DETECTION_BAND). Billing metrics exist only in us-east-1, hence the aliased
#   provider, and an alarm can notify only a topic in its own region.

resource "aws_ce_anomaly_monitor" "services" {
  name              = "${local.name_prefix}-services"
  monitor_type      = "DIMENSIONAL"
  monitor_dimension = "SERVICE"
}

resource "aws_ce_anomaly_subscription" "alerts" {
  name             = "${local.name_prefix}-cost-anomalies"
  frequency        = "IMMEDIATE"
  monitor_arn_list = [aws_ce_anomaly_monitor.services.arn]

  subscriber {
    type    = "SNS"
    address = aws_sns_topic.alerts.arn
  }

  threshold_expression {
    dimension {
      key           = "ANOMALY_TOTAL_IMPACT_ABSOLUTE"
      match_options = ["GREATER_THAN_OR_EQUAL"]
      values        = [format("%.2f", var.cost_anomaly_threshold_usd)]
    }
  }

  depends_on = [aws_sns_topic_policy.alerts]
}

resource "aws_cloudwatch_metric_alarm" "estimated_charges" {
  provider = aws.billing

  alarm_name          = "${local.name_prefix}-estimated-charges-anomaly"
  alarm_description   = "The account's estimated charges (USD) rose above the band CloudWatch learned from their history."
  comparison_operator = "GreaterThanUpperThreshold"
  evaluation_periods  = 1
  threshold_metric_id = "band"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "charges"
    return_data = true
    metric {
      namespace   = "AWS/Billing"
      metric_name = "EstimatedCharges"
      dimensions  = { Currency = "USD" }
      period      = 21600 # billing metrics arrive about every 6 hours
      stat        = "Maximum"
    }
  }

  metric_query {
    id          = "band"
    label       = "EstimatedCharges (expected)"
    return_data = true
    expression  = "ANOMALY_DETECTION_BAND(charges, ${var.billing_anomaly_band_width})"
  }

  lifecycle {
    precondition {
      condition     = var.aws_region == "us-east-1"
      error_message = "The billing alarm lives in us-east-1 and notifies the alerts topic, which must be in the same region: deploy this root in us-east-1 or give the alarm a us-east-1 topic."
    }
  }
}
