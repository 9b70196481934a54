# The local environment talks only to an AWS emulator. The credentials below are the fixed
# placeholder pair every emulator (moto, LocalStack) accepts; they are not a secret and open
# nothing: allowed_account_ids refuses to run against any account but the emulator's
# (000000000000).
#
# Where the calls go: AWS_ENDPOINT_URL, which platformctl sets to the emulator it recorded
# (the provider honours it for every service; an `endpoints` block would cost ~5 s of CPU
# per plan). Everything not addressed to loopback goes to the proxy below, a closed loopback
# port: these arguments win over the shell's HTTP(S)_PROXY and NO_PROXY, so even a plain
# `terraform plan` here without AWS_ENDPOINT_URL fails to connect and nothing leaves the
# machine. See terraform/README.md ("Plain Terraform").
provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  access_key = "test" # emulator placeholder, not a credential
  secret_key = "test" # emulator placeholder, not a credential

  http_proxy  = "http://127.0.0.1:1" # closed: only loopback (the emulator) is reached
  https_proxy = "http://127.0.0.1:1"
  no_proxy    = "127.0.0.1,localhost,::1"

  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 2

  default_tags {
    tags = {
      Environment = var.environment
      Project     = var.project_name
      Owner       = var.owner
      CostCenter  = var.cost_center
    }
  }
}
