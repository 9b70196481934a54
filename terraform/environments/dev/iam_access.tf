# Roles for people and CI, no IAM users: GitHub Actions assumes the plan and apply roles with
# its OIDC token (no stored key), and humans assume the operator role from their own identity
# with MFA (aws-vault: role_arn + mfa_serial, see the README). The workflows' role variables
# are this root's outputs: AWS_<ENV>_PLAN_ROLE_ARN = github_plan_role_arn, the GitHub
# environment's AWS_ROLE_ARN = github_apply_role_arn.

locals {
  github_oidc_host = "token.actions.githubusercontent.com"
  account_arn      = "arn:${data.aws_partition.current.partition}:iam::${var.aws_account_id}"
  # Pull requests plan, and so does main before a deploy; only the GitHub environment applies.
  plan_subjects  = ["repo:${var.github_repository}:pull_request", "repo:${var.github_repository}:ref:refs/heads/main"]
  apply_subjects = ["repo:${var.github_repository}:environment:${var.github_apply_environment}"]
  # The IAM names this root manages: the platform's own roles and policies.
  platform_iam_arns = [
    "${local.account_arn}:role/${local.name_prefix}-*",
    "${local.account_arn}:policy/${local.name_prefix}-*",
    local.github_oidc_arn,
  ]
  # The provider's ARN as IAM forms it, so the trust policies are known at plan time (and
  # linted there); the roles depend on the provider explicitly.
  github_oidc_arn  = "${local.account_arn}:oidc-provider/${local.github_oidc_host}"
  state_object_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.state_bucket}/${var.state_key}"
}

resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # GitHub's published intermediate thumbprints; IAM verifies this provider through its own
  # trusted root CAs, so these are not what keeps a forged token out.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

# The trust policies are written with jsonencode() rather than aws_iam_policy_document, so
# the root's `terraform test` (tests/, mocked provider) can read back who may assume each role.
locals {
  github_trust = {
    for role, subjects in { plan = local.plan_subjects, apply = local.apply_subjects } : role => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = local.github_oidc_arn }
        Condition = {
          StringEquals = {
            "${local.github_oidc_host}:aud" = "sts.amazonaws.com"
            "${local.github_oidc_host}:sub" = subjects
          }
        }
      }]
    })
  }
  operator_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { AWS = length(var.operator_principals) > 0 ? var.operator_principals : ["${local.account_arn}:root"] }
      Condition = {
        Bool = { "aws:MultiFactorAuthPresent" = "true" }
      }
    }]
  })
}

# Plan: read everything Terraform refreshes, hold the state lock, and nothing else: no data
# reads from the platform's buckets, tables, streams or queues.
data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.state_bucket}"]
  }
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [local.state_object_arn]
  }
  statement {
    # use_lockfile: the lock is an object beside the state, written and deleted by every plan.
    sid       = "HoldStateLock"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_object_arn}.tflock"]
  }
  statement {
    sid       = "UseStateKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["arn:${data.aws_partition.current.partition}:kms:${var.aws_region}:${var.aws_account_id}:key/*"]
    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = [var.state_kms_key_alias]
    }
  }
  statement {
    # The HMAC key's ephemeral resource (secrets.tf) is opened during plan too. The action has
    # no resource type (AWS's service authorization reference): it returns random bytes and
    # stores nothing.
    sid       = "EphemeralRandomPassword"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }
  statement {
    sid    = "NoDataReads"
    effect = "Deny"
    actions = [
      "s3:GetObject*", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
      "kinesis:GetRecords", "sqs:ReceiveMessage", "secretsmanager:GetSecretValue",
    ]
    not_resources = [local.state_object_arn, "${local.state_object_arn}.tflock"]
  }
}

# Apply (and operators): PowerUserAccess for the services, plus IAM for this platform's own
# roles, policies and OIDC provider only; nothing else in IAM.
data "aws_iam_policy_document" "deploy_iam" {
  statement {
    sid = "ManagePlatformIam"
    # What Terraform does to roles, their policies and the OIDC provider: not iam:*, which
    # would also reach users, groups and instance profiles that match no ARN here.
    actions = [
      "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
      "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags", "iam:PassRole",
      "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
      "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:CreatePolicyVersion",
      "iam:DeletePolicyVersion", "iam:ListPolicyVersions", "iam:TagPolicy", "iam:UntagPolicy",
      "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:GetOpenIDConnectProvider",
      "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider",
      "iam:RemoveClientIDFromOpenIDConnectProvider", "iam:TagOpenIDConnectProvider",
      "iam:UntagOpenIDConnectProvider",
    ]
    resources = local.platform_iam_arns
  }
  statement {
    sid       = "ReadAwsManagedPolicies"
    actions   = ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"]
    resources = ["arn:${data.aws_partition.current.partition}:iam::aws:policy/*"]
  }
}

resource "aws_iam_role" "github_plan" {
  name                 = "${local.name_prefix}-github-plan"
  description          = "GitHub Actions plans of ${var.github_repository} (pull requests and main): read-only."
  assume_role_policy   = local.github_trust["plan"]
  max_session_duration = 3600

  depends_on = [aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy_attachment" "github_plan_read_only" {
  role       = aws_iam_role.github_plan.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "github_plan" {
  name   = "state-and-no-data"
  role   = aws_iam_role.github_plan.id
  policy = data.aws_iam_policy_document.plan.json
}

resource "aws_iam_role" "github_apply" {
  name                 = "${local.name_prefix}-github-apply"
  description          = "GitHub Actions deploys of ${var.github_repository}, environment ${var.github_apply_environment} only."
  assume_role_policy   = local.github_trust["apply"]
  max_session_duration = 3600

  depends_on = [aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy_attachment" "github_apply_power_user" {
  role       = aws_iam_role.github_apply.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/PowerUserAccess"
}

resource "aws_iam_role_policy" "github_apply" {
  name   = "platform-iam"
  role   = aws_iam_role.github_apply.id
  policy = data.aws_iam_policy_document.deploy_iam.json
}

resource "aws_iam_role" "operator" {
  name                 = "${local.name_prefix}-operator"
  description          = "Engineers running platformctl under aws-vault; MFA required."
  assume_role_policy   = local.operator_trust
  max_session_duration = 4 * 3600
}

resource "aws_iam_role_policy_attachment" "operator_power_user" {
  role       = aws_iam_role.operator.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/PowerUserAccess"
}

resource "aws_iam_role_policy" "operator" {
  name   = "platform-iam"
  role   = aws_iam_role.operator.id
  policy = data.aws_iam_policy_document.deploy_iam.json
}
