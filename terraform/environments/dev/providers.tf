# Credentials come from the caller's environment (aws-vault locally, OIDC in CI), never
# from a file. allowed_account_ids makes the provider refuse any other account, on top of
# platformctl's own STS pre-flight check.
provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Environment = var.environment
      Project     = var.project_name
      Owner       = var.owner
      CostCenter  = var.cost_center
    }
  }
}

# Billing metrics (AWS/Billing EstimatedCharges) exist only in us-east-1: the billing alarm
# (cost.tf) is made there, with the same account lock and tags.
provider "aws" {
  alias               = "billing"
  region              = "us-east-1"
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Environment = var.environment
      Project     = var.project_name
      Owner       = var.owner
      CostCenter  = var.cost_center
    }
  }
}
