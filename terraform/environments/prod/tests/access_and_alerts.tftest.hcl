# terraform test for the prod root (mocked provider, no AWS): every alarm's actions, the alerts
# topic's publishers, and who may assume the CI and operator roles.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:111111111111:alerts" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555", key_id = "11111111-2222-3333-4444-555555555555" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111111111111:role/mocked" }
  }
  mock_resource "aws_kinesis_stream" {
    defaults = { arn = "arn:aws:kinesis:us-east-1:111111111111:stream/mocked" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:111111111111:mocked", url = "https://sqs.us-east-1.amazonaws.com/111111111111/mocked" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:111111111111:table/mocked" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mocked" }
  }
  mock_resource "aws_ce_anomaly_monitor" {
    defaults = { arn = "arn:aws:ce::111111111111:anomalymonitor/mocked" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111111111111:log-group:mocked" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:mocked-order-ingest-hmac-AbCdEf" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:111111111111:function:mocked" }
  }
}

mock_provider "aws" {
  alias = "billing"
}

variables {
  # The modules' own test package: the root's tests need no `platformctl build`.
  lambda_package_path = "../../modules/lambda/tests/fixtures/package.zip"
}

run "every_alarm_notifies_the_alerts_topic" {
  command = apply

  assert {
    condition     = output.alarm_actions[0] == aws_sns_topic.alerts.arn && length(output.alarm_actions) == 1
    error_message = "Every alarm must notify the alerts topic (and only the extra ARNs given)."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.estimated_charges.alarm_actions == toset(output.alarm_actions) && aws_cloudwatch_metric_alarm.estimated_charges.ok_actions == toset(output.alarm_actions)
    error_message = "The billing alarm must notify the alerts topic on ALARM and OK."
  }

  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.estimated_charges.metric_query : q.expression if q.id == "band"]) == "ANOMALY_DETECTION_BAND(charges, 2)" && aws_cloudwatch_metric_alarm.estimated_charges.threshold_metric_id == "band"
    error_message = "The billing alarm compares estimated charges with their anomaly-detection band."
  }

  assert {
    condition     = aws_sns_topic.alerts.kms_master_key_id == aws_kms_key.alerts.arn
    error_message = "The alerts topic is encrypted with its customer-managed key."
  }

  assert {
    condition     = one([for s in aws_ce_anomaly_subscription.alerts.subscriber : s.address]) == aws_sns_topic.alerts.arn
    error_message = "Cost anomalies go to the alerts topic."
  }

  assert {
    condition     = alltrue([for n in aws_budgets_budget.monthly_cost[0].notification : contains(n.subscriber_sns_topic_arns, aws_sns_topic.alerts.arn)]) && contains([for n in aws_budgets_budget.monthly_cost[0].notification : n.notification_type], "FORECASTED") && contains([for n in aws_budgets_budget.monthly_cost[0].notification : n.notification_type], "ACTUAL")
    error_message = "Every budget notification (ACTUAL and FORECASTED) goes to the alerts topic."
  }
}

run "extra_alarm_actions_are_added_to_the_topic" {
  command = apply

  variables {
    alarm_actions = ["arn:aws:sns:us-east-1:111111111111:pager"]
  }

  assert {
    condition     = output.alarm_actions == tolist([aws_sns_topic.alerts.arn, "arn:aws:sns:us-east-1:111111111111:pager"])
    error_message = "Extra alarm actions come after the alerts topic, never instead of it."
  }
}

run "ci_roles_trust_only_their_subjects" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.github_plan.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:${var.github_repository}:pull_request", "repo:${var.github_repository}:ref:refs/heads/main"]
    error_message = "The plan role admits only the repository's pull requests and main."
  }

  assert {
    condition     = jsondecode(aws_iam_role.github_apply.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:${var.github_repository}:environment:production"]
    error_message = "The apply role admits only the repository's production GitHub environment."
  }

  assert {
    condition     = alltrue([for role in [aws_iam_role.github_plan, aws_iam_role.github_apply] : jsondecode(role.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com" && jsondecode(role.assume_role_policy).Statement[0].Principal.Federated == aws_iam_openid_connect_provider.github.arn])
    error_message = "The CI roles trust GitHub's OIDC provider for the STS audience only."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.github_plan_read_only.policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    error_message = "The plan role is read-only."
  }
}

run "operator_role_requires_mfa" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.operator.assume_role_policy).Statement[0].Condition.Bool["aws:MultiFactorAuthPresent"] == "true"
    error_message = "The operator role requires MFA."
  }

  assert {
    condition     = jsondecode(aws_iam_role.operator.assume_role_policy).Statement[0].Principal.AWS == ["arn:aws:iam::${var.aws_account_id}:root"]
    error_message = "Without operator_principals, the operator role trusts this account's identities only."
  }
}

run "a_repository_name_that_is_not_owner_slash_repo_is_refused" {
  command = plan

  variables {
    github_repository = "not a repository"
  }

  expect_failures = [var.github_repository]
}

run "prod_operator_sessions_need_a_recent_mfa_sign_in" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.operator.assume_role_policy).Statement[0].Condition.NumericLessThan["aws:MultiFactorAuthAge"] == "3600"
    error_message = "prod's operator role requires an MFA sign-in younger than an hour."
  }
}
