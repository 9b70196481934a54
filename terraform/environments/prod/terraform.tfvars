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
