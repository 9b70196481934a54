# dev: a shared development account. The account ID is a documented placeholder (see
# terraform/README.md): replace it with the real dev account before the first apply.
aws_region     = "us-east-1"
aws_account_id = "111111111111"

project_name = "ecommerce-data-platform"
environment  = "dev"
owner        = "data-platform"
cost_center  = "data-platform-dev"

enable_budgets      = true
monthly_budget_usd  = 300
budget_alert_emails = ["data-platform-alerts@example.com"]

# Alerts: every alarm, budget and cost anomaly goes to the alerts topic and these subscribers.
alert_emails        = ["data-platform-alerts@example.com"]
alert_subscriptions = []

# CI and people (iam_access.tf). The repository is a documented placeholder, like the account.
github_repository        = "example-org/ecommerce-data-platform"
github_apply_environment = "dev"
operator_principals      = []

# The state this root lives in (must match dev.s3.tfbackend; platformctl bootstrap makes it).
state_bucket        = "ecommerce-platform-tfstate-111111111111"
state_key           = "dev/terraform.tfstate"
state_kms_key_alias = "alias/ecommerce-platform-tfstate"
