# The local environment talks only to an AWS emulator. The credentials below are the fixed
# placeholder pair every emulator (moto, LocalStack) accepts; they are not a secret and open
# nothing: every endpoint points at the emulator, and allowed_account_ids refuses to run
# against any account but the emulator's (000000000000).
provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  access_key = "test" # emulator placeholder, not a credential
  secret_key = "test" # emulator placeholder, not a credential

  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 2

  endpoints {
    applicationautoscaling = var.emulator_endpoint
    budgets                = var.emulator_endpoint
    cloudwatch             = var.emulator_endpoint
    dynamodb               = var.emulator_endpoint
    iam                    = var.emulator_endpoint
    kinesis                = var.emulator_endpoint
    kms                    = var.emulator_endpoint
    lambda                 = var.emulator_endpoint
    logs                   = var.emulator_endpoint
    s3                     = var.emulator_endpoint
    secretsmanager         = var.emulator_endpoint
    sqs                    = var.emulator_endpoint
    ssm                    = var.emulator_endpoint
    sts                    = var.emulator_endpoint
  }

  default_tags {
    tags = {
      Environment = var.environment
      Project     = var.project_name
      Owner       = var.owner
      CostCenter  = var.cost_center
    }
  }
}
