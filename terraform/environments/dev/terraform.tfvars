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
