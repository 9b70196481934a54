# prod: the production account. The account ID is a documented placeholder (see
# terraform/README.md): replace it with the real prod account before the first apply.
aws_region     = "us-east-1"
aws_account_id = "222222222222"

project_name = "ecommerce-data-platform"
environment  = "prod"
owner        = "data-platform"
cost_center  = "data-platform-prod"

enable_budgets      = true
monthly_budget_usd  = 2000
budget_alert_emails = ["data-platform-alerts@example.com", "finops@example.com"]

# Alerts: every alarm, budget and cost anomaly goes to the alerts topic and these subscribers.
alert_emails               = ["data-platform-alerts@example.com"]
alert_subscriptions        = []
cost_anomaly_threshold_usd = 200

# CI and people (iam_access.tf). The repository is a documented placeholder, like the account.
github_repository        = "example-org/ecommerce-data-platform"
github_apply_environment = "production"
operator_principals      = []

# The state this root lives in (must match prod.s3.tfbackend; platformctl bootstrap makes it).
state_bucket        = "ecommerce-platform-tfstate-222222222222"
state_key           = "prod/terraform.tfstate"
state_kms_key_alias = "alias/ecommerce-platform-tfstate"
